/**
 * Checks shared by both backends' `commit`, so they refuse the same transactions with the
 * same errors (etcd itself would refuse a duplicate key or more than `--max-txn-ops` ops,
 * but with a gRPC error that names neither the key nor the limit).
 */
import { TabbyError } from '../errors.js';
import { MAX_TXN_OPS, type TxnOp } from './backend.js';

const REVISION = /^[1-9][0-9]*$/;

/** Throws `INVALID_TXN` for a transaction no backend may apply. `where` prefixes messages. */
export function validateTxn(ops: readonly TxnOp[], where: string): void {
  if (ops.length > MAX_TXN_OPS) {
    throw new TabbyError('INVALID_TXN', `${where} commit: ${ops.length} operations, at most ${MAX_TXN_OPS} fit in one transaction`);
  }
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.key)) throw new TabbyError('INVALID_TXN', `${where} commit: key ${op.key} appears twice; a transaction writes each key once`);
    seen.add(op.key);
    if (op.op !== 'create' && op.revision !== undefined && !REVISION.test(op.revision)) {
      throw new TabbyError('INVALID_TXN', `${where} commit ${op.op} ${op.key}: revision must be a positive decimal string, got ${JSON.stringify(op.revision)}`);
    }
  }
}

/** The condition an op is applied under, or undefined for an unconditional delete. */
export function conditionOf(op: TxnOp): 'absent' | { revision: string } | undefined {
  if (op.op === 'create') return 'absent';
  return op.revision === undefined ? undefined : { revision: op.revision };
}
