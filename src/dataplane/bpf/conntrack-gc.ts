/**
 * The conntrack garbage collector: the programs only move states, the agent expires
 * entries. It walks the `ct` map and deletes every entry idle for longer than its state's
 * timeout (codecs/conntrack.ts). Times are CLOCK_MONOTONIC nanoseconds on both sides
 * (bpf_ktime_get_ns; process.hrtime.bigint reads the same clock), and the clock is
 * injected so tests decide what "now" is.
 */
import { ctKey, ctTimeoutNs, ctValue, DEFAULT_CT_TIMEOUTS, type CtKey, type CtTimeouts, type CtValue } from './codecs/conntrack.js';
import type { DataplaneMap } from './kernel.js';
import { readEntries } from './map-reconciler.js';

export interface ConntrackGcResult {
  scanned: number;
  expired: number;
}

export type MonotonicClock = () => bigint;

export const monotonicNs: MonotonicClock = () => process.hrtime.bigint();

export function collectConntrack(map: DataplaneMap, now: bigint, timeouts: Readonly<CtTimeouts> = DEFAULT_CT_TIMEOUTS): ConntrackGcResult {
  let scanned = 0;
  const expired: Buffer[] = [];
  for (const { key, value } of readEntries(map)) {
    if (Array.isArray(value)) continue;
    scanned += 1;
    const k = ctKey.decode(key);
    const v = ctValue.decode(value);
    if (isExpired(k, v, now, timeouts)) expired.push(key);
  }
  let deleted = 0;
  for (const key of expired) if (map.delete(key)) deleted += 1; // a packet may have refreshed it: deleting is still safe, the next packet re-creates it
  return { scanned, expired: deleted };
}

export function isExpired(k: CtKey, v: CtValue, now: bigint, timeouts: Readonly<CtTimeouts> = DEFAULT_CT_TIMEOUTS): boolean {
  return now > v.last_seen && now - v.last_seen > ctTimeoutNs(k, v, timeouts);
}
