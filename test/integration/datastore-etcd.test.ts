/**
 * The datastore contract against a real etcd 3.4, plus what only a real server can show:
 * an outage in the middle of a watch (writes fail clearly, the watcher misses nothing
 * after the server is back), and TLS with client certificates.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { rm } from 'node:fs/promises';
import { backendContract, Recorder, waitFor, eventRevision } from '../../src/datastore/contract.suite.js';
import type { Backend, Watch, WatchEvent } from '../../src/datastore/backend.js';
import { DatastoreUnavailableError } from '../../src/datastore/errors.js';
import { EtcdBackend } from '../../src/datastore/etcd.js';
import { startEtcd, etcdBackendFor, etcdctl, generateTestCerts, type EtcdServer, type TestCerts } from '../support/etcd.js';
import { createLogger } from '../../src/log/logger.js';

const quiet = createLogger({ component: 'datastore-test', level: 'silent' });

describe('etcd backend', () => {
  let etcd: EtcdServer;

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.cleanup();
  });

  backendContract('etcd', async () => {
    const backend = etcdBackendFor(etcd, { logger: quiet });
    return {
      backend,
      // Through etcdctl, so the test does not trust our own client for the compaction.
      compact: async (rev) => void (await etcdctl(etcd, 'compact', rev)),
      cleanup: () => backend.close(),
    };
  });

  it('lists in pages at one revision', async () => {
    const b = etcdBackendFor(etcd, { logger: quiet, listPageSize: 3 });
    try {
      const p = `/paging-${process.pid}/`;
      for (let i = 0; i < 10; i++) await b.create(`${p}${String(i).padStart(2, '0')}`, String(i));
      const listed = await b.list(p);
      expect(listed.kvs.map((kv) => kv.value)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    } finally {
      await b.close();
    }
  });
});

/**
 * A minimal consumer with the syncer's shape: list, watch from revision+1, and on resync
 * list again (bounded retries) and replace its state. It keeps the state a consumer would
 * keep, plus every event it saw, so the test can check that nothing was missed.
 */
class MirrorConsumer {
  state = new Map<string, string>();
  events: WatchEvent[] = [];
  resyncs: string[] = [];
  relists = 0;
  private watch: Watch | undefined;
  private stopped = false;

  constructor(
    private readonly b: Backend,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const snap = await this.b.list(this.prefix);
        this.state = new Map(snap.kvs.map((kv) => [kv.key, kv.value]));
        this.watch = this.b.watch(this.prefix, (BigInt(snap.revision) + 1n).toString(), {
          onEvents: (evs) => {
            for (const e of evs) {
              this.events.push(e);
              if (e.type === 'put') this.state.set(e.kv.key, e.kv.value);
              else this.state.delete(e.key);
            }
          },
          onResync: (reason) => {
            this.resyncs.push(reason);
            this.relists++;
            if (!this.stopped) void this.start();
          },
        });
        return;
      } catch (err) {
        if (!(err instanceof DatastoreUnavailableError) || attempt >= 100 || this.stopped) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.close();
  }
}

