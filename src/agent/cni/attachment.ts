/**
 * Everything the agent derives from one CNI request before touching anything: who the
 * workload is, the IPAM handle, the host interface name, the WorkloadEndpoint's name and
 * namespace, and the pod labels. Pure.
 *
 * Labels: Kubernetes passes none through CNI (Calico reads them from the API server).
 * tabby accepts them from the runtime instead, first match wins:
 *   1. CNI_ARGS `K8S_POD_LABELS` (needs `IgnoreUnknown=1`): a JSON object, or `k=v,k2=v2`;
 *   2. the netconf's `runtimeConfig.labels`: an object of strings;
 *   3. the netconf's `args.labels` (object) or `args.cni.labels` (the CNI conventions'
 *      list of `{key, value}`).
 */
import type { CniRequest } from '../../cni/protocol.js';
import { CniCode, CniError } from '../../cni/errors.js';
import { hostInterfaceName, ipamHandle, workloadEndpointName, workloadIdentity, type WorkloadIdentity } from '../workload-names.js';

/** Annotation naming the CNI network a WorkloadEndpoint was created for (GC matches on it). */
export const NETWORK_ANNOTATION = 'tabby/cni-network';
export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';

export interface Attachment {
  identity: WorkloadIdentity;
  network: string;
  containerId: string;
  ifname: string;
  netns: string;
  handle: string;
  hostIfName: string;
  wepName: string;
  wepNamespace: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function badLabels(where: string, what: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `pod labels in ${where} are malformed`, what);
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (!isObj(v)) throw badLabels(where, 'expected an object of string values');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw badLabels(where, `label ${JSON.stringify(k)} must be a string`);
    out[k] = val;
  }
  return out;
}

/** Parses `K8S_POD_LABELS`: a JSON object, or `k=v,k2=v2`. */
export function parseLabelArg(text: string): Record<string, string> {
  const t = text.trim();
  if (t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw badLabels('CNI_ARGS K8S_POD_LABELS', (e as Error).message);
    }
    return stringMap(v, 'CNI_ARGS K8S_POD_LABELS');
  }
  const out: Record<string, string> = {};
  for (const part of t.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw badLabels('CNI_ARGS K8S_POD_LABELS', `"${part}" is not key=value; use k=v,k2=v2 or a JSON object`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function podLabels(req: Pick<CniRequest, 'args' | 'config'>): Record<string, string> {
  const fromArgs = req.args.K8S_POD_LABELS;
  if (fromArgs !== undefined) return parseLabelArg(fromArgs);
  const rc = req.config.runtimeConfig;
  if (isObj(rc) && rc.labels !== undefined) return stringMap(rc.labels, 'runtimeConfig.labels');
  const args = req.config.args;
  if (isObj(args)) {
    if (args.labels !== undefined) return stringMap(args.labels, 'args.labels');
    if (isObj(args.cni) && args.cni.labels !== undefined) {
      const list = args.cni.labels;
      if (!Array.isArray(list)) throw badLabels('args.cni.labels', 'expected a list of {"key": ..., "value": ...}');
      const out: Record<string, string> = {};
      for (const e of list) {
        if (!isObj(e) || typeof e.key !== 'string' || typeof e.value !== 'string') throw badLabels('args.cni.labels', 'expected a list of {"key": ..., "value": ...}');
        out[e.key] = e.value;
      }
      return out;
    }
  }
  return {};
}

export function attachmentOf(req: CniRequest, nodeName: string): Attachment {
  const identity = workloadIdentity(req.containerId, req.pod);
  const ifname = req.ifname || 'eth0';
  return {
    identity,
    network: req.network,
    containerId: req.containerId,
    ifname,
    netns: req.netns,
    handle: ipamHandle(req.network, req.containerId),
    hostIfName: hostInterfaceName(identity),
    wepName: workloadEndpointName(nodeName, identity, ifname),
    wepNamespace: identity.namespace,
  };
}
