/**
 * CNI GC (spec 1.1.0): release what this node holds for network `req.network` that the
 * runtime no longer lists in `cni.dev/valid-attachments`:
 *  - WorkloadEndpoints of this node created for that network (our annotation) whose
 *    container is not valid: deleted, and their interface removed;
 *  - addresses of this node whose handle is `<network>.<containerID>` with an invalid
 *    container: released by handle;
 *  - `cali*` interfaces no remaining local WorkloadEndpoint owns: removed.
 * Containers with an operation in flight are left alone (their interface is busy).
 */
import type { CniRequest } from '../../cni/protocol.js';
import { allocationsOf } from '../../ipam/block.js';
import { kindInfo } from '../../resources/index.js';
import { sweepOrphanInterfaces } from '../interface-sweeper.js';
import { NETWORK_ANNOTATION } from './attachment.js';
import type { CniDeps } from './deps.js';
import { toCniError } from './error-codes.js';
import { localEndpoints } from './local-endpoints.js';

export interface GcOutcome {
  deletedEndpoints: string[];
  releasedHandles: string[];
  removedInterfaces: string[];
}

export async function cniGc(req: CniRequest, deps: CniDeps, busyContainers: Pick<ReadonlySet<string>, 'has'>): Promise<GcOutcome> {
  const valid = new Set((req.validAttachments ?? []).map((v) => v.containerID));
  const keep = (cid: string): boolean => valid.has(cid) || busyContainers.has(cid);
  const out: GcOutcome = { deletedEndpoints: [], releasedHandles: [], removedInterfaces: [] };
  let step = 'list WorkloadEndpoints';
  try {
    const kind = kindInfo('WorkloadEndpoint');
    const owned = new Set<string>();
    for (const wep of await localEndpoints(deps.client, deps.nodeName)) {
      const cid = wep.spec.containerID ?? '';
      const ours = wep.metadata.annotations?.[NETWORK_ANNOTATION] === req.network;
      if (!ours || cid === '' || keep(cid)) {
        owned.add(wep.spec.interfaceName);
        continue;
      }
      step = `delete WorkloadEndpoint ${wep.metadata.namespace}/${wep.metadata.name}`;
      await deps.client.delete(kind, wep.metadata.name, wep.metadata.namespace).catch((err: { code?: string }) => {
        if (err.code !== 'NOT_FOUND') throw err;
      });
      out.deletedEndpoints.push(`${wep.metadata.namespace}/${wep.metadata.name}`);
    }

    step = 'list IPAM blocks';
    const prefix = `${req.network}.`;
    const stale = new Set<string>();
    for (const b of await deps.ipam.store.listBlocks()) {
      for (const x of allocationsOf(b.doc)) {
        if (!x.handle?.startsWith(prefix) || x.attrs?.node !== deps.nodeName) continue;
        if (!keep(x.handle.slice(prefix.length))) stale.add(x.handle);
      }
    }
    for (const h of stale) {
      step = `release handle ${h}`;
      const released = await deps.ipam.releaseByHandle(h);
      if (released.length > 0) deps.metrics?.ipamReleases.inc(released.length);
      out.releasedHandles.push(h);
    }

    step = 'remove leftover interfaces';
    const swept = await sweepOrphanInterfaces({ wiring: deps.wiring, owned, busy: deps.busyInterfaces, ...(deps.logger ? { logger: deps.logger } : {}) });
    deps.metrics?.sweptInterfaces.inc(swept.removed.length);
    out.removedInterfaces = swept.removed;
  } catch (err) {
    throw toCniError(err, `GC of network ${req.network}: cannot ${step}`);
  }
  deps.logger?.info({ op: 'GC', network: req.network, ...out }, 'garbage collected');
  return out;
}
