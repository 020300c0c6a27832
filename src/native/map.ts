import type { RawBinding, RawMapHandle, RawMapInfo } from './binding.js';
import { argumentError, NativeError } from './errors.js';
import { loadBinding } from './loader.js';
import { checkBuffer, checkInt, checkPath, checkSizedBuffer, checkUpdateFlag, type UpdateFlag } from './validate.js';

export interface MapInfo {
  id: number;
  name: string;
  /** libbpf's name, e.g. "percpu_hash". */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  perCpu: boolean;
}

/** A value as the map holds it: one Buffer, or one per possible CPU for per-CPU maps. */
export type MapValue = Buffer | Buffer[];

export interface MapEntry {
  key: Buffer;
  value: MapValue;
}

/**
 * A BPF map, by its own file descriptor: opened from a loaded object (BpfObject.map) or from
 * a pin (BpfMap.openPinned). Keys and values are Buffers of the map's sizes, checked here
 * before the kernel sees them. Per-CPU maps give and take one Buffer per possible CPU.
 */
export class BpfMap {
  readonly info: MapInfo;
  /** Possible CPUs (libbpf_num_possible_cpus): the number of values of a per-CPU entry. */
  readonly cpus: number;
  #handle: RawMapHandle | null;

  constructor(handle: RawMapHandle, cpus: number) {
    const raw: RawMapInfo = handle.info();
    this.info = {
      id: raw.id,
      name: raw.name,
      type: raw.type,
      keySize: raw.keySize,
      valueSize: raw.valueSize,
      maxEntries: raw.maxEntries,
      flags: raw.flags,
      perCpu: raw.perCpu,
    };
    this.cpus = cpus;
    this.#handle = handle;
  }

  /** Opens a map pinned at `path` (bpf_obj_get), e.g. after the process that loaded it exited. */
  static openPinned(path: string, binding: Pick<RawBinding, 'mapOpenPinned' | 'numPossibleCpus'> = loadBinding()): BpfMap {
    checkPath('bpf_obj_get', 'pin path', path);
    return new BpfMap(binding.mapOpenPinned(path), binding.numPossibleCpus());
  }

