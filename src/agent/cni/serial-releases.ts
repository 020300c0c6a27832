/**
 * The agent's IPAM as its CNI verbs use it, with releases run one at a time.
 *
 * `Ipam.autoAssign` already serialises a node's allocations inside the agent, but
 * `releaseByHandle` does not: ten DELs arriving together (a runtime tearing down pods,
 * now that the plugin starts in a millisecond) all compare-and-swap the same block, and
 * the losers burn their bounded retries until one gives up with "too many writers".
 * Writes to one block serialise in etcd anyway, so queueing them here costs no
 * throughput. (The better home for this is IPAM itself; see docs/design/cni.md.)
 */
import { KeyedLock } from '../../ipam/node-lock.js';
import type { CniDeps } from './deps.js';

export function serialReleases(ipam: CniDeps['ipam']): CniDeps['ipam'] {
  const lock = new KeyedLock();
  return {
    store: ipam.store,
    autoAssign: (req) => ipam.autoAssign(req),
    releaseByHandle: (handle) => lock.run('release', () => ipam.releaseByHandle(handle)),
  };
}
