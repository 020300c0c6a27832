import { describe, it, expect, afterEach } from 'vitest';
import { EventEmitter } from 'node:events';
import type { Etcd3, IWatchRequest, IWatchResponse } from 'etcd3';
import { EtcdWatch, prefixRangeEnd } from './etcd-watch.js';
import { Recorder, waitFor } from './contract.suite.js';
import { createLogger } from '../log/logger.js';

/** A stand-in for etcd3's gRPC watch stream: records requests, lets the test push responses. */
class FakeStream extends EventEmitter {
  requests: IWatchRequest[] = [];
  ended = false;
  cancelled = false;
  write(r: IWatchRequest): void {
    this.requests.push(r);
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

class FakeClient {
  streams: FakeStream[] = [];
  watchClient = {
    watch: async () => {
      const s = new FakeStream();
      this.streams.push(s);
      return s;
    },
  };
  get latest(): FakeStream {
    return this.streams[this.streams.length - 1]!;
  }
}

const header = (revision: number, cluster = 'c1') => ({ revision: String(revision), cluster_id: cluster, member_id: 'm', raft_term: '1' });
const kv = (key: string, rev: number) => ({ key: Buffer.from(key), value: Buffer.from(`v${rev}`), mod_revision: String(rev), create_revision: String(rev), version: '1', lease: '0' });
const created = (rev: number, cluster?: string) => ({ header: header(rev, cluster), watch_id: '1', created: true, canceled: false, compact_revision: '0', events: [] }) as unknown as IWatchResponse;
const events = (headerRev: number, ...revs: number[]) =>
  ({ header: header(headerRev), watch_id: '1', created: false, canceled: false, compact_revision: '0', events: revs.map((r) => ({ type: 'Put', kv: kv(`/p/k${r}`, r) })) }) as unknown as IWatchResponse;

const quiet = createLogger({ level: 'silent' });
const opts = { maxReconnectAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2, establishTimeoutMs: 5_000 };
const startRev = (s: FakeStream, i = 0) => s.requests[i]?.create_request?.start_revision;

describe('EtcdWatch resume logic (fake stream)', () => {
  const open: EtcdWatch[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });
  const start = (client: FakeClient, rec: Recorder, from = '5', o = opts) => {
    const w = new EtcdWatch(client as unknown as Etcd3, '/p/', from, rec, o, quiet);
    open.push(w);
    return w;
  };

  it('resumes after the last delivered event, not after the header revision', async () => {
    const client = new FakeClient();
    const rec = new Recorder();
    start(client, rec);
    await waitFor(() => client.streams.length === 1 && client.latest.requests.length === 1, 'create request');
    expect(startRev(client.latest)).toBe('5');
    expect(client.latest.requests[0]?.create_request?.range_end).toEqual(Buffer.from('/p0'));
    // etcd says "store is at 100" while it is still catching us up from 5.
    client.latest.emit('data', created(100));
    client.latest.emit('data', events(100, 5, 6, 7));
    client.latest.emit('error', new Error('14 UNAVAILABLE: connection dropped'));
    await waitFor(() => client.streams.length === 2 && client.latest.requests.length === 1, 'reconnect');
    expect(startRev(client.latest)).toBe('8');
    // A replayed event from before the cut is not delivered twice.
    client.latest.emit('data', created(100));
    client.latest.emit('data', events(100, 7, 8, 9));
    expect(rec.events.map((e) => (e.type === 'put' ? e.kv.revision : e.revision))).toEqual(['5', '6', '7', '8', '9']);
    expect(rec.resyncs).toEqual([]);
    expect(client.streams[0]!.ended && client.streams[0]!.cancelled).toBe(true);
  });

  it('a progress notification (no events) moves the resume point and reports synced', async () => {
    const client = new FakeClient();
    const rec = new Recorder();
    start(client, rec);
    await waitFor(() => client.latest?.requests.length === 1, 'create request');
    client.latest.emit('data', created(6));
    client.latest.emit('data', events(6, 5, 6));
    client.latest.emit('data', events(40));
    expect(rec.synced).toEqual(['40']);
    client.latest.emit('end');
    await waitFor(() => client.streams.length === 2 && client.latest.requests.length === 1, 'reconnect');
    expect(startRev(client.latest)).toBe('41');
  });

  it('a canceled response with a compact revision ends the watch with resync("compacted")', async () => {
    const client = new FakeClient();
    const rec = new Recorder();
    start(client, rec);
    await waitFor(() => client.latest?.requests.length === 1, 'create request');
    client.latest.emit('data', created(50));
    client.latest.emit('data', { ...events(50), canceled: true, compact_revision: '20' } as unknown as IWatchResponse);
    expect(rec.resyncs).toEqual(['compacted']);
    client.latest.emit('error', new Error('late'));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.streams).toHaveLength(1);
  });

  it('gives up with resync("disconnected") after maxReconnectAttempts failures in a row', async () => {
    const client = new FakeClient();
    const rec = new Recorder();
    start(client, rec);
    for (let i = 1; i <= 4; i++) {
      await waitFor(() => client.streams.length === i, `stream ${i}`);
      client.latest.emit('error', new Error('14 UNAVAILABLE'));
    }
    await waitFor(() => rec.resyncs.length === 1, 'resync');
    expect(rec.resyncs).toEqual(['disconnected']);
    expect(client.streams).toHaveLength(4);
  });

  it('a different cluster after a reconnect means resync("disconnected")', async () => {
    const client = new FakeClient();
    const rec = new Recorder();
    start(client, rec);
    await waitFor(() => client.latest?.requests.length === 1, 'create request');
    client.latest.emit('data', created(10, 'c1'));
    client.latest.emit('error', new Error('14 UNAVAILABLE'));
    await waitFor(() => client.streams.length === 2 && client.latest.requests.length === 1, 'reconnect');
    client.latest.emit('data', created(10, 'c2'));
    expect(rec.resyncs).toEqual(['disconnected']);
  });

  it('prefixRangeEnd follows etcd: increment the last byte below 0xff', () => {
    expect(prefixRangeEnd(Buffer.from('/a/'))).toEqual(Buffer.from('/a0'));
    expect(prefixRangeEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixRangeEnd(Buffer.from([0xff]))).toEqual(Buffer.from([0]));
  });
});
