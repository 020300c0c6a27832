/**
 * An in-memory Backend for unit tests, with etcd's revision semantics: one global revision
 * (1 for an empty store) that every successful write increments, per-key mod/create
 * revisions, compare-and-swap, and an event history that watches replay from any revision
 * not yet compacted. Watch events are delivered asynchronously (a microtask after the
 * write), in revision order, like etcd's. It passes the same contract suite as the etcd
 * backend (contract.suite.ts).
 *
 * Test hooks: `compact(rev)`, `simulateDisconnect()` (every open watch gets
 * `onResync('disconnected')`), `setAvailable(false)` (every call fails with
 * DatastoreUnavailableError), and an injected clock for lease expiry.
 */
import { TabbyError } from '../errors.js';
import type { Backend, CommitResult, KV, ListResult, TxnOp, Watch, WatchEvent, WatchHandler } from './backend.js';
import { ConflictError, DatastoreUnavailableError } from './errors.js';
import { conditionOf, validateTxn } from './txn.js';

export interface MemoryClock {
  /** Milliseconds; only differences matter. */
  now(): number;
}

export interface MemoryBackendOptions {
  clock?: MemoryClock;
}

interface Entry {
  value: string;
  mod: bigint;
  create: bigint;
  expiresAt?: number;
}

interface HistoryItem {
  rev: bigint;
  key: string;
  event: WatchEvent;
}

class MemoryWatch implements Watch {
  next: bigint;
  done = false;
  scheduled = false;

  constructor(
    readonly prefix: string,
    fromRevision: bigint,
    readonly handler: WatchHandler,
    private readonly owner: MemoryBackend,
  ) {
    this.next = fromRevision;
  }

  async close(): Promise<void> {
    this.done = true;
    this.owner.forget(this);
  }
}

const REVISION = /^[1-9][0-9]*$/;

export class MemoryBackend implements Backend {
  private revision = 1n;
  private compactedAt = 0n;
  private readonly data = new Map<string, Entry>();
  private history: HistoryItem[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private readonly clock: MemoryClock;
  private available = true;
  private closed = false;

  constructor(opts: MemoryBackendOptions = {}) {
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  /** The store's current revision (what a list would report). */
  get currentRevision(): string {
    return this.revision.toString();
  }

  private check(op: string, key: string): void {
    if (this.closed) throw new DatastoreUnavailableError(`memory datastore ${op} ${key}: the backend was closed`);
    if (!this.available) throw new DatastoreUnavailableError(`memory datastore ${op} ${key}: unavailable (simulated by setAvailable(false))`);
    this.expireLeases();
  }

  private expireLeases(): void {
    const now = this.clock.now();
    for (const [key, e] of this.data) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) this.remove(key);
    }
  }

  private kv(key: string, e: Entry): KV {
    return { key, value: e.value, revision: e.mod.toString(), createRevision: e.create.toString() };
  }

  private record(key: string, event: WatchEvent): void {
    this.history.push({ rev: this.revision, key, event });
    for (const w of this.watches) this.schedule(w);
  }

  private write(key: string, value: string, create: bigint | undefined, expiresAt?: number): KV {
    this.revision++;
    const e: Entry = { value, mod: this.revision, create: create ?? this.revision, ...(expiresAt !== undefined ? { expiresAt } : {}) };
    this.data.set(key, e);
    const kv = this.kv(key, e);
    this.record(key, { type: 'put', kv: { ...kv } });
    return kv;
  }

  private remove(key: string): void {
    this.data.delete(key);
    this.revision++;
    this.record(key, { type: 'delete', key, revision: this.revision.toString() });
  }

  private static parseRevision(revision: string, op: string, key: string): bigint {
    if (!REVISION.test(revision)) {
      throw new TabbyError('INVALID_REVISION', `memory datastore ${op} ${key}: revision must be a positive decimal string, got ${JSON.stringify(revision)}`);
    }
    return BigInt(revision);
  }

  async get(key: string): Promise<KV | undefined> {
    this.check('get', key);
    const e = this.data.get(key);
    return e ? this.kv(key, e) : undefined;
  }

  async list(prefix: string): Promise<ListResult> {
    this.check('list', prefix);
    const kvs: KV[] = [];
    for (const [key, e] of this.data) if (key.startsWith(prefix)) kvs.push(this.kv(key, e));
    // etcd returns keys in byte order; Buffer.compare matches it for any UTF-8.
    kvs.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    return { kvs, revision: this.revision.toString() };
  }

  async create(key: string, value: string, opts: { leaseTtlSeconds?: number } = {}): Promise<KV> {
    this.check('create', key);
    if (this.data.has(key)) throw new ConflictError(key, 'ALREADY_EXISTS');
    const expiresAt = opts.leaseTtlSeconds !== undefined ? this.clock.now() + opts.leaseTtlSeconds * 1000 : undefined;
    return this.write(key, value, undefined, expiresAt);
  }

  async update(key: string, value: string, revision: string): Promise<KV> {
    const rev = MemoryBackend.parseRevision(revision, 'update', key);
    this.check('update', key);
    const e = this.data.get(key);
    if (!e) throw new ConflictError(key, 'NOT_FOUND', `datastore conflict on ${key}: it no longer exists`);
    if (e.mod !== rev) throw new ConflictError(key, 'REVISION_MISMATCH', `datastore conflict on ${key}: it changed (now at revision ${e.mod}); read it again and retry`);
    // Like an etcd put without a lease: the update drops any lease.
    return this.write(key, value, e.create);
  }

