/**
 * Typed reads and compare-and-swap writes of IPAM documents on the datastore `Backend`.
 *
 * Every write is conditional on the revision that was read (create = "must not exist").
 * `withRetries` reruns a read-modify-write step only when it lost a race (`ConflictError`)
 * and at most `maxAttempts` times; `DatastoreUnavailableError` goes straight up with the
 * step named in its message, because the write may or may not have happened and only the
 * caller (e.g. a CNI DEL releasing by handle) can resolve that.
 */
import type { Backend, KV, TxnOp } from '../datastore/backend.js';
import { ConflictError, DatastoreUnavailableError } from '../datastore/errors.js';
import type { Cidr } from './cidr.js';
import { IpamError } from './errors.js';
import { IpamKeys } from './keys.js';
import {
  DEFAULT_IPAM_CONFIG,
  parseAffinity,
  parseBlock,
  parseHandle,
  parseIpamConfig,
  stringify,
  type AffinityDoc,
  type BlockDoc,
  type HandleDoc,
  type IpamConfig,
} from './model.js';

export interface Versioned<T> {
  key: string;
  revision: string;
  doc: T;
}

export interface AffinityRecord extends Versioned<AffinityDoc> {
  node: string;
  cidr: Cidr;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/** Unavailable errors already given IPAM context (nested steps must not wrap them again). */
const wrapped = new WeakSet<Error>();

/** An unavailable datastore's error, with the IPAM step named once (innermost level wins). */
function named(what: string, err: unknown): unknown {
  if (!(err instanceof DatastoreUnavailableError) || wrapped.has(err)) return err;
  const e = new DatastoreUnavailableError(`IPAM ${what}: ${err.message} (the write may or may not have been applied)`, { cause: err });
  wrapped.add(e);
  return e;
}

export class IpamStore {
  readonly keys: IpamKeys;

  constructor(
    private readonly backend: Backend,
    root?: string,
    readonly maxAttempts: number = DEFAULT_MAX_ATTEMPTS,
  ) {
    this.keys = new IpamKeys(root);
  }

