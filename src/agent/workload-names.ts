/**
 * How a workload's host interface and WorkloadEndpoint are named, following Calico so a
 * Calico user recognises them:
 *
 *  - host interface: `cali` + the first 11 hex characters of sha1(`<namespace>.<pod>`) when
 *    the runtime passed the Kubernetes pod (K8S_POD_NAMESPACE/K8S_POD_NAME), else of
 *    sha1(`<containerID>`). Deterministic, so DEL finds the interface even when the
 *    WorkloadEndpoint is gone, and 15 bytes, the kernel's limit.
 *  - WorkloadEndpoint name: `<node>-<orchestrator>-<workload>-<endpoint>` with every '-'
 *    inside a part doubled, so the parts can be told apart again (Calico's scheme).
 *    Kubernetes pods: orchestrator `k8s`, workload the pod name; anything else:
 *    orchestrator `cni`, workload the container ID.
 */
import { createHash } from 'node:crypto';
import type { PodRef } from '../cni/protocol.js';

export const HOST_IFACE_PREFIX = 'cali';

export interface WorkloadIdentity {
  orchestrator: 'k8s' | 'cni';
  /** Pod namespace, or "default" for non-Kubernetes workloads. */
  namespace: string;
  /** Pod name, or the container ID. */
  workload: string;
  /** What the host interface name is hashed from. */
  hashInput: string;
}

export function workloadIdentity(containerId: string, pod: PodRef | undefined): WorkloadIdentity {
  if (pod && pod.namespace && pod.name) {
    return { orchestrator: 'k8s', namespace: pod.namespace, workload: pod.name, hashInput: `${pod.namespace}.${pod.name}` };
  }
  return { orchestrator: 'cni', namespace: 'default', workload: containerId, hashInput: containerId };
}

export function hostInterfaceName(id: Pick<WorkloadIdentity, 'hashInput'>): string {
  return HOST_IFACE_PREFIX + createHash('sha1').update(id.hashInput).digest('hex').slice(0, 11);
}

const escapeDashes = (s: string): string => s.replaceAll('-', '--');

export function workloadEndpointName(node: string, id: Pick<WorkloadIdentity, 'orchestrator' | 'workload'>, endpoint: string): string {
  return [node, id.orchestrator, id.workload, endpoint].map(escapeDashes).join('-');
}

/** The IPAM handle of an attachment (docs/design/cni.md). */
export function ipamHandle(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}
