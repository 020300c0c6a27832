/**
 * A Map from PrefixId to V, sized for full tables. An IPv4 PrefixId (address * 64 +
 * length) is a heap number, 16 bytes per key on 64-bit Node; here IPv4 prefixes go into
 * one Map per prefix length keyed by the address as a signed 32-bit integer, which V8
 * keeps inline as a small integer. IPv6 prefixes stay keyed by their text.
 */
import type { PrefixId } from './prefix-key.js';

export class PrefixMap<V> {
  /** Indexed by prefix length, 0-32, all slots present (a read past the end would deoptimize the readers). */
  readonly #v4: Array<Map<number, V> | undefined> = new Array<Map<number, V> | undefined>(33).fill(undefined);
  readonly #v6 = new Map<string, V>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: PrefixId): V | undefined {
    if (typeof id === 'string') return this.#v6.get(id);
    const length = id % 64;
    return this.#v4[length]?.get(((id - length) / 64) | 0);
  }

  has(id: PrefixId): boolean {
    return this.get(id) !== undefined;
  }

  set(id: PrefixId, value: V): this {
    const m = this.#mapFor(id, true)!;
    const key = typeof id === 'string' ? id : ((id - (id % 64)) / 64) | 0;
    const n = m.size;
    (m as Map<number | string, V>).set(key, value);
    this.#size += m.size - n;
    return this;
  }

  delete(id: PrefixId): boolean {
    const m = this.#mapFor(id, false);
    if (!m) return false;
    const key = typeof id === 'string' ? id : ((id - (id % 64)) / 64) | 0;
    if (!(m as Map<number | string, V>).delete(key)) return false;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#v4.fill(undefined);
    this.#v6.clear();
    this.#size = 0;
  }

  /** Entries by family and prefix length, then insertion order. Deleting during iteration is safe. */
  *entries(): Generator<[PrefixId, V]> {
    for (let length = 0; length < this.#v4.length; length++) {
      const m = this.#v4[length];
      if (!m) continue;
      for (const [key, v] of m) yield [(key >>> 0) * 64 + length, v];
    }
    yield* this.#v6.entries();
  }

  keys(): Generator<PrefixId> {
    return mapGen(this.entries(), (e) => e[0]);
  }

  [Symbol.iterator](): Generator<[PrefixId, V]> {
    return this.entries();
  }

  #mapFor(id: PrefixId, create: boolean): Map<number, V> | Map<string, V> | undefined {
    if (typeof id === 'string') return this.#v6;
    const length = id % 64;
    let m = this.#v4[length];
    if (!m && create) this.#v4[length] = m = new Map();
    return m;
  }
}

function* mapGen<T, U>(it: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of it) yield f(x);
}
