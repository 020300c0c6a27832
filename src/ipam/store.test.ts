import { describe, expect, it } from 'vitest';
import { ConflictError, DatastoreUnavailableError } from '../datastore/errors.js';
import { MemoryBackend } from '../datastore/memory.js';
import { TabbyError } from '../errors.js';
import { IpamStore } from './store.js';

describe('IpamStore.withRetries', () => {
  const store = new IpamStore(new MemoryBackend(), undefined, 3);

  it('retries a step only after a conflict, at most maxAttempts times', async () => {
    let calls = 0;
    await expect(
      store.withRetries('demo step', async () => {
        calls++;
        throw new ConflictError('/k', 'REVISION_MISMATCH');
      }),
    ).rejects.toMatchObject({ code: 'CAS_RETRIES_EXHAUSTED', message: expect.stringMatching(/^IPAM demo step: gave up after 3 attempts.*on \/k/) });
    expect(calls).toBe(3);
    calls = 0;
    expect(await store.withRetries('demo', async (attempt) => (++calls, attempt < 3 ? Promise.reject(new ConflictError('/k', 'ALREADY_EXISTS')) : 'ok'))).toBe('ok');
    expect(calls).toBe(3);
  });

  it('lets other errors through at once, naming the step once for an unavailable datastore', async () => {
    let calls = 0;
    const inner = () =>
      store.withRetries('inner', async () => {
        calls++;
        throw new DatastoreUnavailableError('etcd down');
      });
    const err = (await store.withRetries('outer', inner).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect(err.message).toBe('IPAM inner: etcd down (the write may or may not have been applied)');
    expect(calls).toBe(1);
    const other = new TabbyError('X', 'boom');
    await expect(store.withRetries('s', async () => Promise.reject(other))).rejects.toBe(other);
  });
});

describe('IpamStore.adjustHandle', () => {
  it('creates, counts per block, and deletes the record when nothing is left', async () => {
    const backend = new MemoryBackend();
    const store = new IpamStore(backend, '/r');
    await store.adjustHandle('net.a', '10.0.0.0/26', 2);
    await store.adjustHandle('net.a', '10.0.0.64/26', 1);
    expect((await store.getHandle('net.a'))?.doc).toEqual({ handleID: 'net.a', block: { '10.0.0.0/26': 2, '10.0.0.64/26': 1 }, deleted: false });
    await store.adjustHandle('net.a', '10.0.0.0/26', -2);
    await store.adjustHandle('net.a', '10.0.0.64/26', -1);
    expect(await backend.get('/r/ipam/v2/handle/net.a')).toBeUndefined();
    await store.adjustHandle('net.gone', '10.0.0.0/26', -1);
    expect(await backend.get('/r/ipam/v2/handle/net.gone')).toBeUndefined();
  });
});
