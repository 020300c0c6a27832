/**
 * The etcd v3 backend. Every write is a transaction that compares the key's revision, so
 * callers get compare-and-swap: `create` compares create_revision == 0, `update`/`delete`
 * compare mod_revision. Reads and writes carry a deadline (`requestTimeoutMs`); failures to
 * reach etcd become `DatastoreUnavailableError` naming the endpoints.
 *
 * We replace etcd3's default fault handling (a per-host circuit breaker that keeps failing
 * calls for 5 s after etcd is back) with a pass-through per host and one retry per extra
 * endpoint on UNAVAILABLE only, so failover works and recovery is immediate; any further
 * retrying is the caller's (bounded, on conflict) business.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, GRPCUnavailableError, type ICompare, type IOptions, type IKeyValue, type IRequestOp, type IResponseOp } from 'etcd3';
import { createLogger, type Logger } from '../log/logger.js';
import { TabbyError } from '../errors.js';
import type { Backend, CommitResult, KV, ListResult, TxnOp, Watch, WatchHandler } from './backend.js';
import { ConflictError, DatastoreConfigError } from './errors.js';
import { toDatastoreError } from './etcd-errors.js';
import { EtcdWatch, kvFromEtcd, prefixRangeEnd, type EtcdWatchOptions } from './etcd-watch.js';
import { conditionOf, validateTxn } from './txn.js';

export interface EtcdTlsFiles {
  caFile: string;
  /** Client certificate and key, when etcd runs with --client-cert-auth. */
  certFile?: string;
  keyFile?: string;
}

export interface EtcdBackendOptions {
  endpoints: string[];
  tls?: EtcdTlsFiles;
  /** Upper bound on gRPC's reconnect backoff and on establishing a watch stream (default 5000). */
  dialTimeoutMs?: number;
  /** Deadline of every unary call (default 10000). */
  requestTimeoutMs?: number;
  watch?: Partial<EtcdWatchOptions>;
  logger?: Logger;
  /** Keys per page when listing (default 500). */
  listPageSize?: number;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A cockatiel-shaped policy: run `fn`, retrying only UNAVAILABLE up to `attempts` times. */
function retryUnavailable(attempts: number): Policy {
  const policy = {
    async execute<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn({ signal: new AbortController().signal, attempt });
        } catch (err) {
          if (!(err instanceof GRPCUnavailableError) || attempt >= attempts) throw err;
        }
      }
    },
  };
  return policy as unknown as Policy;
}

const REVISION = /^[1-9][0-9]*$/;

function checkRevision(revision: string, op: string, key: string): void {
  if (!REVISION.test(revision)) {
    throw new TabbyError('INVALID_REVISION', `etcd ${op} ${key}: revision must be a positive decimal string, got ${JSON.stringify(revision)}`);
  }
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DatastoreConfigError(`cannot read etcd ${what} file ${path}: ${(err as Error).message}; check ETCD_${what.toUpperCase().replace(' ', '_')}_FILE / the config file`, { cause: err });
  }
}

export class EtcdBackend implements Backend {
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly watches = new Set<Watch>();
  private readonly log: Logger;
  private readonly watchOpts: EtcdWatchOptions;
  private readonly pageSize: number;
  private closed = false;

