/**
 * IPv4 interface addresses <-> rtnetlink messages (struct ifaddrmsg + IFA_* attributes). Pure.
 */
import { AF_INET, IFA, IFADDRMSG_LEN, RT_SCOPES, type RouteScope } from './netlink-constants.js';
import { attrMap, attrString, ipv4Bytes, ipv4String, readU32, writeU32, type Attr, type NlMessage } from './netlink-codec.js';

export interface Address {
  ifindex: number;
  /** The interface's own address (IFA_LOCAL). */
  address: string;
  prefixLen: number;
  /** `address/prefixLen`. */
  cidr: string;
  scope: RouteScope | number;
  /** IFA_LABEL (the interface name, or name:alias). */
  label?: string;
}

function ifaddrmsg(prefixLen: number, ifindex: number, scope = 0): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = AF_INET;
  b[1] = prefixLen;
  b[2] = 0;
  b[3] = scope;
  writeU32(b, ifindex, 4);
  return b;
}

/** RTM_NEWADDR / RTM_DELADDR body for `address/prefixLen` on `ifindex`. */
export function encodeAddress(ifindex: number, address: string, prefixLen: number): { header: Buffer; attrs: Attr[] } {
  const a = ipv4Bytes(address);
  return {
    header: ifaddrmsg(prefixLen, ifindex),
    // On a broadcast link both are the local address; IFA_ADDRESS would be the peer on a point-to-point link.
    attrs: [
      { type: IFA.LOCAL, value: a },
      { type: IFA.ADDRESS, value: a },
    ],
  };
}

export function encodeAddressDump(): Buffer {
  return ifaddrmsg(0, 0);
}

const SCOPE_BY_NUMBER = new Map<number, RouteScope>(Object.entries(RT_SCOPES).map(([k, v]) => [v, k as RouteScope]));

export function decodeAddress(msg: NlMessage): Address | null {
  const p = msg.payload;
  if (p.length < IFADDRMSG_LEN || p[0] !== AF_INET) return null;
  const prefixLen = p[1] ?? 0;
  const scope = p[3] ?? 0;
  const ifindex = readU32(p, 4);
  const attrs = attrMap(p.subarray(IFADDRMSG_LEN));
  const local = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS);
  if (!local || local.length !== 4) return null;
  const address = ipv4String(local);
  const label = attrs.get(IFA.LABEL);
  return {
    ifindex,
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    scope: SCOPE_BY_NUMBER.get(scope) ?? scope,
    ...(label ? { label: attrString(label) } : {}),
  };
}
