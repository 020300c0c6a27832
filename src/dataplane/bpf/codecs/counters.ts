/**
 * Codecs of bpf/lib/counters.h: the `counters` map's key and value. Kept identical to the C
 * structs by test/bpf/btf-layout.test.ts, which reads them from build/bpf/counters.bpf.o.
 */
import { defineStruct, type StructValue } from './struct.js';

/** enum tabby_dir in bpf/lib/common.h. */
export const DIRECTION = { ingress: 0, egress: 1 } as const;
export type DirectionName = keyof typeof DIRECTION;

const keyFields = [
  { name: 'ifindex', type: 'u32', offset: 0 },
  { name: 'direction', type: 'u8', offset: 4 },
  { name: '_pad', type: 'pad', offset: 5, size: 3 },
] as const;

/** struct counter_key: (interface, direction). */
export const counterKey = defineStruct({ name: 'counter_key', size: 8, fields: keyFields });
export type CounterKey = StructValue<typeof keyFields>;

const valueFields = [
  { name: 'packets', type: 'u64', offset: 0 },
  { name: 'bytes', type: 'u64', offset: 8 },
  { name: 'dropped', type: 'u64', offset: 16 },
  { name: 'malformed', type: 'u64', offset: 24 },
] as const;

/** struct counter_value: one CPU's counts. */
export const counterValue = defineStruct({ name: 'counter_value', size: 32, fields: valueFields });
export type CounterValue = StructValue<typeof valueFields>;

/** The map's name in the object and under its pin directory. */
export const COUNTERS_MAP = 'counters';

/** Adds up the per-CPU values of one key. */
export function sumCounters(perCpu: readonly CounterValue[]): CounterValue {
  const total: CounterValue = { packets: 0n, bytes: 0n, dropped: 0n, malformed: 0n };
  for (const v of perCpu) {
    total.packets += v.packets;
    total.bytes += v.bytes;
    total.dropped += v.dropped;
    total.malformed += v.malformed;
  }
  return total;
}
