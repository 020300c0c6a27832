/**
 * CNI ADD: allocate, wire, record, wait for the dataplane, answer. Each step that changes
 * something registers its undo before the next step runs; any failure undoes them in
 * reverse order (WorkloadEndpoint, then interface, then address), so a failed ADD leaves
 * nothing behind, and answers the CNI code for what failed.
 *
 * The answer comes only after the dataplane has programmed the endpoint (its /32 route
 * through the new interface exists): a pod never runs before it is reachable.
 */
import { ResourceConflictError } from '../../client/errors.js';
import { CniCode, CniError } from '../../cni/errors.js';
import type { CniRequest } from '../../cni/protocol.js';
import type { CniResult } from '../../cni/result.js';
import { readEndpoint } from '../../calc/inputs.js';
import { workloadEndpointKey } from '../../dataplane/messages.js';
import { CALICO_API_VERSION, kindInfo, type WorkloadEndpoint } from '../../resources/index.js';
import { attachmentOf, NAMESPACE_LABEL, NETWORK_ANNOTATION, ORCHESTRATOR_LABEL, podLabels, type Attachment } from './attachment.js';
import { DEFAULT_PROGRAM_TIMEOUT_MS, type CniDeps } from './deps.js';
import { toCniError } from './error-codes.js';
import { StepTimer } from './step-timer.js';

const HOST_MAC = 'ee:ee:ee:ee:ee:ee';
const IPAM_TYPES = ['tabby-ipam', 'calico-ipam'];

export function checkIpamType(req: CniRequest): void {
  const ipam = req.config.ipam;
  if (ipam === undefined) return;
  const t = typeof ipam === 'object' && ipam !== null ? ipam.type : undefined;
  if (typeof t !== 'string' || !IPAM_TYPES.includes(t)) {
    throw new CniError(CniCode.UnsupportedField, `"ipam" with type ${JSON.stringify(t)} is not supported by the agent`, 'remove "ipam" or set "ipam": {"type": "tabby-ipam"}');
  }
}

export function workloadEndpointFor(a: Attachment, deps: Pick<CniDeps, 'nodeName'>, labels: Record<string, string>, address: string, mac: string): WorkloadEndpoint {
  const k8s = a.identity.orchestrator === 'k8s';
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: a.wepName,
      namespace: a.wepNamespace,
      labels: { ...labels, [NAMESPACE_LABEL]: a.wepNamespace, [ORCHESTRATOR_LABEL]: a.identity.orchestrator },
      annotations: { [NETWORK_ANNOTATION]: a.network },
    },
    spec: {
      orchestrator: a.identity.orchestrator,
      ...(k8s ? { pod: a.identity.workload } : { workload: a.identity.workload }),
      node: deps.nodeName,
      endpoint: a.ifname,
      containerID: a.containerId,
      interfaceName: a.hostIfName,
      mac,
      ipNetworks: [address],
      profiles: [`kns.${a.wepNamespace}`],
    },
  };
}

type Undo = { what: string; run: () => Promise<unknown> };