async function writeUntilOk<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof DatastoreUnavailableError) || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('etcd outage during a watch', () => {
  let etcd: EtcdServer;
  let writer: EtcdBackend | undefined;
  let watcherBackend: EtcdBackend | undefined;
  let consumer: MirrorConsumer | undefined;

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await consumer?.stop();
    await writer?.close();
    await watcherBackend?.close();
    await etcd?.cleanup();
  });

  async function scenario(watchOpts: { maxReconnectAttempts: number }, tag: string): Promise<{ consumer: MirrorConsumer; expected: Map<string, string> }> {
    const p = `/outage-${process.pid}-${tag}/`;
    writer = etcdBackendFor(etcd, { logger: quiet, requestTimeoutMs: 2_000 });
    watcherBackend = etcdBackendFor(etcd, { logger: quiet, watch: { ...watchOpts, initialBackoffMs: 100, maxBackoffMs: 500 } });
    const expected = new Map<string, string>();
    const put = async (k: string, v: string) => {
      const cur = await writer!.get(p + k);
      if (cur) await writer!.update(p + k, v, cur.revision);
      else await writer!.create(p + k, v);
      expected.set(p + k, v);
    };
    for (let i = 0; i < 5; i++) await put(`pre${i}`, 'a');
    consumer = new MirrorConsumer(watcherBackend, p);
    await consumer.start();
    for (let i = 0; i < 5; i++) await put(`during${i}`, 'b');
    await put('pre0', 'changed');
    await writer.delete(p + 'pre1');
    expected.delete(p + 'pre1');

    await etcd.stop();
    const err = await writer.create(`${p}while-down`, 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect((err as Error).message).toContain(etcd.endpoints[0]);
    expect((err as Error).message).toMatch(/is etcd running at/);
    expect((err as Error).message).toMatch(/ETCD_ENDPOINTS/);

    await etcd.start();
    await writeUntilOk(() => put('after0', 'c'));
    for (let i = 1; i < 5; i++) await put(`after${i}`, 'c');
    await put('during0', 'changed-after');
    await writer.delete(p + 'pre2');
    expected.delete(p + 'pre2');
    const last = await writer.create(`${p}last`, 'z');
    expected.set(`${p}last`, 'z');
    await waitFor(() => consumer!.state.get(`${p}last`) === 'z', 'the consumer to see the last write', 60_000);
    expect(BigInt(last.revision)).toBeGreaterThan(0n);
    return { consumer, expected };
  }

  it('resumes the watch transparently: every event exactly once, in order, final state equal', async () => {
    const { consumer: c, expected } = await scenario({ maxReconnectAttempts: 1000 }, 'resume');
    expect(c.resyncs).toEqual([]);
    expect(new Map([...c.state].sort())).toEqual(new Map([...expected].sort()));
    const revs = c.events.map((e) => BigInt(eventRevision(e)));
    for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
    // One event per write after the initial list: 5 creates, 1 update, 1 delete, then
    // 5 creates, 1 update, 1 delete, 1 create after the restart.
    expect(c.events).toHaveLength(15);
    await c.stop();
    await writer!.close();
    await watcherBackend!.close();
  });

  it('when reconnecting is given up, resync + relist still ends with every final state', async () => {
    const { consumer: c, expected } = await scenario({ maxReconnectAttempts: 0 }, 'resync');
    expect(c.resyncs.length).toBeGreaterThanOrEqual(1);
    expect(c.resyncs.every((r) => r === 'disconnected')).toBe(true);
    expect(new Map([...c.state].sort())).toEqual(new Map([...expected].sort()));
    await c.stop();
    await writer!.close();
    await watcherBackend!.close();
  });
});

describe('etcd over TLS with client certificates', () => {
  let certs: TestCerts | undefined;
  let etcd: EtcdServer | undefined;

  beforeAll(async () => {
    certs = await generateTestCerts();
    etcd = await startEtcd({
      tls: {
        caFile: certs.caFile,
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        clientCertAuth: true,
        clientCertFile: certs.clientCertFile,
        clientKeyFile: certs.clientKeyFile,
      },
    });
  });
  afterAll(async () => {
    await etcd?.cleanup();
    if (certs) await rm(certs.dir, { recursive: true, force: true });
  });

  it('reads, writes and watches with CA, cert and key files', async () => {
    expect(etcd!.endpoints[0]).toMatch(/^https:/);
    const b = etcdBackendFor(etcd!, { logger: quiet });
    try {
      const kv = await b.create('/tls/a', '1');
      const rec = new Recorder();
      const w = b.watch('/tls/', kv.revision, rec);
      await waitFor(() => rec.events.length === 1, 'the TLS watch event');
      await w.close();
      expect((await b.get('/tls/a'))?.value).toBe('1');
    } finally {
      await b.close();
    }
  });

  it('without a client certificate the server refuses, as DatastoreUnavailableError', async () => {
    const b = new EtcdBackend({ endpoints: etcd!.endpoints, tls: { caFile: certs!.caFile }, requestTimeoutMs: 3_000, logger: quiet });
    try {
      await expect(b.get('/tls/a')).rejects.toBeInstanceOf(DatastoreUnavailableError);
    } finally {
      await b.close();
    }
  });
});
