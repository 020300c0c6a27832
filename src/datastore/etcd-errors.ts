import {
  ClientClosedError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  GRPCCancelledError,
  isRecoverableError,
} from 'etcd3';
import { TabbyError } from '../errors.js';
import { DatastoreUnavailableError } from './errors.js';

/** True for failures that mean "etcd did not answer" rather than "etcd said no". */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError || err instanceof GRPCCancelledError) return true;
  if (err instanceof ClientClosedError) return true;
  // cockatiel's BrokenCircuitError / TaskCancelledError (etcd3's fault handling) carry these names.
  if (err.name === 'BrokenCircuitError' || err.name === 'TaskCancelledError') return true;
  try {
    return isRecoverableError(err);
  } catch {
    return false;
  }
}

/**
 * Turns an etcd3/grpc failure into a tabby error: "could not reach etcd" becomes a
 * `DatastoreUnavailableError` whose message names the endpoints and says what to check.
 * Errors that are already tabby errors pass through; anything else is wrapped with the
 * operation and key so a log line says where it happened.
 */
export function toDatastoreError(err: unknown, op: string, key: string, endpoints: readonly string[]): Error {
  if (err instanceof TabbyError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const where = endpoints.join(',');
  if (err instanceof ClientClosedError) {
    return new DatastoreUnavailableError(`etcd ${op} ${key}: the datastore client was already closed (a bug: use after close())`, { cause: err });
  }
  if (isUnavailable(err)) {
    const deadline = err instanceof GRPCDeadlineExceededError ? ' did not answer in time' : ' is unreachable';
    return new DatastoreUnavailableError(
      `etcd ${op} ${key}: etcd at ${where}${deadline} (${detail}); is etcd running at ${where}? ` +
        `check ETCD_ENDPOINTS / etcdEndpoints and, with TLS, the CA/cert/key files`,
      { cause: err },
    );
  }
  return new TabbyError('DATASTORE_ERROR', `etcd ${op} ${key} failed at ${where}: ${detail}`, { cause: err });
}
