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

export interface DelOutcome {
  deletedEndpoint: boolean;
  unwired: boolean;
  released: string[];
}

export async function cniDel(req: CniRequest, deps: CniDeps): Promise<DelOutcome> {
  const a = attachmentOf(req, deps.nodeName);
  const kind = kindInfo('WorkloadEndpoint');
  let step = `read WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`;
  try {
    const wep = (await deps.client.get(kind, a.wepName, a.wepNamespace)) as WorkloadEndpoint | undefined;
    const otherOwner = wep !== undefined && wep.spec.containerID !== undefined && wep.spec.containerID !== '' && wep.spec.containerID !== a.containerId;
    let deletedEndpoint = false;
    let unwired = false;
    if (!otherOwner) {
      if (wep) {
        step = `delete WorkloadEndpoint ${a.wepNamespace}/${a.wepName}`;
        try {
          await deps.client.delete(kind, a.wepName, a.wepNamespace);
          deletedEndpoint = true;
        } catch (err) {
          if (!(err instanceof ResourceConflictError && err.code === 'NOT_FOUND')) throw err;
        }
      }
      const iface = wep?.spec.interfaceName ?? a.hostIfName;
      step = `remove interface ${iface}`;
      const present = (await deps.wiring.listHostInterfaces(iface)).some((i) => i.name === iface);
      if (present) {
        await deps.wiring.unwire(iface);
        unwired = true;
      }
    }
    step = `release handle ${a.handle}`;
    const released = await deps.ipam.releaseByHandle(a.handle);
    if (released.length > 0) deps.metrics?.ipamReleases.inc(released.length);
    deps.logger?.info({ op: 'DEL', containerId: a.containerId, deletedEndpoint, unwired, released, otherOwner }, 'workload deleted');
    return { deletedEndpoint, unwired, released };
  } catch (err) {
    throw toCniError(err, `DEL ${a.containerId}: cannot ${step}`);
  }
}
