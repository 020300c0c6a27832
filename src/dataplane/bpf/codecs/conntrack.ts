/**
 * Codecs of bpf/lib/conntrack.h: the `ct` LRU hash's key and value, the state names, and
 * the timeouts the agent's garbage collector applies. Checked against BTF by
 * test/bpf/dataplane-layout.test.ts.
 */
import { defineStruct, type StructValue } from './struct.js';

export const CT_MAP = 'ct';

/** enum ct_state. */
export const CT_STATE = {
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  TIME_WAIT: 5,
  CLOSE: 6,
  UNREPLIED: 7,
  REPLIED: 8,
} as const;
export type CtStateName = keyof typeof CT_STATE;

/** enum ct_flags. */
export const CT_FLAG = { initA: 1 << 0, finA: 1 << 1, finB: 1 << 2 } as const;

const keyFields = [
  { name: 'addr_a', type: 'ipv4', offset: 0 },
  { name: 'addr_b', type: 'ipv4', offset: 4 },
  { name: 'port_a', type: 'be16', offset: 8 },
  { name: 'port_b', type: 'be16', offset: 10 },
  { name: 'proto', type: 'u8', offset: 12 },
  { name: '_pad', type: 'pad', offset: 13, size: 3 },
] as const;

/** struct ct_key: the normalised 5-tuple ((addr_a, port_a) is the lower endpoint). */
export const ctKey = defineStruct({ name: 'ct_key', size: 16, fields: keyFields });
export type CtKey = StructValue<typeof keyFields>;

const valueFields = [
  { name: 'created', type: 'u64', offset: 0 },
  { name: 'last_seen', type: 'u64', offset: 8 },
  { name: 'packets', type: 'u64', offset: 16 },
  { name: 'state', type: 'u8', offset: 24 },
  { name: 'flags', type: 'u8', offset: 25 },
  { name: '_pad', type: 'pad', offset: 26, size: 6 },
] as const;

/** struct ct_value. Times are bpf_ktime_get_ns (CLOCK_MONOTONIC) nanoseconds. */
export const ctValue = defineStruct({ name: 'ct_value', size: 32, fields: valueFields });
export type CtValue = StructValue<typeof valueFields>;

export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export function ctStateName(state: number): CtStateName | `unknown(${number})` {
  return (Object.entries(CT_STATE).find(([, n]) => n === state)?.[0] as CtStateName | undefined) ?? `unknown(${state})`;
}

/** How long an entry may sit idle in each state before the collector removes it (seconds). */
export interface CtTimeouts {
  tcpSyn: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpTimeWait: number;
  tcpClose: number;
  udp: number;
  udpUnreplied: number;
  icmp: number;
  other: number;
}

export const DEFAULT_CT_TIMEOUTS: Readonly<CtTimeouts> = {
  tcpSyn: 20,
  tcpEstablished: 3600,
  tcpFinWait: 300,
  tcpTimeWait: 30,
  tcpClose: 10,
  udp: 60,
  udpUnreplied: 30,
  icmp: 5,
  other: 600,
};

/** The idle timeout (ns) of an entry. */
export function ctTimeoutNs(key: CtKey, value: CtValue, t: Readonly<CtTimeouts> = DEFAULT_CT_TIMEOUTS): bigint {
  let s: number;
  if (key.proto === IPPROTO.TCP) {
    switch (value.state) {
      case CT_STATE.SYN_SENT:
      case CT_STATE.SYN_RECV:
        s = t.tcpSyn;
        break;
      case CT_STATE.ESTABLISHED:
        s = t.tcpEstablished;
        break;
      case CT_STATE.FIN_WAIT:
        s = t.tcpFinWait;
        break;
      case CT_STATE.TIME_WAIT:
        s = t.tcpTimeWait;
        break;
      default:
        s = t.tcpClose;
    }
  } else if (key.proto === IPPROTO.UDP) {
    s = value.state === CT_STATE.REPLIED ? t.udp : t.udpUnreplied;
  } else if (key.proto === IPPROTO.ICMP) {
    s = t.icmp;
  } else {
    s = t.other;
  }
  return BigInt(s) * 1_000_000_000n;
}