function resultFor(a: Attachment, containerMac: string, addresses: string[]): CniResult {
  return {
    interfaces: [
      { name: a.hostIfName, mac: HOST_MAC },
      { name: a.ifname, mac: containerMac, sandbox: a.netns },
    ],
    ips: addresses.map((address) => ({ address, interface: 1 })),
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}

/**
 * What is already there under this attachment's names:
 *  - the same container's endpoint with its interface (a runtime repeating an ADD whose
 *    answer it lost): answer it again once programmed, change nothing;
 *  - an interface left by an earlier sandbox of the same pod (its DEL never came, the
 *    runtime has moved on): remove it so this sandbox can have the name, as Calico does.
 */
async function earlierAttachment(a: Attachment, deps: CniDeps): Promise<{ answer?: CniResult; endpointExists: boolean }> {
  // The common case, a new pod: no interface in the kernel, and no endpoint with it in the
  // agent's synced view. The view holds every endpoint an earlier ADD answered for (ADD
  // answers only once the dataplane, fed by the same view, programmed it), so the datastore
  // read is skipped. Were the view behind the datastore, the create below would meet the
  // endpoint (ALREADY_EXISTS) and apply over it, and DEL releases the whole handle.
  if (deps.localEndpoints?.usesInterface(a.hostIfName) === false && (await deps.wiring.hostInterface(a.hostIfName)) === undefined) {
    return { endpointExists: false };
  }
  // Both reads at once: the datastore round trip overlaps the link lookup.
  const [wep, link] = await Promise.all([
    deps.client.get(kindInfo('WorkloadEndpoint'), a.wepName, a.wepNamespace) as Promise<WorkloadEndpoint | undefined>,
    deps.wiring.hostInterface(a.hostIfName),
  ]);
  const present = link !== undefined;
  if (wep && wep.spec.containerID === a.containerId && present && wep.spec.interfaceName === a.hostIfName) {
    const facts = readEndpoint(a.wepNamespace, a.wepName, wep);
    const nets = wep.spec.ipNetworks ?? [];
    if (facts) await deps.dataplane.waitForEndpoint(workloadEndpointKey(facts.id), deps.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS, { ifaceName: a.hostIfName, ipv4Nets: facts.ipv4Nets });
    deps.logger?.info({ op: 'ADD', containerId: a.containerId, iface: a.hostIfName }, 'repeated ADD: answering with the existing attachment');
    return { answer: resultFor(a, wep.spec.mac ?? '', nets), endpointExists: true };
  }
  if (wep && wep.spec.containerID === a.containerId && !present) {
    // A broken earlier attempt of this very container: start over from a clean handle.
    await deps.ipam.releaseByHandle(a.handle);
  }
  if (present) {
    deps.logger?.info({ op: 'ADD', containerId: a.containerId, iface: a.hostIfName, previousContainer: wep?.spec.containerID }, 'removing the interface of an earlier sandbox of this pod');
    await deps.wiring.unwire(a.hostIfName);
  }
  return { endpointExists: wep !== undefined };
}

/**
 * Writes the new WorkloadEndpoint. Replacing one left by an earlier sandbox of the same pod
 * (its DEL never came) is `apply`, as Calico does; when the lookup saw none, a plain create
 * saves apply's read, and falls back to apply if one appeared since.
 */
async function writeEndpoint(deps: CniDeps, wep: WorkloadEndpoint, seenBefore: boolean): Promise<void> {
  if (!seenBefore) {
    try {
      await deps.client.create(wep);
      return;
    } catch (err) {
      if (!(err instanceof ResourceConflictError && err.code === 'ALREADY_EXISTS')) throw err;
    }
  }
  await deps.client.apply(wep);
}

export async function cniAdd(req: CniRequest, deps: CniDeps): Promise<CniResult> {
  if (!req.netns) throw new CniError(CniCode.InvalidEnvironment, 'ADD needs CNI_NETNS', 'the runtime must pass the container\'s network namespace');
  checkIpamType(req);
  const a = attachmentOf(req, deps.nodeName);
  const labels = podLabels(req);
  const log = deps.logger;
  const undo: Undo[] = [];
  const timer = new StepTimer(deps.monotonic);
  let step = 'look for an earlier attachment';
  deps.busyInterfaces.add(a.hostIfName);
  try {
    const earlier = await earlierAttachment(a, deps);
    timer.lap('lookup');
    if (earlier.answer) return earlier.answer;
    step = 'allocate an address';
    const attrs: Record<string, string> = { node: deps.nodeName, timestamp: (deps.now?.() ?? new Date()).toISOString() };
    if (a.identity.orchestrator === 'k8s') Object.assign(attrs, { namespace: a.identity.namespace, pod: a.identity.workload });
    else attrs.containerID = a.containerId;
    undo.push({ what: `release handle ${a.handle}`, run: () => deps.ipam.releaseByHandle(a.handle) });
    let assigned;
    try {
      assigned = await deps.ipam.autoAssign({ handle: a.handle, node: deps.nodeName, num: 1, attrs });
      deps.metrics?.ipamAllocations.inc({ result: 'ok' });
    } catch (err) {
      deps.metrics?.ipamAllocations.inc({ result: 'error' });
      throw err;
    }
    const address = `${assigned[0]!.address}/32`;
    timer.lap('ipam');

    step = `wire interface ${a.hostIfName}`;
    // wire() removes what it made when it fails, so the undo is registered only after it
    // succeeded: an interface that existed before this ADD is never removed by its rollback.
    const wired = await deps.wiring.wire({ netnsPath: a.netns, containerIfName: a.ifname, hostIfName: a.hostIfName, addresses: [address] });
    undo.push({ what: `unwire ${a.hostIfName}`, run: () => deps.wiring.unwire(a.hostIfName) });
    timer.lap('wire');

    step = `write WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`;
    const wep = workloadEndpointFor(a, deps, labels, address, wired.containerMac);
    undo.push({
      what: `delete WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`,
      run: () => deps.client.delete(kindInfo('WorkloadEndpoint'), a.wepName, a.wepNamespace),
    });
    await writeEndpoint(deps, wep, earlier.endpointExists);
    timer.lap('endpoint');

    step = 'wait for the dataplane';
    const facts = readEndpoint(a.wepNamespace, a.wepName, wep);
    if (!facts) throw new Error(`bug: the WorkloadEndpoint written for ${a.containerId} is unreadable by calc`);
    const key = workloadEndpointKey(facts.id);
    await deps.dataplane.waitForEndpoint(key, deps.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS, { ifaceName: a.hostIfName, ipv4Nets: [address] });

    timer.lap('program');
    log?.info({ op: 'ADD', containerId: a.containerId, iface: a.hostIfName, address, endpoint: key, ms: timer.timings() }, 'workload added');
    return resultFor(a, wired.containerMac, [address]);
  } catch (err) {
    const cniErr = toCniError(err, `ADD ${a.containerId}: cannot ${step}`);
    log?.warn({ op: 'ADD', containerId: a.containerId, step, ms: timer.timings(), err: (err as Error)?.message ?? String(err), code: cniErr.cniCode }, 'ADD failed; rolling back');
    for (const u of undo.reverse()) {
      try {
        await u.run();
      } catch (e) {
        // A failed undo must not hide the original error; DEL (which the runtime sends after
        // a failed ADD) or GC finishes the job.
        if ((e as { code?: string }).code !== 'NOT_FOUND') log?.error({ op: 'ADD', containerId: a.containerId, err: (e as Error).message }, `rollback step failed: ${u.what}`);
      }
    }
    throw cniErr;
  } finally {
    deps.busyInterfaces.delete(a.hostIfName);
  }
}