  async delete(key: string, revision?: string): Promise<void> {
    const rev = revision === undefined ? undefined : MemoryBackend.parseRevision(revision, 'delete', key);
    this.check('delete', key);
    const e = this.data.get(key);
    if (rev === undefined) {
      if (e) this.remove(key);
      return;
    }
    if (!e) throw new ConflictError(key, 'NOT_FOUND', `datastore conflict on ${key}: it no longer exists`);
    if (e.mod !== rev) throw new ConflictError(key, 'REVISION_MISMATCH', `datastore conflict on ${key}: it changed (now at revision ${e.mod}); read it again and retry`);
    this.remove(key);
  }

  /** Checks every condition first, then applies every write at one new revision, like etcd. */
  async commit(ops: readonly TxnOp[]): Promise<CommitResult> {
    validateTxn(ops, 'memory datastore');
    this.check('commit', ops.map((op) => op.key).join(', '));
    for (const op of ops) {
      const cond = conditionOf(op);
      const e = this.data.get(op.key);
      if (cond === 'absent') {
        if (e) throw new ConflictError(op.key, 'ALREADY_EXISTS');
      } else if (cond) {
        if (!e) throw new ConflictError(op.key, 'NOT_FOUND', `datastore conflict on ${op.key}: it no longer exists`);
        if (e.mod.toString() !== cond.revision) {
          throw new ConflictError(op.key, 'REVISION_MISMATCH', `datastore conflict on ${op.key}: it changed (now at revision ${e.mod}); read it again and retry`);
        }
      }
    }
    // etcd bumps the revision once per transaction, and not at all when nothing changes
    // (only deletes of absent keys).
    const changes = ops.some((op) => op.op !== 'delete' || this.data.has(op.key));
    if (changes) this.revision++;
    const kvs = ops.map((op): KV | undefined => {
      const prev = this.data.get(op.key);
      if (op.op === 'delete') {
        if (prev) {
          this.data.delete(op.key);
          this.record(op.key, { type: 'delete', key: op.key, revision: this.revision.toString() });
        }
        return undefined;
      }
      // Like an etcd put without a lease: an update drops any lease.
      const e: Entry = { value: op.value, mod: this.revision, create: prev?.create ?? this.revision };
      this.data.set(op.key, e);
      const kv = this.kv(op.key, e);
      this.record(op.key, { type: 'put', kv: { ...kv } });
      return kv;
    });
    return { revision: this.revision.toString(), kvs };
  }

  watch(prefix: string, fromRevision: string, handler: WatchHandler): Watch {
    const from = MemoryBackend.parseRevision(fromRevision, 'watch', prefix);
    this.check('watch', prefix);
    const w = new MemoryWatch(prefix, from, handler, this);
    this.watches.add(w);
    this.schedule(w);
    return w;
  }

  /** @internal called by MemoryWatch.close */
  forget(w: MemoryWatch): void {
    this.watches.delete(w);
  }

  private schedule(w: MemoryWatch): void {
    if (w.scheduled || w.done) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      this.flush(w);
    });
  }

  private flush(w: MemoryWatch): void {
    if (w.done) return;
    if (w.next < this.compactedAt) {
      this.end(w, 'compacted');
      return;
    }
    const events: WatchEvent[] = [];
    for (let i = this.firstIndexAtOrAfter(w.next); i < this.history.length; i++) {
      const h = this.history[i]!;
      if (h.key.startsWith(w.prefix)) events.push(h.event);
    }
    const caughtUp = this.revision;
    if (caughtUp + 1n > w.next) w.next = caughtUp + 1n;
    if (events.length > 0) w.handler.onEvents(events);
    if (!w.done) w.handler.onSynced?.(caughtUp.toString());
  }

  private firstIndexAtOrAfter(rev: bigint): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.rev < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private end(w: MemoryWatch, reason: 'compacted' | 'disconnected'): void {
    w.done = true;
    this.watches.delete(w);
    w.handler.onResync(reason);
  }

  /**
   * Drops history before `revision`, like etcd's compaction: a watch from a revision
   * below it (or an open watch that has not yet caught up to it) gets onResync('compacted').
   */
  async compact(revision: string): Promise<void> {
    const rev = MemoryBackend.parseRevision(revision, 'compact', '');
    if (rev > this.revision) throw new TabbyError('INVALID_REVISION', `memory datastore compact: revision ${rev} is in the future (current ${this.revision})`);
    if (rev <= this.compactedAt) throw new TabbyError('INVALID_REVISION', `memory datastore compact: revision ${rev} is already compacted (at ${this.compactedAt})`);
    this.compactedAt = rev;
    this.history = this.history.slice(this.firstIndexAtOrAfter(rev));
    for (const w of this.watches) this.schedule(w);
  }

  /** Every open watch ends with onResync('disconnected'), as if the connection to etcd dropped. */
  simulateDisconnect(): void {
    for (const w of [...this.watches]) queueMicrotask(() => !w.done && this.end(w, 'disconnected'));
  }

  /** While false, every call throws DatastoreUnavailableError (watches stay open but quiet). */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches) w.done = true;
    this.watches.clear();
  }
}
