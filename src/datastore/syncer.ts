/**
 * The syncer: turns the datastore into a stream of typed updates for calc.
 *
 * For each prefix it lists, emits every key as an update `{ key, value, revision }`, then
 * watches from the list's revision + 1, so nothing written in between is missed. When all
 * prefixes have been listed it reports `in-sync`: from then on the consumer holds a full
 * snapshot and may act on absences. Values are parsed JSON; a deletion is `value: null`.
 *
 * When a watch cannot continue (`onResync`: history compacted, or connection lost) the
 * syncer reports `resync`, lists that prefix again and diffs against what it had emitted:
 * deletes for keys that vanished, updates for keys whose revision changed, nothing for the
 * rest, then `in-sync` again. So a consumer never sees a spurious delete/re-add flap.
 *
 * An unreachable datastore is retried with exponential backoff capped at `maxBackoffMs`,
 * forever (the agent cannot work without it; the status and events say it is waiting).
 * Timers come from an injected clock; nothing here logs on its own except through the
 * injected logger, and every notable step is also published as a SyncerEvent.
 */
import type { Logger } from '../log/logger.js';
import { TabbyError } from '../errors.js';
import type { Backend, KV, Watch, WatchEvent } from './backend.js';
import type { Keys } from './keys.js';

export interface SyncerUpdate {
  key: string;
  /** Parsed JSON document; null when the key was deleted (or its value is not JSON). */
  value: unknown;
  revision: string;
}

/** `wait-for-datastore` until a first list succeeds; `resync` while (re)listing; then `in-sync`. */
export type SyncStatus = 'wait-for-datastore' | 'resync' | 'in-sync';

export interface SyncerCallbacks {
  onUpdates(updates: SyncerUpdate[]): void;
  onStatus(status: SyncStatus): void;
}

export type SyncerEvent =
  | { type: 'list-failed'; prefix: string; attempt: number; retryInMs: number; error: string }
  | { type: 'listed'; prefix: string; revision: string; keys: number }
  | { type: 'watch-lost'; prefix: string; reason: 'compacted' | 'disconnected' }
  | { type: 'bad-value'; key: string; error: string };

export interface SyncerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SyncerOptions {
  backend: Backend;
  /** Disjoint key prefixes (none may be a prefix of another, or keys would arrive twice). */
  prefixes: string[];
  callbacks: SyncerCallbacks;
  clock?: SyncerClock;
  /** First retry delay after a failed list; doubles per failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onEvent?: (event: SyncerEvent) => void;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export class SyncerError extends TabbyError {
  constructor(message: string) {
    super('SYNCER_CONFIG', message);
  }
}

/** What the agent's syncer watches: every resource, every block affinity, every IPv4 block. */
export function defaultSyncerPrefixes(keys: Keys): string[] {
  return [keys.resourcesRoot(), keys.affinitiesRoot(), keys.blockPrefix('ipv4')];
}

const realClock: SyncerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface PrefixState {
  prefix: string;
  /** Revision of every key we have emitted as present. */
  emitted: Map<string, bigint>;
  synced: boolean;
  /** Bumped on every (re)list so that callbacks of an abandoned watch are ignored. */
  generation: number;
  watch?: Watch;
  timer?: unknown;
  failures: number;
}

export class Syncer {
  private readonly states: PrefixState[];
  private readonly clock: SyncerClock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private status: SyncStatus | undefined;
  private everListed = false;
  private running = false;

  constructor(private readonly opts: SyncerOptions) {
    const ps = opts.prefixes;
    if (ps.length === 0) throw new SyncerError('the syncer needs at least one key prefix to watch');
    for (const a of ps) {
      for (const b of ps) {
        if (a !== b && b.startsWith(a)) throw new SyncerError(`syncer prefixes overlap: ${JSON.stringify(a)} contains ${JSON.stringify(b)}; keys would be delivered twice`);
      }
    }
    if (new Set(ps).size !== ps.length) throw new SyncerError('syncer prefixes must be distinct');
    this.states = ps.map((prefix) => ({ prefix, emitted: new Map(), synced: false, generation: 0, failures: 0 }));
    this.clock = opts.clock ?? realClock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.setStatus('wait-for-datastore');
    for (const s of this.states) void this.sync(s);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.states) {
      s.generation++;
      if (s.timer !== undefined) this.clock.clearTimeout(s.timer);
      s.timer = undefined;
      const w = s.watch;
      s.watch = undefined;
      await w?.close().catch(() => undefined);
    }
  }

