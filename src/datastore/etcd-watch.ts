/**
 * One etcd watch on its own gRPC stream, with a resume point we track ourselves.
 *
 * Why not etcd3's `Watcher`: on reconnect it resumes from the *response header* revision
 * + 1, and etcd puts the current store revision in that header, including in the
 * `created` response and in catch-up batches that do not yet contain every event up to it.
 * A connection lost during catch-up therefore skips events. It also reports a compacted
 * start revision only as a generic "Watcher canceled" error.
 *
 * Here the resume point is the mod revision of the last event delivered + 1 (etcd never
 * splits one revision's events across responses unless fragmentation is requested, which
 * we do not), and only a progress notification (sent by etcd only to a caught-up watcher)
 * moves it further. So a resume after a lost connection replays exactly what was not
 * delivered. Reconnects are bounded; when the budget is spent, or the history is
 * compacted, or the server on the other side is a different cluster or went back in
 * time, the watch ends with `onResync` and the consumer relists.
 */
import type { Etcd3, IWatchResponse, IDuplexStream, IWatchRequest, IKeyValue } from 'etcd3';
import type { Logger } from '../log/logger.js';
import type { KV, Watch, WatchEvent, WatchHandler } from './backend.js';

export interface EtcdWatchOptions {
  /** Give up (onResync('disconnected')) after this many failed reconnects in a row. */
  maxReconnectAttempts: number;
  /** First reconnect delay; doubles per attempt up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long the stream may take to answer the create request before the attempt fails. */
  establishTimeoutMs: number;
}

/** Range end for "every key starting with prefix" (etcd's prefix rule). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): everything from prefix to the end of the keyspace.
  return Buffer.from([0]);
}

export function kvFromEtcd(kv: IKeyValue): KV {
  return { key: kv.key.toString(), value: kv.value.toString(), revision: kv.mod_revision, createRevision: kv.create_revision };
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Half-close, then cancel. The order matters: etcd3 marks the host failed (closing every
 * gRPC client on it, including in-flight unary calls) when a stream errors while still
 * writable, and a cancel makes the stream error with CANCELLED.
 */
function dropStream(stream: Stream): void {
  stream.end();
  stream.cancel();
}