  get fd(): number {
    return this.#open('fd').fd;
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /** The value of `key`, or null. Not for per-CPU maps: use lookupPerCpu. */
  lookup(key: Uint8Array): Buffer | null {
    const op = 'bpf_map_lookup_elem';
    if (this.info.perCpu) throw argumentError(op, `${this.#name()} is per-CPU: use lookupPerCpu()`);
    return this.#open(op).lookup(this.#key(op, key));
  }

  /** One value per possible CPU for `key`, or null. Only for per-CPU maps. */
  lookupPerCpu(key: Uint8Array): Buffer[] | null {
    const op = 'bpf_map_lookup_elem';
    if (!this.info.perCpu) throw argumentError(op, `${this.#name()} is not per-CPU: use lookup()`);
    const raw = this.#open(op).lookup(this.#key(op, key));
    return raw === null ? null : this.#splitCpus(raw);
  }

  /** Sets `key` to `value` (an array of one value per CPU for per-CPU maps). */
  update(key: Uint8Array, value: MapValue | Uint8Array, opts: { flag?: UpdateFlag } = {}): void {
    const op = 'bpf_map_update_elem';
    const flags = checkUpdateFlag(op, opts.flag);
    const handle = this.#open(op);
    handle.update(this.#key(op, key), this.#value(op, value), { flags });
  }

  /** Removes `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    const op = 'bpf_map_delete_elem';
    return this.#open(op).delete(this.#key(op, key));
  }

  /** Every key (bpf_map_get_next_key). A hash map changed meanwhile may repeat or skip keys. */
  *keys(): Generator<Buffer> {
    const op = 'bpf_map_get_next_key';
    let key = this.#open(op).nextKey(null);
    while (key !== null) {
      yield key;
      key = this.#open(op).nextKey(key);
    }
  }

  /** Every entry, by key iteration and one lookup each. */
  *entries(): Generator<MapEntry> {
    const op = 'bpf_map_lookup_elem';
    for (const key of this.keys()) {
      const raw = this.#open(op).lookup(key);
      if (raw === null) continue; // deleted since the key was read
      yield { key, value: this.info.perCpu ? this.#splitCpus(raw) : raw };
    }
  }

  /**
   * Every entry with BPF_MAP_LOOKUP_BATCH, `batchSize` per syscall. Throws NativeError
   * (op bpf_map_lookup_batch, EINVAL or EOPNOTSUPP) where the map type has no batch ops;
   * dump() falls back to iteration instead.
   */
  lookupBatch(opts: { batchSize?: number } = {}): MapEntry[] {
    const op = 'bpf_map_lookup_batch';
    let count = checkInt(op, 'batchSize', opts.batchSize ?? 256, 1, 1 << 20);
    const out: MapEntry[] = [];
    let token: Buffer | null = null;
    for (;;) {
      let r;
      try {
        r = this.#open(op).lookupBatch(token, { count });
      } catch (err) {
        // A hash bucket holds more entries than `count`: the kernel wants a bigger batch.
        const limit = Math.max(this.info.maxEntries, 1);
        if (err instanceof NativeError && err.code === 'ENOSPC' && count < limit) {
          count = Math.min(count * 2, limit);
          continue;
        }
        throw err;
      }
      const stride = this.#valueBytes();
      for (let i = 0; i < r.count; i++) {
        const key = Buffer.from(r.keys.subarray(i * this.info.keySize, (i + 1) * this.info.keySize));
        const raw = r.values.subarray(i * stride, (i + 1) * stride);
        out.push({ key, value: this.info.perCpu ? this.#splitCpus(raw) : Buffer.from(raw) });
      }
      if (r.done || r.nextBatch === null) return out;
      token = r.nextBatch;
    }
  }

  /** Every entry: batched where the kernel supports it for this map, else iterated. */
  dump(opts: { batchSize?: number } = {}): { entries: MapEntry[]; method: 'batch' | 'iterate' } {
    try {
      return { entries: this.lookupBatch(opts), method: 'batch' };
    } catch (err) {
      if (err instanceof NativeError && err.op === 'bpf_map_lookup_batch' && (err.code === 'EINVAL' || err.code === 'EOPNOTSUPP' || err.code === 'ENOTSUP')) {
        return { entries: [...this.entries()], method: 'iterate' };
      }
      throw err;
    }
  }

  /** Writes all entries in one BPF_MAP_UPDATE_BATCH; returns how many were written. */
  updateBatch(entries: readonly { key: Uint8Array; value: MapValue | Uint8Array }[], opts: { flag?: UpdateFlag } = {}): number {
    const op = 'bpf_map_update_batch';
    const flags = checkUpdateFlag(op, opts.flag);
    if (!Array.isArray(entries) || entries.length === 0) throw argumentError(op, 'updateBatch needs a non-empty array of { key, value }');
    const keys = Buffer.concat(entries.map((e, i) => this.#key(op, e.key, `entries[${i}].key`)));
    const values = Buffer.concat(entries.map((e, i) => this.#value(op, e.value, `entries[${i}].value`)));
    return this.#open(op).updateBatch(keys, values, { flags });
  }

  /** Deletes all keys in one BPF_MAP_DELETE_BATCH; every key must exist (else ENOENT). */
  deleteBatch(keys: readonly Uint8Array[]): number {
    const op = 'bpf_map_delete_batch';
    if (!Array.isArray(keys) || keys.length === 0) throw argumentError(op, 'deleteBatch needs a non-empty array of keys');
    return this.#open(op).deleteBatch(Buffer.concat(keys.map((k, i) => this.#key(op, k, `keys[${i}]`))));
  }

  /** Pins the map at `path` on a bpf filesystem. */
  pin(path: string): void {
    const op = 'bpf_obj_pin';
    this.#open(op).pin(checkPath(op, 'pin path', path));
  }

  /** Closes this handle's fd; the map lives on while pinned or used by programs. */
  close(): void {
    this.#handle?.close();
    this.#handle = null;
  }

  #name(): string {
    return `map '${this.info.name}'`;
  }

  #open(op: string): RawMapHandle {
    if (this.#handle === null) throw argumentError(op, `${this.#name()} is closed`, 'EBADF');
    return this.#handle;
  }

  #key(op: string, key: unknown, what = 'key'): Buffer {
    return checkSizedBuffer(op, `${this.#name()}: ${what}`, key, this.info.keySize);
  }

  #stride(): number {
    return Math.ceil(this.info.valueSize / 8) * 8;
  }

  #valueBytes(): number {
    return this.info.perCpu ? this.#stride() * this.cpus : this.info.valueSize;
  }

  #value(op: string, value: unknown, what = 'value'): Buffer {
    if (!this.info.perCpu) return checkSizedBuffer(op, `${this.#name()}: ${what}`, value, this.info.valueSize);
    if (!Array.isArray(value) || value.length !== this.cpus) {
      throw argumentError(op, `${this.#name()} is per-CPU: ${what} must be an array of ${this.cpus} Buffers (one per possible CPU)`);
    }
    const out = Buffer.alloc(this.#valueBytes());
    value.forEach((v, cpu) => {
      checkSizedBuffer(op, `${this.#name()}: ${what}[${cpu}]`, v, this.info.valueSize).copy(out, cpu * this.#stride());
    });
    return out;
  }

  #splitCpus(raw: Buffer): Buffer[] {
    const stride = this.#stride();
    checkBuffer('bpf_map_lookup_elem', 'per-CPU value', raw, { min: stride * this.cpus });
    return Array.from({ length: this.cpus }, (_, cpu) => Buffer.from(raw.subarray(cpu * stride, cpu * stride + this.info.valueSize)));
  }
}