  /** Lists one prefix, emits the difference from what was emitted before, and watches on. */
  private async sync(s: PrefixState): Promise<void> {
    const gen = ++s.generation;
    s.timer = undefined;
    let list;
    try {
      list = await this.opts.backend.list(s.prefix);
    } catch (err) {
      if (gen === s.generation && this.running) this.retryLater(s, err);
      return;
    }
    if (gen !== s.generation || !this.running) return;

    this.emit(this.diff(s, list.kvs, list.revision));
    this.event({ type: 'listed', prefix: s.prefix, revision: list.revision, keys: list.kvs.length });
    try {
      s.watch = this.opts.backend.watch(s.prefix, (BigInt(list.revision) + 1n).toString(), {
        onEvents: (events) => {
          if (gen === s.generation && this.running) this.emit(this.apply(s, events));
        },
        onResync: (reason) => {
          if (gen !== s.generation || !this.running) return;
          this.event({ type: 'watch-lost', prefix: s.prefix, reason });
          this.opts.logger?.warn({ component: 'syncer', prefix: s.prefix, reason }, `watch on ${s.prefix} lost (${reason}); listing it again`);
          s.synced = false;
          s.watch = undefined;
          this.setStatus('resync');
          void this.sync(s);
        },
      });
    } catch (err) {
      this.retryLater(s, err);
      return;
    }
    s.failures = 0;
    s.synced = true;
    this.everListed = true;
    if (this.states.every((x) => x.synced)) this.setStatus('in-sync');
    else this.setStatus('resync');
  }

  private retryLater(s: PrefixState, err: unknown): void {
    s.failures++;
    const retryInMs = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(s.failures - 1, 30));
    const error = (err as Error).message ?? String(err);
    this.event({ type: 'list-failed', prefix: s.prefix, attempt: s.failures, retryInMs, error });
    this.opts.logger?.warn({ component: 'syncer', prefix: s.prefix, attempt: s.failures, retryInMs }, `cannot list ${s.prefix}: ${error}; retrying in ${retryInMs} ms`);
    this.setStatus(this.everListed ? 'resync' : 'wait-for-datastore');
    s.timer = this.clock.setTimeout(() => void this.sync(s), retryInMs);
  }

  /** Updates for a fresh list against what was emitted: changed, new and vanished keys. */
  private diff(s: PrefixState, kvs: KV[], revision: string): SyncerUpdate[] {
    const out: SyncerUpdate[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      if (s.emitted.get(kv.key) === BigInt(kv.revision)) continue;
      out.push(...this.put(s, kv));
    }
    for (const key of [...s.emitted.keys()]) {
      if (seen.has(key)) continue;
      s.emitted.delete(key);
      out.push({ key, value: null, revision });
    }
    return out;
  }

  private apply(s: PrefixState, events: WatchEvent[]): SyncerUpdate[] {
    const out: SyncerUpdate[] = [];
    for (const ev of events) {
      if (ev.type === 'put') {
        const had = s.emitted.get(ev.kv.key);
        if (had !== undefined && had >= BigInt(ev.kv.revision)) continue; // already emitted by the list
        out.push(...this.put(s, ev.kv));
      } else if (s.emitted.delete(ev.key)) {
        out.push({ key: ev.key, value: null, revision: ev.revision });
      }
    }
    return out;
  }

  /** A put as an update; an unparseable value counts as absent (and is reported). */
  private put(s: PrefixState, kv: KV): SyncerUpdate[] {
    let value: unknown;
    try {
      value = JSON.parse(kv.value);
    } catch (err) {
      this.event({ type: 'bad-value', key: kv.key, error: (err as Error).message });
      this.opts.logger?.warn({ component: 'syncer', key: kv.key }, `ignoring ${kv.key}: its value is not JSON`);
      return s.emitted.delete(kv.key) ? [{ key: kv.key, value: null, revision: kv.revision }] : [];
    }
    s.emitted.set(kv.key, BigInt(kv.revision));
    return [{ key: kv.key, value, revision: kv.revision }];
  }

  private emit(updates: SyncerUpdate[]): void {
    if (updates.length > 0) this.opts.callbacks.onUpdates(updates);
  }

  private setStatus(status: SyncStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.opts.callbacks.onStatus(status);
  }

  private event(e: SyncerEvent): void {
    this.opts.onEvent?.(e);
  }
}