export class EtcdWatch implements Watch {
  private nextRevision: bigint;
  private stream: Stream | undefined;
  private failures = 0;
  private closed = false;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private clusterId: string | undefined;
  /** Bumped per stream so late callbacks from an old stream are ignored. */
  private generation = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    fromRevision: string,
    private readonly handler: WatchHandler,
    private readonly opts: EtcdWatchOptions,
    private readonly log: Logger,
  ) {
    this.nextRevision = BigInt(fromRevision);
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed || this.finished) return;
    const gen = ++this.generation;
    let stream: Stream;
    try {
      stream = await this.client.watchClient.watch();
    } catch (err) {
      this.failed(gen, err);
      return;
    }
    if (gen !== this.generation || this.closed || this.finished) {
      stream.on('error', () => undefined);
      dropStream(stream);
      return;
    }
    this.stream = stream;
    let created = false;
    this.armTimer(() => {
      if (!created) this.failed(gen, new Error(`watch create not answered in ${this.opts.establishTimeoutMs} ms`));
    }, this.opts.establishTimeoutMs);
    stream.on('data', (res) => {
      if (gen !== this.generation) return;
      if (res.created && !res.canceled) {
        created = true;
        this.clearTimer();
        this.onCreated(res);
        return;
      }
      this.onResponse(gen, res);
    });
    stream.on('error', (err) => this.failed(gen, err));
    stream.on('end', () => this.failed(gen, new Error('watch stream ended')));
    // An empty prefix means every key: etcd spells that key "\0", range_end "\0".
    const key = this.prefix === '' ? Buffer.from([0]) : Buffer.from(this.prefix);
    stream.write({
      create_request: {
        key,
        range_end: prefixRangeEnd(Buffer.from(this.prefix)),
        start_revision: this.nextRevision.toString(),
        progress_notify: true,
      },
    });
  }

  private onCreated(res: IWatchResponse): void {
    const headerRev = BigInt(res.header.revision);
    if (this.clusterId !== undefined && res.header.cluster_id !== this.clusterId) {
      this.finish('disconnected', `etcd cluster id changed from ${this.clusterId} to ${res.header.cluster_id}`);
      return;
    }
    this.clusterId = res.header.cluster_id;
    // Revisions never go back in one cluster; if they did, the data was restored or wiped.
    if (headerRev + 1n < this.nextRevision && this.failures > 0) {
      this.finish('disconnected', `etcd revision went back to ${headerRev} (we had seen ${this.nextRevision - 1n})`);
      return;
    }
    this.failures = 0;
    if (headerRev < this.nextRevision) this.safely('onSynced', () => this.handler.onSynced?.(headerRev.toString()));
  }

  private onResponse(gen: number, res: IWatchResponse): void {
    if (res.canceled) {
      if (res.compact_revision && res.compact_revision !== '0') {
        this.finish('compacted', `history compacted at ${res.compact_revision}, needed ${this.nextRevision}`);
      } else {
        this.failed(gen, new Error(`watch canceled by etcd: ${(res as { cancel_reason?: string }).cancel_reason ?? 'no reason'}`));
      }
      return;
    }
    if (res.events.length === 0) {
      // Progress notification: etcd sends it only when this watcher has every event up to
      // header.revision, so it is safe to move the resume point.
      const rev = BigInt(res.header.revision);
      if (rev + 1n > this.nextRevision) this.nextRevision = rev + 1n;
      this.safely('onSynced', () => this.handler.onSynced?.(rev.toString()));
      return;
    }
    const events: WatchEvent[] = [];
    let last = this.nextRevision - 1n;
    for (const ev of res.events) {
      const rev = BigInt(ev.kv.mod_revision);
      if (rev < this.nextRevision) continue; // already delivered before a reconnect
      last = rev;
      events.push(
        ev.type === 'Delete'
          ? { type: 'delete', key: ev.kv.key.toString(), revision: ev.kv.mod_revision }
          : { type: 'put', kv: kvFromEtcd(ev.kv) },
      );
    }
    if (events.length === 0) return;
    this.nextRevision = last + 1n;
    this.safely('onEvents', () => this.handler.onEvents(events));
  }

  /** A throwing handler must not break the stream; its events count as delivered. */
  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, prefix: this.prefix, handler: what }, 'watch handler threw');
    }
  }

  private failed(gen: number, err: unknown): void {
    if (gen !== this.generation || this.closed || this.finished) return;
    this.generation++; // ignore anything more from this stream
    this.clearTimer();
    if (this.stream) dropStream(this.stream);
    this.stream = undefined;
    this.failures++;
    if (this.failures > this.opts.maxReconnectAttempts) {
      this.finish('disconnected', `gave up after ${this.failures - 1} reconnect attempts: ${String(err)}`);
      return;
    }
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** (this.failures - 1));
    this.log.warn({ prefix: this.prefix, attempt: this.failures, delayMs: delay, err: String(err), fromRevision: this.nextRevision.toString() }, 'watch lost, resuming');
    this.armTimer(() => void this.connect(), delay);
  }

  private finish(reason: 'compacted' | 'disconnected', why: string): void {
    if (this.finished || this.closed) return;
    this.finished = true;
    this.generation++;
    this.clearTimer();
    if (this.stream) dropStream(this.stream);
    this.stream = undefined;
    this.log.warn({ prefix: this.prefix, reason, why }, 'watch ended, consumer must resync');
    this.safely('onResync', () => this.handler.onResync(reason));
  }

  private armTimer(fn: () => void, ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(fn, ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.clearTimer();
    if (this.stream) dropStream(this.stream);
    this.stream = undefined;
  }
}
