/**
 * CNI DEL: delete the WorkloadEndpoint, remove the interface, release the address by
 * handle. Idempotent: each step treats "already gone" as done, and DEL of something the
 * agent never saw answers ok.
 *
 * One rule protects a newer sandbox of the same pod: the interface and WorkloadEndpoint
 * are named after the pod, not the container, so when the endpoint now belongs to another
 * container ID (the runtime re-created the sandbox before the old DEL), only the old
 * container's address (its own handle) is released.
 */
import { ResourceConflictError } from '../../client/errors.js';
import type { CniRequest } from '../../cni/protocol.js';
import { kindInfo, type WorkloadEndpoint } from '../../resources/index.js';
import { attachmentOf } from './attachment.js';
import type { CniDeps } from './deps.js';
import { toCniError } from './error-codes.js';
import { StepTimer } from './step-timer.js';

export interface DelOutcome {
  deletedEndpoint: boolean;
  unwired: boolean;
  released: string[];
}

/**
 * Deletes the endpoint read before, at the version read (no second read); false when there
 * was none or it went meanwhile. If it changed meanwhile it is read again and deleted only
 * while it still belongs to this container (a new sandbox of the pod may have taken it).
 */
async function deleteEndpoint(deps: CniDeps, wep: WorkloadEndpoint | undefined, name: string, namespace: string): Promise<boolean> {
  const kind = kindInfo('WorkloadEndpoint');
  let current: WorkloadEndpoint | undefined = wep;
  for (let attempt = 1; current; attempt++) {
    try {
      await deps.client.delete(kind, name, namespace, { current });
      return true;
    } catch (err) {
      if (err instanceof ResourceConflictError && err.code === 'NOT_FOUND') return false;
      if (!(err instanceof ResourceConflictError && err.code === 'STALE') || attempt >= 3) throw err;
    }
    const now = (await deps.client.get(kind, name, namespace)) as WorkloadEndpoint | undefined;
    current = now?.spec.containerID === wep?.spec.containerID ? now : undefined;
  }
  return false;
}

/** Removes the host interface when it is there; false when it was already gone. */
async function removeInterface(deps: CniDeps, iface: string): Promise<boolean> {
  const present = (await deps.wiring.hostInterface(iface)) !== undefined;
  if (present) await deps.wiring.unwire(iface);
  return present;
}

export async function cniDel(req: CniRequest, deps: CniDeps): Promise<DelOutcome> {
  const a = attachmentOf(req, deps.nodeName);
  const kind = kindInfo('WorkloadEndpoint');
  let step = `read WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`;
  const timer = new StepTimer(deps.monotonic);
  try {
    const wep = (await deps.client.get(kind, a.wepName, a.wepNamespace)) as WorkloadEndpoint | undefined;
    timer.lap('lookup');
    const otherOwner = wep !== undefined && wep.spec.containerID !== undefined && wep.spec.containerID !== '' && wep.spec.containerID !== a.containerId;
    let deletedEndpoint = false;
    let unwired = false;
    if (!otherOwner) {
      // The endpoint's deletion (a datastore round trip) and the interface's (netlink) are
      // independent: run them together. The address is released only once both are gone.
      const iface = wep?.spec.interfaceName ?? a.hostIfName;
      const named = (what: string) => (err: unknown) => {
        throw toCniError(err, `DEL ${a.containerId}: cannot ${what}`);
      };
      [deletedEndpoint, unwired] = await Promise.all([
        deleteEndpoint(deps, wep, a.wepName, a.wepNamespace).catch(named(`delete WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`)),
        removeInterface(deps, iface).catch(named(`remove interface ${iface}`)),
      ]);
      timer.lap('teardown');
    }
    step = `release handle ${a.handle}`;
    const released = await deps.ipam.releaseByHandle(a.handle);
    if (released.length > 0) deps.metrics?.ipamReleases.inc(released.length);
    timer.lap('ipam');
    deps.logger?.info({ op: 'DEL', containerId: a.containerId, deletedEndpoint, unwired, released, otherOwner, ms: timer.timings() }, 'workload deleted');
    return { deletedEndpoint, unwired, released };
  } catch (err) {
    throw toCniError(err, `DEL ${a.containerId}: cannot ${step}`);
  }
}
