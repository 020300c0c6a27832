/**
 * A Backend wrapper that counts the calls made through it, one per operation kind. Every
 * call of the contract is one round trip to etcd (a `create` with a lease is two), so the
 * counts are how tests and benchmarks hold a caller to its round-trip budget.
 */
import type { Backend, CommitResult, KV, ListResult, TxnOp, Watch, WatchHandler } from './backend.js';

export type BackendOp = 'get' | 'list' | 'create' | 'update' | 'delete' | 'commit' | 'watch';

export class CountingBackend implements Backend {
  readonly counts: Record<BackendOp, number> = { get: 0, list: 0, create: 0, update: 0, delete: 0, commit: 0, watch: 0 };

  constructor(readonly inner: Backend) {}

  /** Calls that went to the datastore (watches excluded: they are streams, not round trips). */
  get roundTrips(): number {
    const c = this.counts;
    return c.get + c.list + c.create + c.update + c.delete + c.commit;
  }

  reset(): void {
    for (const k of Object.keys(this.counts) as BackendOp[]) this.counts[k] = 0;
  }

  get(key: string): Promise<KV | undefined> {
    this.counts.get++;
    return this.inner.get(key);
  }

  list(prefix: string): Promise<ListResult> {
    this.counts.list++;
    return this.inner.list(prefix);
  }

  create(key: string, value: string, opts?: { leaseTtlSeconds?: number }): Promise<KV> {
    this.counts.create++;
    return this.inner.create(key, value, opts);
  }

  update(key: string, value: string, revision: string): Promise<KV> {
    this.counts.update++;
    return this.inner.update(key, value, revision);
  }

  delete(key: string, revision?: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key, revision);
  }

  commit(ops: readonly TxnOp[]): Promise<CommitResult> {
    this.counts.commit++;
    return this.inner.commit(ops);
  }

  watch(prefix: string, fromRevision: string, handler: WatchHandler): Watch {
    this.counts.watch++;
    return this.inner.watch(prefix, fromRevision, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
