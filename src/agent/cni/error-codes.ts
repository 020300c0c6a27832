/**
 * Maps what went wrong inside the agent to the CNI code the runtime sees
 * (docs/design/cni.md "Error codes"), naming the step that failed.
 */
import { CniCode, CniError } from '../../cni/errors.js';
import { DatastoreUnavailableError } from '../../datastore/errors.js';
import { IpamError } from '../../ipam/errors.js';
import { EndpointNotProgrammedError } from '../apply-loop.js';

export function toCniError(err: unknown, step: string): CniError {
  if (err instanceof CniError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (err instanceof IpamError) {
    if (err.code === 'POOL_EXHAUSTED') return new CniError(CniCode.PoolExhausted, `${step}: ${msg}`, 'add an IP pool (tabby apply -f pool.yaml) or free addresses (tabby ipam show, tabby ipam release)');
    if (err.code === 'NO_POOL' || err.code === 'NOT_IN_POOL') return new CniError(CniCode.NoMatchingPool, `${step}: ${msg}`, 'create an IP pool whose nodeSelector matches this node (tabby get ippool -o wide)');
    if (err.code === 'CAS_RETRIES_EXHAUSTED') return new CniError(CniCode.TryAgainLater, `${step}: ${msg}`, 'too many concurrent writers; the runtime will retry');
  }
  if (err instanceof DatastoreUnavailableError) {
    return new CniError(CniCode.DatastoreUnavailable, `${step}: the agent cannot reach the datastore: ${msg}`, 'check that etcd is up and reachable from this node (ETCD_ENDPOINTS)');
  }
  if (err instanceof EndpointNotProgrammedError) {
    return new CniError(CniCode.DataplaneNotReady, `${step}: ${msg}`, 'the ADD was rolled back; see the agent log (tabby_dataplane_apply_failures_total) for why the dataplane is failing');
  }
  return new CniError(CniCode.AgentInternal, `${step}: ${msg}`, 'see the agent log');
}
