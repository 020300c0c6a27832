/**
 * Codecs of bpf/lib/verdicts.h: the `verdicts` per-CPU array (one slot per outcome and per
 * drop reason, bpf/lib/drop.h) and the stable names the agent exports them under.
 */
import { CodecError, defineStruct, type StructValue } from './struct.js';

export const VERDICTS_MAP = 'verdicts';

const fields = [
  { name: 'packets', type: 'u64', offset: 0 },
  { name: 'bytes', type: 'u64', offset: 8 },
] as const;

/** struct verdict_count: one CPU's count of one slot. */
export const verdictCount = defineStruct({ name: 'verdict_count', size: 16, fields });
export type VerdictCount = StructValue<typeof fields>;

/** The array's key is a bare __u32 slot. */
export const verdictSlot = defineStruct({ name: 'verdict_slot', size: 4, fields: [{ name: 'slot', type: 'u32', offset: 0 }] as const });

/** enum verdict_stat: outcomes (STAT_DECAP and STAT_CT_NEW are events counted besides the outcome). */
export const OUTCOME_SLOTS: Readonly<Record<number, string>> = {
  0: 'pass',
  1: 'pass_host',
  2: 'pass_ttl',
  3: 'redirect_local',
  4: 'redirect_remote',
  5: 'redirect_ipip',
  6: 'decap',
  7: 'ct_new',
  8: 'uplink_out',
  9: 'delivered',
  10: 'host_ipip',
};

/** enum tabby_drop_reason (negative in C), by |reason|. */
export const DROP_REASONS: Readonly<Record<number, string>> = {
  1: 'malformed',
  2: 'proto_blocked',
  3: 'ip_header',
  4: 'ip_truncated',
  5: 'l4_truncated',
  6: 'blackhole',
  7: 'encap_failed',
  8: 'decap_failed',
  9: 'ipip_source',
  10: 'ipip_fragment',
  11: 'policy',
  12: 'rewrite_failed',
};

export const STAT_DROP_BASE = 32;
export const STAT_SLOTS = 64;

/** The slot's name: an outcome, `drop_<reason>`, or `slot_<n>` for a number this build does not know. */
export function slotName(slot: number): string {
  if (slot >= STAT_DROP_BASE) {
    const reason = DROP_REASONS[slot - STAT_DROP_BASE];
    return reason ? `drop_${reason}` : `slot_${slot}`;
  }
  return OUTCOME_SLOTS[slot] ?? `slot_${slot}`;
}

/** The slot of drop reason `name` (e.g. 'l4_truncated'). */
export function dropSlot(name: string): number {
  const e = Object.entries(DROP_REASONS).find(([, n]) => n === name);
  if (!e) throw new CodecError(`unknown drop reason '${name}'; known: ${Object.values(DROP_REASONS).join(', ')}`);
  return STAT_DROP_BASE + Number(e[0]);
}