  constructor(opts: EtcdBackendOptions) {
    if (opts.endpoints.length === 0) throw new DatastoreConfigError('etcd backend needs at least one endpoint (ETCD_ENDPOINTS)');
    this.endpoints = [...opts.endpoints];
    this.log = opts.logger ?? createLogger({ component: 'datastore' });
    const dialTimeoutMs = opts.dialTimeoutMs ?? 5_000;
    const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.pageSize = opts.listPageSize ?? 500;
    this.watchOpts = {
      maxReconnectAttempts: 10,
      initialBackoffMs: 100,
      maxBackoffMs: Math.max(100, dialTimeoutMs),
      establishTimeoutMs: dialTimeoutMs + requestTimeoutMs,
      ...opts.watch,
    };
    let credentials: IOptions['credentials'];
    if (opts.tls) {
      if (Boolean(opts.tls.certFile) !== Boolean(opts.tls.keyFile)) {
        throw new DatastoreConfigError('etcd TLS needs both a client certificate and its key (ETCD_CERT_FILE and ETCD_KEY_FILE), or neither');
      }
      credentials = {
        rootCertificate: readTlsFile(opts.tls.caFile, 'CA cert'),
        ...(opts.tls.certFile ? { certChain: readTlsFile(opts.tls.certFile, 'cert') } : {}),
        ...(opts.tls.keyFile ? { privateKey: readTlsFile(opts.tls.keyFile, 'key') } : {}),
      };
    }
    const passThrough = retryUnavailable(1);
    this.client = new Etcd3({
      hosts: this.endpoints as string[],
      ...(credentials ? { credentials } : {}),
      dialTimeout: dialTimeoutMs,
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': dialTimeoutMs,
        // Detect a silent peer (partition, stopped process) on long-lived watch streams.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': requestTimeoutMs,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { host: () => passThrough, global: retryUnavailable(this.endpoints.length) },
    });
  }

  private fail(err: unknown, op: string, key: string): never {
    throw toDatastoreError(err, op, key, this.endpoints);
  }

