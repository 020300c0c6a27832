/**
 * The datastore contract as one vitest suite, run against every Backend: the in-memory one
 * (memory.test.ts, unit lane) and real etcd (test/integration/datastore-etcd.test.ts).
 * A behaviour the agent relies on belongs here, so both backends are held to it.
 *
 * Every test works under its own key prefix, so subjects may share one server.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { MAX_TXN_OPS, type Backend, type WatchEvent, type Watch } from './backend.js';
import { ConflictError } from './errors.js';

export interface ContractSubject {
  backend: Backend;
  /** Compacts the store's history up to `revision` (etcd: the Compact RPC or `etcdctl compact`). */
  compact(revision: string): Promise<void>;
  /** Releases the subject (closes the backend and anything the factory made). */
  cleanup(): Promise<void>;
}

export type ContractFactory = () => Promise<ContractSubject>;

let prefixCounter = 0;

/** Polls `cond` every 10 ms until true, failing after `timeoutMs`. Bounded; asserts no timing. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects watch output; `last` is the highest revision seen. */
export class Recorder {
  events: WatchEvent[] = [];
  resyncs: string[] = [];
  synced: string[] = [];

  onEvents = (events: WatchEvent[]): void => {
    this.events.push(...events);
  };
  onResync = (reason: 'compacted' | 'disconnected'): void => {
    this.resyncs.push(reason);
  };
  onSynced = (revision: string): void => {
    this.synced.push(revision);
  };

  get last(): bigint {
    const e = this.events[this.events.length - 1];
    return e ? BigInt(eventRevision(e)) : 0n;
  }
}

export function eventRevision(e: WatchEvent): string {
  return e.type === 'put' ? e.kv.revision : e.revision;
}

function eventKey(e: WatchEvent): string {
  return e.type === 'put' ? e.kv.key : e.key;
}

async function expectConflict(p: Promise<unknown>, reason: ConflictError['reason']): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConflictError);
  expect((err as ConflictError).reason).toBe(reason);
  expect((err as ConflictError).code).toBe(reason);
}

