/**
 * The datastore contract. Both backends (etcd v3 and in-memory) implement it and pass the
 * same contract suite (contract.suite.ts). Keys and values are strings (values are JSON
 * documents in Calico's layout); revisions are etcd's mod revisions, as decimal strings
 * so they never lose precision.
 */

export interface KV {
  key: string;
  value: string;
  /** Revision of the last write to this key (etcd mod_revision). */
  revision: string;
  /** Revision at which the key was created (etcd create_revision). */
  createRevision: string;
}

export interface ListResult {
  kvs: KV[];
  /** Store revision at which the list was read; a watch from `revision + 1` misses nothing. */
  revision: string;
}

export type WatchEvent =
  | { type: 'put'; kv: KV }
  | { type: 'delete'; key: string; revision: string };

/**
 * Watch output. Events arrive in revision order. `resync` means the watcher could not
 * continue from where it was (history compacted, or the connection was lost and events may
 * have been missed): the consumer must list again and watch from the new revision.
 */
export interface WatchHandler {
  onEvents(events: WatchEvent[]): void;
  onResync(reason: 'compacted' | 'disconnected'): void;
  /** The watch is (re)established and caught up to `revision`. Optional. */
  onSynced?(revision: string): void;
}

/**
 * One write of a transaction (`Backend.commit`) with the condition it is applied under:
 * `create` only if the key is absent; `update` only if the key's mod revision is still
 * `revision`; `delete` only if it is still `revision`, or unconditionally without one.
 */
export type TxnOp =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; revision: string }
  | { op: 'delete'; key: string; revision?: string };

export interface CommitResult {
  /** Store revision after the transaction: the mod revision of every key it wrote. */
  revision: string;
  /** Per op, in order: the KV that `create`/`update` wrote; undefined for `delete`. */
  kvs: Array<KV | undefined>;
}

/** etcd's default `--max-txn-ops`; both backends refuse longer transactions. */
export const MAX_TXN_OPS = 128;

export interface Watch {
  close(): Promise<void>;
}

export interface Backend {
  get(key: string): Promise<KV | undefined>;
  list(prefix: string): Promise<ListResult>;
  /** Creates `key` only if absent; throws `ConflictError` (code `ALREADY_EXISTS`) otherwise. */
  create(key: string, value: string, opts?: { leaseTtlSeconds?: number }): Promise<KV>;
  /** Updates `key` only if its revision is still `revision`; throws `ConflictError` otherwise. */
  update(key: string, value: string, revision: string): Promise<KV>;
  /** Deletes `key` only if its revision is still `revision` (or unconditionally without one). */
  delete(key: string, revision?: string): Promise<void>;
  /**
   * Applies `ops` all or nothing, in one round trip: every condition holds and every write
   * happens at one new revision (watchers see the events in op order), or nothing is
   * written and `ConflictError` names the first key, in op order, whose condition failed.
   * A key may appear once; at most `MAX_TXN_OPS` ops. `DatastoreUnavailableError` means,
   * as for any write, that the transaction may or may not have been applied (as a whole).
   */
  commit(ops: readonly TxnOp[]): Promise<CommitResult>;
  /** Watches `prefix` from `fromRevision` (inclusive). */
  watch(prefix: string, fromRevision: string, handler: WatchHandler): Watch;
  close(): Promise<void>;
}
