import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import { DatastoreUnavailableError } from './errors.js';
import { Keys } from './keys.js';
import { MemoryBackend } from './memory.js';
import { Syncer, SyncerError, defaultSyncerPrefixes, type SyncStatus, type SyncerClock, type SyncerEvent, type SyncerUpdate } from './syncer.js';

/** Timers that fire only when the test advances time. */
class ManualClock implements SyncerClock {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

/** Lets queued microtasks and promise chains (list, watch delivery) run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

const P = '/calico/resources/v3/projectcalico.org/nodes/';
const B = '/calico/ipam/v2/assignment/ipv4/block/';

function harness(backend: Backend, prefixes = [P], opts: { maxBackoffMs?: number } = {}) {
  const clock = new ManualClock();
  const updates: SyncerUpdate[] = [];
  const batches: SyncerUpdate[][] = [];
  const statuses: SyncStatus[] = [];
  const events: SyncerEvent[] = [];
  const syncer = new Syncer({
    backend,
    prefixes,
    clock,
    initialBackoffMs: 100,
    maxBackoffMs: opts.maxBackoffMs ?? 1000,
    callbacks: {
      onUpdates: (u) => {
        batches.push(u);
        updates.push(...u);
      },
      onStatus: (s) => statuses.push(s),
    },
    onEvent: (e) => events.push(e),
  });
  const take = () => updates.splice(0).map((u) => [u.key.slice(u.key.lastIndexOf('/') + 1), u.value]);
  return { syncer, clock, updates, batches, statuses, events, take };
}

describe('Syncer', () => {
  it('lists, says in-sync, then streams watch events from the list revision on', async () => {
    const be = new MemoryBackend();
    await be.create(P + 'a', '{"n":1}');
    await be.create(P + 'b', '{"n":2}');
    await be.create('/calico/other/x', '{}');
    const h = harness(be);
    h.syncer.start();
    await settle();
    expect(h.take()).toEqual([
      ['a', { n: 1 }],
      ['b', { n: 2 }],
    ]);
    expect(h.statuses).toEqual(['wait-for-datastore', 'in-sync']);

    const a = await be.get(P + 'a');
    await be.update(P + 'a', '{"n":3}', a!.revision);
    await be.delete(P + 'b');
    await be.create(P + 'c', '{"n":4}');
    await settle();
    expect(h.take()).toEqual([
      ['a', { n: 3 }],
      ['b', null],
      ['c', { n: 4 }],
    ]);
    expect(h.updates).toEqual([]);
    await h.syncer.stop();
  });

  it('emits the revision of every update', async () => {
    const be = new MemoryBackend();
    const kv = await be.create(P + 'a', '{}');
    const h = harness(be);
    h.syncer.start();
    await settle();
    expect(h.updates).toEqual([{ key: P + 'a', value: {}, revision: kv.revision }]);
    await h.syncer.stop();
  });

  it.each(['disconnected', 'compacted'] as const)('after a lost watch (%s) relists and emits only the difference', async (how) => {
    const be = new MemoryBackend();
    await be.create(P + 'a', '"a"');
    await be.create(P + 'b', '"b"');
    await be.create(P + 'c', '"c"');
    const h = harness(be);
    h.syncer.start();
    await settle();
    h.take();

    // Changes the watch never delivers: the watch ends before its next delivery.
    const b = await be.get(P + 'b');
    if (how === 'disconnected') be.simulateDisconnect();
    void be.update(P + 'b', '"b2"', b!.revision);
    void be.delete(P + 'c');
    void be.create(P + 'd', '"d"');
    if (how === 'compacted') void be.compact(be.currentRevision);
    await settle();

    expect(h.take()).toEqual([
      ['b', 'b2'],
      ['d', 'd'],
      ['c', null],
    ]);
    expect(h.statuses).toEqual(['wait-for-datastore', 'in-sync', 'resync', 'in-sync']);
    expect(h.events.filter((e) => e.type === 'watch-lost')).toEqual([{ type: 'watch-lost', prefix: P, reason: how }]);

    // And it watches on from the new list.
    void be.create(P + 'e', '"e"');
    await settle();
    expect(h.take()).toEqual([['e', 'e']]);
    await h.syncer.stop();
  });

  it('retries an unavailable datastore with bounded exponential backoff', async () => {
    const be = new MemoryBackend();
    await be.create(P + 'a', '1');
    be.setAvailable(false);
    const h = harness(be, [P], { maxBackoffMs: 400 });
    h.syncer.start();
    await settle();
    for (let i = 0; i < 4; i++) {
      const last = h.events.at(-1);
      expect(last?.type).toBe('list-failed');
      h.clock.advance(last?.type === 'list-failed' ? last.retryInMs : 0);
      await settle();
    }
    const delays = h.events.flatMap((e) => (e.type === 'list-failed' ? [e.retryInMs] : []));
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    expect(h.statuses).toEqual(['wait-for-datastore']);
    expect(h.updates).toEqual([]);

    be.setAvailable(true);
    h.clock.advance(400);
    await settle();
    expect(h.take()).toEqual([['a', 1]]);
    expect(h.statuses).toEqual(['wait-for-datastore', 'in-sync']);
    expect(h.clock.pending).toBe(0);
    await h.syncer.stop();
  });

  it('relists after a lost watch even when the datastore comes back only later', async () => {
    const be = new MemoryBackend();
    await be.create(P + 'a', '1');
    const h = harness(be);
    h.syncer.start();
    await settle();
    h.take();
    be.setAvailable(false);
    be.simulateDisconnect();
    await settle();
    expect(h.statuses.at(-1)).toBe('resync');
    expect(h.events.at(-1)?.type).toBe('list-failed');
    be.setAvailable(true);
    await be.delete(P + 'a');
    h.clock.advance(100);
    await settle();
    expect(h.take()).toEqual([['a', null]]);
    expect(h.statuses.at(-1)).toBe('in-sync');
    await h.syncer.stop();
  });

  it('says in-sync only when every prefix is listed', async () => {
    const be = new MemoryBackend();
    await be.create(P + 'n1', '1');
    await be.create(B + '10.0.0.0-26', '2');
    let failBlocks = 1;
    const flaky: Backend = Object.assign(Object.create(be) as MemoryBackend, {
      list: async (prefix: string) => {
        if (prefix === B && failBlocks-- > 0) throw new DatastoreUnavailableError('flaky');
        return be.list(prefix);
      },
    });
    const h = harness(flaky, [P, B]);
    h.syncer.start();
    await settle();
    expect(h.take()).toEqual([['n1', 1]]);
    expect(h.statuses).toEqual(['wait-for-datastore', 'resync']);
    h.clock.advance(100);
    await settle();
    expect(h.take()).toEqual([['10.0.0.0-26', 2]]);
    expect(h.statuses).toEqual(['wait-for-datastore', 'resync', 'in-sync']);
    await h.syncer.stop();
  });

  it('treats a value that is not JSON as absent and reports it', async () => {
    const be = new MemoryBackend();
    await be.create(P + 'good', '{}');
    const kv = await be.create(P + 'bad', '{"x":');
    const h = harness(be);
    h.syncer.start();
    await settle();
    expect(h.take()).toEqual([['good', {}]]);
    expect(h.events).toContainEqual({ type: 'bad-value', key: P + 'bad', error: expect.any(String) });
    await be.update(P + 'bad', '{"x":1}', kv.revision);
    await settle();
    expect(h.take()).toEqual([['bad', { x: 1 }]]);
    const fixed = await be.get(P + 'bad');
    await be.update(P + 'bad', 'nope', fixed!.revision);
    await settle();
    expect(h.take()).toEqual([['bad', null]]);
    await h.syncer.stop();
  });

  it('emits nothing after stop', async () => {
    const be = new MemoryBackend();
    const h = harness(be);
    h.syncer.start();
    await settle();
    await h.syncer.stop();
    await be.create(P + 'a', '1');
    await settle();
    expect(h.updates).toEqual([]);
  });

  it('refuses overlapping prefixes', () => {
    const be = new MemoryBackend();
    expect(() => harness(be, ['/calico/', P])).toThrow(SyncerError);
    expect(() => harness(be, [])).toThrow(/at least one/);
  });

  it('default prefixes are disjoint and cover resources, affinities and blocks', () => {
    const prefixes = defaultSyncerPrefixes(new Keys('/calico'));
    expect(prefixes).toEqual(['/calico/resources/v3/', '/calico/ipam/v2/host/', '/calico/ipam/v2/assignment/ipv4/block/']);
    expect(() => harness(new MemoryBackend(), prefixes)).not.toThrow();
  });

  it('property: whatever happens, the emitted stream rebuilds the store exactly, with no redundant updates', async () => {
    type Op = { t: 'put'; k: string; v: number } | { t: 'del'; k: string } | { t: 'disconnect' } | { t: 'compact' } | { t: 'settle' };
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ t: fc.constant('put' as const), k: key, v: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ t: fc.constant('del' as const), k: key }),
      fc.constant({ t: 'disconnect' as const }),
      fc.constant({ t: 'compact' as const }),
      fc.constant({ t: 'settle' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const be = new MemoryBackend();
        await be.create(P + 'a', '0');
        const h = harness(be);
        const state = new Map<string, { value: unknown; revision: string }>();
        h.syncer.start();
        for (const o of ops) {
          if (o.t === 'put') {
            const cur = await be.get(P + o.k);
            if (cur) await be.update(P + o.k, String(o.v), cur.revision);
            else await be.create(P + o.k, String(o.v));
          } else if (o.t === 'del') await be.delete(P + o.k);
          else if (o.t === 'disconnect') be.simulateDisconnect();
          else if (o.t === 'compact') await be.compact(be.currentRevision).catch(() => undefined);
          else await settle();
        }
        await settle();
        for (const u of h.updates) {
          const had = state.get(u.key);
          if (u.value === null) {
            expect(had, `delete of absent ${u.key}`).toBeDefined();
            state.delete(u.key);
          } else {
            expect(had?.revision, `redundant update of ${u.key}`).not.toBe(u.revision);
            state.set(u.key, { value: u.value, revision: u.revision });
          }
        }
        const truth = (await be.list(P)).kvs.map((kv) => [kv.key, { value: JSON.parse(kv.value), revision: kv.revision }]);
        expect(new Map(truth)).toEqual(state);
        expect(h.statuses.at(-1)).toBe('in-sync');
        await h.syncer.stop();
      }),
      { seed: 20261122, numRuns: 60 },
    );
  });
});
