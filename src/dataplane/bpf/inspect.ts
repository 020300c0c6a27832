/**
 * Readable views of the dataplane's maps, for `tabby bpf ...` and debugging: pure functions
 * from raw entries to rows, so the CLI stays thin and these are testable without a kernel.
 */
import { CT_FLAG, ctKey, ctStateName, ctValue, IPPROTO } from './codecs/conntrack.js';
import { describeRoute, routeKey, routeValue, type BpfRoute } from './codecs/routes.js';

type RawEntries = Iterable<{ key: Buffer; value: Buffer | Buffer[] }>;

/** Routes, most specific first within each address. */
export function routeRows(entries: RawEntries): BpfRoute[] {
  const out: BpfRoute[] = [];
  for (const { key, value } of entries) {
    if (!Array.isArray(value)) out.push(describeRoute(routeKey.decode(key), routeValue.decode(value)));
  }
  const num = (dst: string) => {
    const [a = '', len = '0'] = dst.split('/');
    return a.split('.').reduce((n, o) => n * 256 + Number(o), 0) * 64 + Number(len);
  };
  return out.sort((x, y) => num(x.dst) - num(y.dst));
}

export interface CtRow {
  proto: string;
  /** `addr:port` of the side that opened the flow. */
  initiator: string;
  responder: string;
  state: string;
  /** Seconds since the entry was created / last saw a packet (by the given clock). */
  ageSeconds: number;
  idleSeconds: number;
  packets: string;
}

const PROTO_NAMES: Record<number, string> = { [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.ICMP]: 'icmp' };

/** Conntrack entries oriented initiator -> responder; `now` is CLOCK_MONOTONIC ns. */
export function conntrackRows(entries: RawEntries, now: bigint): CtRow[] {
  const out: CtRow[] = [];
  for (const { key, value } of entries) {
    if (Array.isArray(value)) continue;
    const k = ctKey.decode(key);
    const v = ctValue.decode(value);
    const icmp = k.proto === IPPROTO.ICMP;
    const a = icmp ? k.addr_a : `${k.addr_a}:${k.port_a}`;
    const b = icmp ? k.addr_b : `${k.addr_b}:${k.port_b}`;
    const initA = (v.flags & CT_FLAG.initA) !== 0;
    const secs = (t: bigint) => (now > t ? Number((now - t) / 1_000_000n) / 1000 : 0);
    out.push({
      proto: (PROTO_NAMES[k.proto] ?? String(k.proto)) + (icmp ? ` id=${k.port_a}` : ''),
      initiator: initA ? a : b,
      responder: initA ? b : a,
      state: ctStateName(v.state),
      ageSeconds: secs(v.created),
      idleSeconds: secs(v.last_seen),
      packets: String(v.packets),
    });
  }
  return out.sort((x, y) => x.initiator.localeCompare(y.initiator) || x.responder.localeCompare(y.responder));
}