  async get(key: string): Promise<KV | undefined> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from(key) });
      const kv = res.kvs[0];
      return kv ? kvFromEtcd(kv) : undefined;
    } catch (err) {
      this.fail(err, 'get', key);
    }
  }

  /** Lists in pages, every page read at the first page's revision, so the result is one consistent snapshot. */
  async list(prefix: string): Promise<ListResult> {
    const start = prefix === '' ? Buffer.from([0]) : Buffer.from(prefix);
    const end = prefixRangeEnd(Buffer.from(prefix));
    const kvs: KV[] = [];
    let revision: string | undefined;
    let from = start;
    try {
      for (;;) {
        const res = await this.client.kv.range({ key: from, range_end: end, limit: this.pageSize, ...(revision ? { revision } : {}) });
        revision ??= res.header.revision;
        for (const kv of res.kvs) kvs.push(kvFromEtcd(kv));
        const last: IKeyValue | undefined = res.kvs[res.kvs.length - 1];
        if (!res.more || !last) break;
        from = Buffer.concat([last.key, Buffer.from([0])]);
      }
    } catch (err) {
      this.fail(err, 'list', prefix);
    }
    return { kvs, revision: revision! };
  }

  async create(key: string, value: string, opts: { leaseTtlSeconds?: number } = {}): Promise<KV> {
    const k = Buffer.from(key);
    try {
      let lease: string | undefined;
      if (opts.leaseTtlSeconds !== undefined) {
        lease = (await this.client.leaseClient.leaseGrant({ TTL: opts.leaseTtlSeconds })).ID;
      }
      const res = await this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value), ...(lease ? { lease } : {}) } }],
        failure: [],
      });
      if (!res.succeeded) {
        if (lease) await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined);
        throw new ConflictError(key, 'ALREADY_EXISTS');
      }
      return { key, value, revision: res.header.revision, createRevision: res.header.revision };
    } catch (err) {
      this.fail(err, 'create', key);
    }
  }

  async update(key: string, value: string, revision: string): Promise<KV> {
    checkRevision(revision, 'update', key);
    const k = Buffer.from(key);
    try {
      const res = await this.client.kv.txn({
        compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: revision }],
        // ignore_lease is false: an update keeps no lease unless given one, like a plain put.
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!res.succeeded) throw this.mismatch(key, res.responses[0]?.response_range?.kvs[0]);
      const prev = res.responses[0]?.response_put?.prev_kv;
      return { key, value, revision: res.header.revision, createRevision: prev?.create_revision ?? res.header.revision };
    } catch (err) {
      this.fail(err, 'update', key);
    }
  }

  async delete(key: string, revision?: string): Promise<void> {
    const k = Buffer.from(key);
    try {
      if (revision === undefined) {
        await this.client.kv.deleteRange({ key: k });
        return;
      }
      checkRevision(revision, 'delete', key);
      const res = await this.client.kv.txn({
        compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: revision }],
        success: [{ request_delete_range: { key: k } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!res.succeeded) throw this.mismatch(key, res.responses[0]?.response_range?.kvs[0]);
    } catch (err) {
      this.fail(err, 'delete', key);
    }
  }

  /** One etcd transaction: a compare per conditioned op, the writes on success. */
  async commit(ops: readonly TxnOp[]): Promise<CommitResult> {
    validateTxn(ops, 'etcd');
    const compare: ICompare[] = [];
    const conditioned: TxnOp[] = [];
    const success: IRequestOp[] = [];
    for (const op of ops) {
      const key = Buffer.from(op.key);
      const cond = conditionOf(op);
      if (cond === 'absent') compare.push({ key, target: 'Create', result: 'Equal', create_revision: 0 });
      else if (cond) compare.push({ key, target: 'Mod', result: 'Equal', mod_revision: cond.revision });
      if (cond) conditioned.push(op);
      success.push(op.op === 'delete' ? { request_delete_range: { key } } : { request_put: { key, value: Buffer.from(op.value), prev_kv: true } });
    }
    // On failure the same transaction reads the conditioned keys back (revisions only), so
    // we can name the key that failed without another round trip or a race.
    const failure: IRequestOp[] = conditioned.map((op) => ({ request_range: { key: Buffer.from(op.key), keys_only: true } }));
    try {
      const res = await this.client.kv.txn({ compare, success, failure });
      if (!res.succeeded) throw this.txnConflict(conditioned, res.responses);
      const revision = res.header.revision;
      return {
        revision,
        kvs: ops.map((op, i) => {
          if (op.op === 'delete') return undefined;
          const created = op.op === 'create' ? revision : (res.responses[i]?.response_put?.prev_kv?.create_revision ?? revision);
          return { key: op.key, value: op.value, revision, createRevision: created };
        }),
      };
    } catch (err) {
      this.fail(err, 'commit', ops.map((op) => op.key).join(', '));
    }
  }

  /** The first conditioned op (in op order) whose condition the read-back shows failed. */
  private txnConflict(conditioned: readonly TxnOp[], responses: readonly IResponseOp[]): ConflictError {
    for (const [i, op] of conditioned.entries()) {
      const current = responses[i]?.response_range?.kvs[0];
      if (op.op === 'create') {
        if (current) return new ConflictError(op.key, 'ALREADY_EXISTS');
      } else if (!current || current.mod_revision !== op.revision) {
        return this.mismatch(op.key, current);
      }
    }
    // Unreachable: the read-back is part of the same atomic transaction as the compares.
    const first = conditioned[0];
    return new ConflictError(first?.key ?? '', 'REVISION_MISMATCH', `datastore conflict: transaction on ${first?.key} failed its conditions`);
  }

  private mismatch(key: string, current: IKeyValue | undefined): ConflictError {
    return current
      ? new ConflictError(key, 'REVISION_MISMATCH', `datastore conflict on ${key}: it changed (now at revision ${current.mod_revision}); read it again and retry`)
      : new ConflictError(key, 'NOT_FOUND', `datastore conflict on ${key}: it no longer exists`);
  }

  watch(prefix: string, fromRevision: string, handler: WatchHandler): Watch {
    checkRevision(fromRevision, 'watch', prefix);
    if (this.closed) throw toDatastoreError(new Error('closed'), 'watch', prefix, this.endpoints);
    const inner = new EtcdWatch(this.client, prefix, fromRevision, handler, this.watchOpts, this.log);
    const watch: Watch = {
      close: async () => {
        this.watches.delete(watch);
        await inner.close();
      },
    };
    this.watches.add(watch);
    return watch;
  }

  /** Compacts etcd's history up to `revision` (tests, and operators through the CLI). */
  async compact(revision: string): Promise<void> {
    checkRevision(revision, 'compact', '');
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (err) {
      this.fail(err, 'compact', `revision ${revision}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    this.client.close();
  }
}
