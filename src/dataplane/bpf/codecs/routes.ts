/**
 * Codecs of bpf/lib/routes.h: the `routes` LPM map's key and value, and the conversion
 * between a value and a readable route. Checked against BTF by test/bpf/dataplane-layout.test.ts.
 */
import { defineStruct, type StructValue } from './struct.js';

export const ROUTES_MAP = 'routes';

/** enum route_type. */
export const ROUTE_TYPE = { 'local-workload': 1, remote: 2, host: 3, blackhole: 4 } as const;
export type BpfRouteType = keyof typeof ROUTE_TYPE;

/** enum route_flags. */
export const ROUTE_FLAG = { ipip: 1 << 0, thisNode: 1 << 1 } as const;

const keyFields = [
  { name: 'prefixlen', type: 'u32', offset: 0 },
  { name: 'addr', type: 'ipv4', offset: 4 },
] as const;

/** struct route_key: an LPM key (prefix length in host order, then the address). */
export const routeKey = defineStruct({ name: 'route_key', size: 8, fields: keyFields });
export type RouteKey = StructValue<typeof keyFields>;

const valueFields = [
  { name: 'type', type: 'u32', offset: 0 },
  { name: 'flags', type: 'u32', offset: 4 },
  { name: 'ifindex', type: 'u32', offset: 8 },
  { name: 'next_hop', type: 'ipv4', offset: 12 },
] as const;

/** struct route_value. */
export const routeValue = defineStruct({ name: 'route_value', size: 16, fields: valueFields });
export type RouteValue = StructValue<typeof valueFields>;

/** A route as people read it (CLI, logs). */
export interface BpfRoute {
  dst: string;
  type: BpfRouteType | `unknown(${number})`;
  ifindex?: number;
  nextHop?: string;
  ipip: boolean;
  thisNode: boolean;
}

/** `a.b.c.d/n` -> key; the caller gives a canonical CIDR (host bits zero). */
export function routeKeyOf(cidr: string): RouteKey {
  const [addr, len] = cidr.split('/');
  return { prefixlen: len === undefined ? 32 : Number(len), addr: addr ?? '' };
}

export function describeRoute(key: RouteKey, v: RouteValue): BpfRoute {
  const type = (Object.entries(ROUTE_TYPE).find(([, n]) => n === v.type)?.[0] as BpfRouteType | undefined) ?? (`unknown(${v.type})` as const);
  return {
    dst: `${key.addr}/${key.prefixlen}`,
    type,
    ...(type === 'local-workload' ? { ifindex: v.ifindex } : {}),
    ...(type === 'remote' ? { nextHop: v.next_hop } : {}),
    ipip: (v.flags & ROUTE_FLAG.ipip) !== 0,
    thisNode: (v.flags & ROUTE_FLAG.thisNode) !== 0,
  };
}