export function backendContract(name: string, factory: ContractFactory): void {
  describe(`datastore contract: ${name}`, () => {
    let subject: ContractSubject;
    let b: Backend;
    let p: string;
    const watches: Watch[] = [];

    beforeEach(async () => {
      subject = await factory();
      b = subject.backend;
      p = `/contract-${process.pid}-${++prefixCounter}/`;
    });

    afterEach(async () => {
      for (const w of watches.splice(0)) await w.close();
      await subject?.cleanup();
    });

    const watch = (prefix: string, from: string, rec: Recorder): Watch => {
      const w = b.watch(prefix, from, rec);
      watches.push(w);
      return w;
    };

    it('get of a missing key is undefined', async () => {
      expect(await b.get(`${p}missing`)).toBeUndefined();
    });

    it('create stores the key once; a second create conflicts with ALREADY_EXISTS', async () => {
      const kv = await b.create(`${p}a`, '{"n":1}');
      expect(kv).toEqual({ key: `${p}a`, value: '{"n":1}', revision: kv.revision, createRevision: kv.revision });
      expect(await b.get(`${p}a`)).toEqual(kv);
      await expectConflict(b.create(`${p}a`, 'other'), 'ALREADY_EXISTS');
      expect((await b.get(`${p}a`))?.value).toBe('{"n":1}');
    });

    it('update is compare-and-swap on the revision', async () => {
      const v1 = await b.create(`${p}a`, '1');
      const v2 = await b.update(`${p}a`, '2', v1.revision);
      expect(BigInt(v2.revision)).toBeGreaterThan(BigInt(v1.revision));
      expect(v2.createRevision).toBe(v1.createRevision);
      expect(await b.get(`${p}a`)).toEqual(v2);
      await expectConflict(b.update(`${p}a`, 'stale', v1.revision), 'REVISION_MISMATCH');
      expect((await b.get(`${p}a`))?.value).toBe('2');
      await expectConflict(b.update(`${p}nope`, 'x', v1.revision), 'NOT_FOUND');
      expect(await b.get(`${p}nope`)).toBeUndefined();
    });

    it('delete is compare-and-swap with a revision and idempotent without one', async () => {
      const v1 = await b.create(`${p}a`, '1');
      const v2 = await b.update(`${p}a`, '2', v1.revision);
      await expectConflict(b.delete(`${p}a`, v1.revision), 'REVISION_MISMATCH');
      expect(await b.get(`${p}a`)).toBeDefined();
      await b.delete(`${p}a`, v2.revision);
      expect(await b.get(`${p}a`)).toBeUndefined();
      await expectConflict(b.delete(`${p}a`, v2.revision), 'NOT_FOUND');
      await b.delete(`${p}a`); // absent: no error
      const v3 = await b.create(`${p}a`, '3');
      expect(BigInt(v3.createRevision)).toBeGreaterThan(BigInt(v2.revision));
      await b.delete(`${p}a`);
      expect(await b.get(`${p}a`)).toBeUndefined();
    });

    it('revisions increase with every write across keys, and list reports the store revision', async () => {
      const revs: bigint[] = [];
      for (let i = 0; i < 5; i++) revs.push(BigInt((await b.create(`${p}k${i}`, String(i))).revision));
      revs.push(BigInt((await b.update(`${p}k0`, 'x', revs[0]!.toString())).revision));
      for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
      const listed = await b.list(p);
      expect(BigInt(listed.revision)).toBeGreaterThanOrEqual(revs[revs.length - 1]!);
    });

    it('list returns exactly the keys under the prefix, in key order', async () => {
      await b.create(`${p}x/b`, 'b');
      await b.create(`${p}x/a`, 'a');
      await b.create(`${p}x/c/d`, 'cd');
      await b.create(`${p}x2/a`, 'outside');
      await b.create(`${p}x`, 'outside too');
      const listed = await b.list(`${p}x/`);
      expect(listed.kvs.map((kv) => kv.key)).toEqual([`${p}x/a`, `${p}x/b`, `${p}x/c/d`]);
      expect(listed.kvs.map((kv) => kv.value)).toEqual(['a', 'b', 'cd']);
      expect((await b.list(`${p}nothing/`)).kvs).toEqual([]);
    });

    it('list then watch from revision+1 misses nothing and repeats nothing', async () => {
      for (let i = 0; i < 5; i++) await b.create(`${p}k${i}`, `v${i}`);
      const snap = await b.list(p);
      // Writes after the list, before the watch exists.
      const u = await b.update(`${p}k1`, 'v1b', snap.kvs[1]!.revision);
      await b.delete(`${p}k2`);
      const c = await b.create(`${p}k9`, 'v9');
      const rec = new Recorder();
      watch(p, (BigInt(snap.revision) + 1n).toString(), rec);
      const later = await b.update(`${p}k9`, 'v9b', c.revision);
      await waitFor(() => rec.last >= BigInt(later.revision), 'the watch to reach the last write');
      expect(rec.events.map((e) => [e.type, eventKey(e)])).toEqual([
        ['put', `${p}k1`],
        ['delete', `${p}k2`],
        ['put', `${p}k9`],
        ['put', `${p}k9`],
      ]);
      expect(rec.events[0]).toEqual({ type: 'put', kv: u });
      expect(rec.events[3]).toEqual({ type: 'put', kv: later });
      expect(rec.resyncs).toEqual([]);
    });

    it('watch delivers puts and deletes in revision order, with their revisions', async () => {
      const start = await b.list(p);
      const rec = new Recorder();
      watch(p, (BigInt(start.revision) + 1n).toString(), rec);
      const a1 = await b.create(`${p}a`, '1');
      const a2 = await b.update(`${p}a`, '2', a1.revision);
      const b1 = await b.create(`${p}b`, '1');
      await b.delete(`${p}a`, a2.revision);
      const b2 = await b.update(`${p}b`, '2', b1.revision);
      await waitFor(() => rec.last >= BigInt(b2.revision), 'all events');
      expect(rec.events.slice(0, 3)).toEqual([
        { type: 'put', kv: a1 },
        { type: 'put', kv: a2 },
        { type: 'put', kv: b1 },
      ]);
      const del = rec.events[3]!;
      expect(del.type).toBe('delete');
      expect(eventKey(del)).toBe(`${p}a`);
      expect(BigInt(eventRevision(del))).toBeGreaterThan(BigInt(b1.revision));
      expect(BigInt(eventRevision(del))).toBeLessThan(BigInt(b2.revision));
      expect(rec.events[4]).toEqual({ type: 'put', kv: b2 });
      expect(rec.events).toHaveLength(5);
    });

    it('watch from an old revision replays the history', async () => {
      const first = await b.create(`${p}a`, '1');
      const second = await b.update(`${p}a`, '2', first.revision);
      const rec = new Recorder();
      watch(p, first.revision, rec);
      await waitFor(() => rec.last >= BigInt(second.revision), 'replayed history');
      expect(rec.events).toEqual([
        { type: 'put', kv: first },
        { type: 'put', kv: second },
      ]);
    });

    it('watch sees only its prefix', async () => {
      const start = await b.list(p);
      const rec = new Recorder();
      watch(`${p}in/`, (BigInt(start.revision) + 1n).toString(), rec);
      await b.create(`${p}out/a`, 'x');
      await b.create(`${p}in`, 'x');
      await b.create(`${p}inx/a`, 'x');
      const inside = await b.create(`${p}in/a`, 'x');
      await waitFor(() => rec.last >= BigInt(inside.revision), 'the inside event');
      expect(rec.events).toEqual([{ type: 'put', kv: inside }]);
    });

    it('closed watch gets no more events', async () => {
      const start = await b.list(p);
      const rec = new Recorder();
      const w = b.watch(p, (BigInt(start.revision) + 1n).toString(), rec);
      const a = await b.create(`${p}a`, '1');
      await waitFor(() => rec.last >= BigInt(a.revision), 'first event');
      await w.close();
      await b.create(`${p}b`, '1');
      // A second watch proves the write was published before we look.
      const rec2 = new Recorder();
      const probe = await b.create(`${p}c`, '1');
      watch(p, probe.revision, rec2);
      await waitFor(() => rec2.last >= BigInt(probe.revision), 'probe event');
      expect(rec.events).toEqual([{ type: 'put', kv: a }]);
    });

    it('watch from a compacted revision ends with resync("compacted")', async () => {
      const a = await b.create(`${p}a`, '1');
      await b.update(`${p}a`, '2', a.revision);
      const now = await b.list(p);
      await subject.compact(now.revision);
      const rec = new Recorder();
      watch(p, a.revision, rec);
      await waitFor(() => rec.resyncs.length > 0, 'a resync');
      expect(rec.resyncs).toEqual(['compacted']);
      expect(rec.events).toEqual([]);
      // From the compaction revision on, watching works.
      const rec2 = new Recorder();
      watch(p, now.revision, rec2);
      const c = await b.create(`${p}c`, '1');
      await waitFor(() => rec2.last >= BigInt(c.revision), 'event after compaction');
      expect(rec2.resyncs).toEqual([]);
    });

    it('create with a lease stores the key', async () => {
      const kv = await b.create(`${p}leased`, 'x', { leaseTtlSeconds: 60 });
      expect((await b.get(`${p}leased`))?.value).toBe('x');
      expect(kv.revision).toBe(kv.createRevision);
    });

    it('commit applies conditional creates, updates and deletes together at one revision', async () => {
      const a = await b.create(`${p}a`, 'a1');
      const d = await b.create(`${p}d`, 'd1');
      await b.create(`${p}u`, 'u1');
      const start = await b.list(p);
      const rec = new Recorder();
      watch(p, (BigInt(start.revision) + 1n).toString(), rec);
      const res = await b.commit([
        { op: 'update', key: `${p}a`, value: 'a2', revision: a.revision },
        { op: 'create', key: `${p}c`, value: 'c1' },
        { op: 'delete', key: `${p}d`, revision: d.revision },
        { op: 'delete', key: `${p}u` },
        { op: 'delete', key: `${p}absent` },
      ]);
      expect(BigInt(res.revision)).toBeGreaterThan(BigInt(start.revision));
      expect(res.kvs).toEqual([
        { key: `${p}a`, value: 'a2', revision: res.revision, createRevision: a.createRevision },
        { key: `${p}c`, value: 'c1', revision: res.revision, createRevision: res.revision },
        undefined,
        undefined,
        undefined,
      ]);
      expect(await b.get(`${p}a`)).toEqual(res.kvs[0]);
      expect(await b.get(`${p}c`)).toEqual(res.kvs[1]);
      expect(await b.get(`${p}d`)).toBeUndefined();
      expect(await b.get(`${p}u`)).toBeUndefined();
      // Watchers see every write of the transaction, in op order, at its one revision.
      await waitFor(() => rec.events.length >= 4, 'the transaction events');
      expect(rec.events.map((e) => [e.type, eventKey(e), eventRevision(e)])).toEqual([
        ['put', `${p}a`, res.revision],
        ['put', `${p}c`, res.revision],
        ['delete', `${p}d`, res.revision],
        ['delete', `${p}u`, res.revision],
      ]);
    });

    it('a commit with a failed condition writes nothing and names the key that failed', async () => {
      const a = await b.create(`${p}a`, 'a1');
      const a2 = await b.update(`${p}a`, 'a2', a.revision);
      await b.create(`${p}taken`, 't');
      const before = async () => Promise.all([`${p}a`, `${p}taken`, `${p}new`].map((k) => b.get(k)));
      const snapshot = await before();
      const cases: Array<[Parameters<Backend['commit']>[0], string, ConflictError['reason']]> = [
        [[{ op: 'create', key: `${p}new`, value: 'n' }, { op: 'update', key: `${p}a`, value: 'x', revision: a.revision }], `${p}a`, 'REVISION_MISMATCH'],
        [[{ op: 'update', key: `${p}a`, value: 'x', revision: a2.revision }, { op: 'create', key: `${p}taken`, value: 'x' }], `${p}taken`, 'ALREADY_EXISTS'],
        [[{ op: 'create', key: `${p}new`, value: 'n' }, { op: 'update', key: `${p}gone`, value: 'x', revision: a2.revision }], `${p}gone`, 'NOT_FOUND'],
        [[{ op: 'delete', key: `${p}gone`, revision: a2.revision }, { op: 'delete', key: `${p}taken` }], `${p}gone`, 'NOT_FOUND'],
        [[{ op: 'delete', key: `${p}a`, revision: a.revision }, { op: 'create', key: `${p}taken`, value: 'x' }], `${p}a`, 'REVISION_MISMATCH'],
      ];
      for (const [ops, key, reason] of cases) {
        const err = await b.commit(ops).then(() => undefined, (e: unknown) => e);
        expect(err, `${key} ${reason}`).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).key).toBe(key);
        expect((err as ConflictError).reason).toBe(reason);
        expect(await before()).toEqual(snapshot);
      }
    });

    it('commit refuses a key twice and more than MAX_TXN_OPS operations, before writing', async () => {
      await expect(b.commit([{ op: 'create', key: `${p}a`, value: '1' }, { op: 'delete', key: `${p}a` }])).rejects.toMatchObject({ code: 'INVALID_TXN' });
      const many = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({ op: 'create' as const, key: `${p}k${i}`, value: 'x' }));
      await expect(b.commit(many)).rejects.toMatchObject({ code: 'INVALID_TXN' });
      expect((await b.list(p)).kvs).toEqual([]);
      // MAX_TXN_OPS itself fits.
      const res = await b.commit(many.slice(0, MAX_TXN_OPS));
      expect((await b.list(p)).kvs).toHaveLength(MAX_TXN_OPS);
      expect(res.kvs.every((kv) => kv?.revision === res.revision)).toBe(true);
    });

    it('N concurrent commits of two counters with retry on conflict keep them equal at N', async () => {
      const x = `${p}x`;
      const y = `${p}y`;
      await b.commit([{ op: 'create', key: x, value: '0' }, { op: 'create', key: y, value: '0' }]);
      const N = 12;
      const bump = async (): Promise<void> => {
        for (let attempt = 0; attempt < 500; attempt++) {
          // A list is one consistent snapshot (two gets are not): the counters only ever
          // move together, so a torn transaction would show here.
          const { kvs } = await b.list(p);
          const cx = kvs.find((kv) => kv.key === x);
          const cy = kvs.find((kv) => kv.key === y);
          if (!cx || !cy) throw new Error('counter vanished');
          expect(cx.value).toBe(cy.value);
          const next = String(Number(cx.value) + 1);
          try {
            await b.commit([{ op: 'update', key: x, value: next, revision: cx.revision }, { op: 'update', key: y, value: next, revision: cy.revision }]);
            return;
          } catch (err) {
            if (!(err instanceof ConflictError)) throw err;
          }
        }
        throw new Error('bump: too many conflicts');
      };
      await Promise.all(Array.from({ length: N }, bump));
      expect((await b.get(x))?.value).toBe(String(N));
      expect((await b.get(y))?.value).toBe(String(N));
    });

    it('N concurrent CAS increments with retry on conflict end at exactly N', async () => {
      const key = `${p}counter`;
      await b.create(key, '0');
      const N = 16;
      const increment = async (): Promise<void> => {
        for (let attempt = 0; attempt < 500; attempt++) {
          const cur = await b.get(key);
          if (!cur) throw new Error('counter vanished');
          try {
            await b.update(key, String(Number(cur.value) + 1), cur.revision);
            return;
          } catch (err) {
            if (!(err instanceof ConflictError)) throw err;
          }
        }
        throw new Error('increment: too many conflicts');
      };
      await Promise.all(Array.from({ length: N }, increment));
      expect((await b.get(key))?.value).toBe(String(N));
    });
  });
}