  /**
   * Runs `step` until it completes, retrying only after a `ConflictError` and at most
   * `maxAttempts` times in all. `what` names the step in error messages.
   */
  async withRetries<T>(what: string, step: (attempt: number) => Promise<T>): Promise<T> {
    let last: ConflictError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        return await step(attempt);
      } catch (err) {
        if (err instanceof ConflictError) {
          last = err;
          continue;
        }
        throw named(what, err);
      }
    }
    throw new IpamError(
      'CAS_RETRIES_EXHAUSTED',
      `IPAM ${what}: gave up after ${this.maxAttempts} attempts, each lost a compare-and-swap race (last on ${last?.key}); ` +
        'too many writers on one key, retry the operation',
      { cause: last },
    );
  }

  /** Runs `step` once (no retry), naming the step in an unavailable datastore's error like `withRetries`. */
  async once<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw named(what, err);
    }
  }

  // --- blocks -------------------------------------------------------------------------

  async getBlock(cidr: Cidr): Promise<Versioned<BlockDoc> | undefined> {
    const kv = await this.backend.get(this.keys.block(cidr));
    return kv && this.blockOf(kv);
  }

  async listBlocks(): Promise<Versioned<BlockDoc>[]> {
    const { kvs } = await this.backend.list(this.keys.blockPrefix());
    return kvs.map((kv) => this.blockOf(kv));
  }

  /** Throws `ConflictError` (ALREADY_EXISTS) when the block exists. */
  async createBlock(cidr: Cidr, doc: BlockDoc): Promise<Versioned<BlockDoc>> {
    const kv = await this.backend.create(this.keys.block(cidr), stringify(doc));
    return { key: kv.key, revision: kv.revision, doc };
  }

  async updateBlock(current: Versioned<BlockDoc>, doc: BlockDoc): Promise<Versioned<BlockDoc>> {
    const kv = await this.backend.update(current.key, stringify(doc), current.revision);
    return { key: kv.key, revision: kv.revision, doc };
  }

  async deleteBlock(current: Versioned<BlockDoc>): Promise<void> {
    await this.backend.delete(current.key, current.revision);
  }

  private blockOf(kv: KV): Versioned<BlockDoc> {
    return { key: kv.key, revision: kv.revision, doc: parseBlock(kv.key, kv.value) };
  }

  // --- affinities ---------------------------------------------------------------------

  async listAffinities(node?: string): Promise<AffinityRecord[]> {
    const prefix = node === undefined ? this.keys.hostsPrefix() : this.keys.affinityPrefix(node);
    const { kvs } = await this.backend.list(prefix);
    const out: AffinityRecord[] = [];
    for (const kv of kvs) {
      const parsed = this.keys.parseAffinityKey(kv.key);
      if (!parsed || (node !== undefined && parsed.node !== node)) continue;
      out.push({ key: kv.key, revision: kv.revision, doc: parseAffinity(kv.key, kv.value), ...parsed });
    }
    return out;
  }

  async getAffinity(node: string, cidr: Cidr): Promise<AffinityRecord | undefined> {
    const kv = await this.backend.get(this.keys.affinity(node, cidr));
    return kv && { key: kv.key, revision: kv.revision, doc: parseAffinity(kv.key, kv.value), node, cidr };
  }

  async createAffinity(node: string, cidr: Cidr, doc: AffinityDoc): Promise<AffinityRecord> {
    const kv = await this.backend.create(this.keys.affinity(node, cidr), stringify(doc));
    return { key: kv.key, revision: kv.revision, doc, node, cidr };
  }

  async updateAffinity(current: AffinityRecord, doc: AffinityDoc): Promise<AffinityRecord> {
    const kv = await this.backend.update(current.key, stringify(doc), current.revision);
    return { ...current, revision: kv.revision, doc };
  }

  async deleteAffinity(current: AffinityRecord): Promise<void> {
    await this.backend.delete(current.key, current.revision);
  }

  // --- handles ------------------------------------------------------------------------

  async getHandle(handle: string): Promise<Versioned<HandleDoc> | undefined> {
    const kv = await this.backend.get(this.keys.handle(handle));
    return kv && { key: kv.key, revision: kv.revision, doc: parseHandle(kv.key, kv.value) };
  }

  async listHandles(): Promise<Versioned<HandleDoc>[]> {
    const { kvs } = await this.backend.list(this.keys.handlePrefix());
    return kvs.map((kv) => ({ key: kv.key, revision: kv.revision, doc: parseHandle(kv.key, kv.value) }));
  }

  async createHandle(doc: HandleDoc): Promise<Versioned<HandleDoc>> {
    const kv = await this.backend.create(this.keys.handle(doc.handleID), stringify(doc));
    return { key: kv.key, revision: kv.revision, doc };
  }

  async updateHandle(current: Versioned<HandleDoc>, doc: HandleDoc): Promise<Versioned<HandleDoc>> {
    const kv = await this.backend.update(current.key, stringify(doc), current.revision);
    return { key: kv.key, revision: kv.revision, doc };
  }

  async deleteHandle(current: Versioned<HandleDoc>): Promise<void> {
    await this.backend.delete(current.key, current.revision);
  }

  /**
   * Adds `delta` to `handle`'s count for `block` (CAS, retried on conflict). The record is
   * created on first use and deleted when no block has a count left.
   */
  async adjustHandle(handle: string, block: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await this.withRetries(`update handle ${handle}`, async (attempt) => {
      // A new handle is the common case: try to create it before reading it.
      if (attempt === 1 && delta > 0) {
        try {
          await this.createHandle({ handleID: handle, block: { [block]: delta }, deleted: false });
          return;
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
        }
      }
      const current = await this.getHandle(handle);
      if (!current) {
        if (delta < 0) return;
        await this.createHandle({ handleID: handle, block: { [block]: delta }, deleted: false });
        return;
      }
      const counts = { ...current.doc.block };
      const n = (counts[block] ?? 0) + delta;
      if (n > 0) counts[block] = n;
      else delete counts[block];
      if (Object.keys(counts).length === 0) await this.deleteHandle(current);
      else await this.updateHandle(current, { ...current.doc, block: counts });
    });
  }

  // --- transactions (one round trip, all or nothing) -----------------------------------

  /**
   * Writes `doc` over `current` (CAS on its revision) and creates the record of a new
   * handle (must not exist) in one transaction, so the allocation and its handle appear
   * together or not at all. `ConflictError` names the block or the handle key.
   */
  async commitBlockAndNewHandle(current: Versioned<BlockDoc>, doc: BlockDoc, handle: HandleDoc): Promise<Versioned<BlockDoc>> {
    const res = await this.backend.commit([
      { op: 'update', key: current.key, value: stringify(doc), revision: current.revision },
      { op: 'create', key: this.keys.handle(handle.handleID), value: stringify(handle) },
    ]);
    return { key: current.key, revision: res.revision, doc };
  }

  /**
   * Writes `doc` over `current` and updates each handle record to its new document, or
   * deletes it for `null` (CAS on every key), in one transaction, so a released address
   * and its handle count never disagree.
   */
  async commitBlockAndHandles(
    current: Versioned<BlockDoc>,
    doc: BlockDoc,
    handles: ReadonlyArray<{ current: Versioned<HandleDoc>; doc: HandleDoc | null }>,
  ): Promise<Versioned<BlockDoc>> {
    const res = await this.backend.commit([
      { op: 'update', key: current.key, value: stringify(doc), revision: current.revision },
      ...handles.map((h): TxnOp =>
        h.doc === null
          ? { op: 'delete', key: h.current.key, revision: h.current.revision }
          : { op: 'update', key: h.current.key, value: stringify(h.doc), revision: h.current.revision },
      ),
    ]);
    return { key: current.key, revision: res.revision, doc };
  }

  // --- config -------------------------------------------------------------------------

  async getConfig(): Promise<IpamConfig> {
    const kv = await this.backend.get(this.keys.config());
    return kv ? parseIpamConfig(kv.key, kv.value) : { ...DEFAULT_IPAM_CONFIG };
  }

  async putConfig(config: IpamConfig): Promise<void> {
    await this.withRetries('write IPAM config', async () => {
      const kv = await this.backend.get(this.keys.config());
      if (kv) await this.backend.update(kv.key, stringify(config), kv.revision);
      else await this.backend.create(this.keys.config(), stringify(config));
    });
  }
}
