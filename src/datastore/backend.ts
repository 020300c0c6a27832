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
  /** Watches `prefix` from `fromRevision` (inclusive). */
  watch(prefix: string, fromRevision: string, handler: WatchHandler): Watch;
  close(): Promise<void>;
}
