/**
 * Reading the `verdicts` per-CPU array as named counters, summed over CPUs: what the agent
 * exports to Prometheus (`tabby_bpf_packets_total{verdict="drop_l4_truncated"}`) and what
 * `tabby bpf counters` prints.
 */
import { STAT_SLOTS, slotName, verdictCount, verdictSlot } from './codecs/verdicts.js';

export interface VerdictTotal {
  packets: bigint;
  bytes: bigint;
}

/** The part of a per-CPU map this needs (BpfMap.lookupPerCpu). */
export interface PerCpuLookup {
  lookupPerCpu(key: Uint8Array): Buffer[] | null;
}

/** Every known slot (zero or not) and any unknown non-zero slot, by name. */
export function readVerdicts(map: PerCpuLookup): Record<string, VerdictTotal> {
  const out: Record<string, VerdictTotal> = {};
  for (let slot = 0; slot < STAT_SLOTS; slot++) {
    const perCpu = map.lookupPerCpu(verdictSlot.encode({ slot }));
    const total: VerdictTotal = { packets: 0n, bytes: 0n };
    for (const b of perCpu ?? []) {
      const v = verdictCount.decode(b);
      total.packets += v.packets;
      total.bytes += v.bytes;
    }
    const name = slotName(slot);
    if (!name.startsWith('slot_') || total.packets > 0n) out[name] = total;
  }
  return out;
}
