import { describe, it, expect } from 'vitest';
import { backendContract, Recorder, waitFor } from './contract.suite.js';
import { MemoryBackend } from './memory.js';
import { DatastoreUnavailableError } from './errors.js';

backendContract('memory', async () => {
  const backend = new MemoryBackend();
  return { backend, compact: (rev) => backend.compact(rev), cleanup: () => backend.close() };
});

describe('MemoryBackend specifics', () => {
  it('starts at revision 1 and counts every successful write, not failed ones', async () => {
    const b = new MemoryBackend();
    expect((await b.list('/')).revision).toBe('1');
    const a = await b.create('/a', '1');
    expect(a.revision).toBe('2');
    await expect(b.create('/a', '2')).rejects.toThrow();
    await b.delete('/missing');
    expect((await b.list('/')).revision).toBe('2');
  });

  it('simulateDisconnect ends every open watch with resync("disconnected")', async () => {
    const b = new MemoryBackend();
    const r1 = new Recorder();
    const r2 = new Recorder();
    b.watch('/x/', '2', r1);
    b.watch('/y/', '2', r2);
    b.simulateDisconnect();
    await waitFor(() => r1.resyncs.length > 0 && r2.resyncs.length > 0, 'resyncs');
    await b.create('/x/a', '1');
    await Promise.resolve();
    expect(r1.resyncs).toEqual(['disconnected']);
    expect(r2.resyncs).toEqual(['disconnected']);
    expect(r1.events).toEqual([]);
  });

  it('setAvailable(false) makes every call fail with DatastoreUnavailableError', async () => {
    const b = new MemoryBackend();
    b.setAvailable(false);
    await expect(b.get('/a')).rejects.toBeInstanceOf(DatastoreUnavailableError);
    await expect(b.create('/a', '1')).rejects.toBeInstanceOf(DatastoreUnavailableError);
    b.setAvailable(true);
    expect((await b.create('/a', '1')).revision).toBe('2');
  });

  it('a leased key disappears when the injected clock passes its TTL, with a delete event', async () => {
    let now = 1_000;
    const b = new MemoryBackend({ clock: { now: () => now } });
    const kv = await b.create('/l/a', 'x', { leaseTtlSeconds: 10 });
    const rec = new Recorder();
    b.watch('/l/', kv.revision, rec);
    now += 9_999;
    expect(await b.get('/l/a')).toBeDefined();
    now += 1;
    expect(await b.get('/l/a')).toBeUndefined();
    await waitFor(() => rec.events.length === 2, 'put and delete');
    expect(rec.events[1]).toEqual({ type: 'delete', key: '/l/a', revision: '3' });
  });

  it('an open watch behind a compaction gets resync("compacted")', async () => {
    const b = new MemoryBackend();
    const rec = new Recorder();
    b.watch('/a/', '2', rec);
    // All synchronous, so the compaction happens before the watch's first delivery.
    await Promise.all([b.create('/a/1', 'x'), b.create('/a/2', 'x'), b.compact('3')]);
    await waitFor(() => rec.resyncs.length > 0, 'resync');
    expect(rec.resyncs).toEqual(['compacted']);
  });

  it('rejects compaction to the future or below an earlier compaction, and bad revisions', async () => {
    const b = new MemoryBackend();
    await b.create('/a', '1');
    await expect(b.compact('5')).rejects.toThrow(/future/);
    await b.compact('2');
    await expect(b.compact('2')).rejects.toThrow(/already compacted/);
    await expect(b.update('/a', '2', 'abc')).rejects.toThrow(/positive decimal/);
    expect(() => b.watch('/', '0', new Recorder())).toThrow(/positive decimal/);
  });
});

describe('MemoryBackend commit specifics', () => {
  it('counts one revision per transaction, none for one that changes nothing, and fails whole when unavailable', async () => {
    const b = new MemoryBackend();
    const res = await b.commit([
      { op: 'create', key: '/a', value: '1' },
      { op: 'create', key: '/b', value: '2' },
    ]);
    expect(res.revision).toBe('2');
    expect((await b.commit([{ op: 'delete', key: '/missing' }])).revision).toBe('2');
    b.setAvailable(false);
    await expect(b.commit([{ op: 'delete', key: '/a' }])).rejects.toBeInstanceOf(DatastoreUnavailableError);
    b.setAvailable(true);
    expect((await b.list('/')).kvs.map((kv) => kv.key)).toEqual(['/a', '/b']);
  });
});
