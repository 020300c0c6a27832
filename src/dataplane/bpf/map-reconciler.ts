/**
 * Mark and sweep of one BPF map against desired entries (felix's delta tracker, reduced):
 * read what the map holds, write what is missing or differs, and (only when `sweep`)
 * delete what nobody wants. Because it starts from what the pinned map actually holds, a
 * restarted agent adopts its predecessor's entries and touches only what changed.
 */
import type { DataplaneMap } from './kernel.js';

export interface ReconcileResult {
  written: number;
  deleted: number;
  unchanged: number;
  /** Keys (hex) whose write or delete failed, with the error. */
  failed: { key: string; error: unknown }[];
}

/** Every entry: in batches (one syscall per few hundred) where the map supports it. */
export function readEntries(map: DataplaneMap): Iterable<{ key: Buffer; value: Buffer | Buffer[] }> {
  return map.dump ? map.dump().entries : map.entries();
}

/** `desired` maps the hex of each key to its value bytes. */
export function reconcileMap(map: DataplaneMap, desired: ReadonlyMap<string, Buffer>, opts: { sweep: boolean }): ReconcileResult {
  const result: ReconcileResult = { written: 0, deleted: 0, unchanged: 0, failed: [] };
  const actual = new Map<string, Buffer>();
  for (const { key, value } of readEntries(map)) {
    if (Array.isArray(value)) continue; // per-CPU maps are not reconciled
    actual.set(key.toString('hex'), value);
  }
  for (const [hex, value] of desired) {
    const have = actual.get(hex);
    if (have !== undefined && have.equals(value)) {
      result.unchanged += 1;
      continue;
    }
    try {
      map.update(Buffer.from(hex, 'hex'), value);
      result.written += 1;
    } catch (error) {
      result.failed.push({ key: hex, error });
    }
  }
  if (opts.sweep) {
    for (const hex of actual.keys()) {
      if (desired.has(hex)) continue;
      try {
        map.delete(Buffer.from(hex, 'hex'));
        result.deleted += 1;
      } catch (error) {
        result.failed.push({ key: hex, error });
      }
    }
  }
  return result;
}
