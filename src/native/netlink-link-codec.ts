/**
 * Links (interfaces) <-> rtnetlink messages (struct ifinfomsg + IFLA_* attributes). Pure.
 */
import { AF_UNSPEC, IFF, IFINFOMSG_LEN, IFLA, IFLA_INFO, VETH_INFO_PEER } from './netlink-constants.js';
import { attrMap, attrString, encodeAttrs, macBytes, macString, readS32, readU32, s32Bytes, stringBytes, u32Bytes, writeS32, writeU32, type Attr, type NlMessage } from './netlink-codec.js';

export interface Link {
  ifindex: number;
  name: string;
  /** Hardware address, lower case; null for links without one (lo has 00:00:…). */
  mac: string | null;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** All IFF_* flags. */
  flags: number;
  mtu: number;
  /** IFLA_INFO_KIND ("veth", "bridge", ...); null for devices without one (lo, physical NICs). */
  kind: string | null;
  /** IFLA_LINK: for a veth, its peer's ifindex (in the peer's namespace). */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID: the peer lives in another namespace with this id (as seen from here). */
  linkNetnsId?: number;
  /** Bridge or bond this link is enslaved to. */
  masterIndex?: number;
}

/** struct ifinfomsg. */
export function ifinfomsg(f: { ifindex?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b[0] = AF_UNSPEC;
  writeS32(b, f.ifindex ?? 0, 4);
  writeU32(b, f.flags ?? 0, 8);
  writeU32(b, f.change ?? 0, 12);
  return b;
}

export interface VethSpec {
  name: string;
  peerName: string;
  /** An open fd of the namespace the peer is created in (IFLA_NET_NS_FD on the peer). */
  peerNetnsFd?: number;
  mac?: string;
  peerMac?: string;
  mtu?: number;
}

/** RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) body creating a veth pair. */
export function encodeVethCreate(spec: VethSpec): { header: Buffer; attrs: Attr[] } {
  const peerAttrs: Attr[] = [{ type: IFLA.IFNAME, value: stringBytes(spec.peerName) }];
  if (spec.peerNetnsFd !== undefined) peerAttrs.push({ type: IFLA.NET_NS_FD, value: s32Bytes(spec.peerNetnsFd) });
  if (spec.peerMac !== undefined) peerAttrs.push({ type: IFLA.ADDRESS, value: macBytes(spec.peerMac) });
  if (spec.mtu !== undefined) peerAttrs.push({ type: IFLA.MTU, value: u32Bytes(spec.mtu) });
  // VETH_INFO_PEER carries a whole struct ifinfomsg followed by the peer's own attributes.
  const peer = Buffer.concat([ifinfomsg(), encodeAttrs(peerAttrs)]);
  const attrs: Attr[] = [{ type: IFLA.IFNAME, value: stringBytes(spec.name) }];
  if (spec.mac !== undefined) attrs.push({ type: IFLA.ADDRESS, value: macBytes(spec.mac) });
  if (spec.mtu !== undefined) attrs.push({ type: IFLA.MTU, value: u32Bytes(spec.mtu) });
  attrs.push({
    type: IFLA.LINKINFO,
    value: [
      { type: IFLA_INFO.KIND, value: stringBytes('veth') },
      { type: IFLA_INFO.DATA, value: [{ type: VETH_INFO_PEER, value: peer }] },
    ],
  });
  return { header: ifinfomsg(), attrs };
}

/** What to change on an existing link (RTM_SETLINK). */
export interface LinkChange {
  up?: boolean;
  mac?: string;
  mtu?: number;
  /** New name. */
  name?: string;
  /** Move to the namespace of this open fd. */
  netnsFd?: number;
}

/**
 * RTM_SETLINK body. The link is found by ifindex, or by `byName` when ifindex is 0 (then
 * `change.name` cannot be used: the kernel reads IFLA_IFNAME as the lookup key).
 */
export function encodeLinkSet(target: { ifindex: number; byName?: string }, change: LinkChange): { header: Buffer; attrs: Attr[] } {
  const header = ifinfomsg({
    ifindex: target.ifindex,
    flags: change.up ? IFF.UP : 0,
    change: change.up !== undefined ? IFF.UP : 0,
  });
  const attrs: Attr[] = [];
  if (target.ifindex === 0 && target.byName !== undefined) attrs.push({ type: IFLA.IFNAME, value: stringBytes(target.byName) });
  if (change.name !== undefined) attrs.push({ type: IFLA.IFNAME, value: stringBytes(change.name) });
  if (change.mac !== undefined) attrs.push({ type: IFLA.ADDRESS, value: macBytes(change.mac) });
  if (change.mtu !== undefined) attrs.push({ type: IFLA.MTU, value: u32Bytes(change.mtu) });
  if (change.netnsFd !== undefined) attrs.push({ type: IFLA.NET_NS_FD, value: s32Bytes(change.netnsFd) });
  return { header, attrs };
}

/** RTM_GETLINK / RTM_DELLINK body naming one link by index or by name. */
export function encodeLinkRef(target: { ifindex: number; byName?: string }): { header: Buffer; attrs: Attr[] } {
  const attrs: Attr[] = target.ifindex === 0 && target.byName !== undefined ? [{ type: IFLA.IFNAME, value: stringBytes(target.byName) }] : [];
  return { header: ifinfomsg({ ifindex: target.ifindex }), attrs };
}

/** An RTM_NEWLINK message as a Link; null when too short to be one. */
export function decodeLink(msg: NlMessage): Link | null {
  const p = msg.payload;
  if (p.length < IFINFOMSG_LEN) return null;
  const ifindex = readS32(p, 4);
  const flags = readU32(p, 8);
  const attrs = attrMap(p.subarray(IFINFOMSG_LEN));
  const name = attrs.get(IFLA.IFNAME);
  const addr = attrs.get(IFLA.ADDRESS);
  const mtu = attrs.get(IFLA.MTU);
  let kind: string | null = null;
  const info = attrs.get(IFLA.LINKINFO);
  if (info) {
    const k = attrMap(info).get(IFLA_INFO.KIND);
    if (k) kind = attrString(k);
  }
  const link: Link = {
    ifindex,
    name: name ? attrString(name) : '',
    mac: addr && addr.length === 6 ? macString(addr) : null,
    up: (flags & IFF.UP) !== 0,
    lowerUp: (flags & IFF.LOWER_UP) !== 0,
    flags,
    mtu: mtu && mtu.length >= 4 ? readU32(mtu) : 0,
    kind,
  };
  const parent = attrs.get(IFLA.LINK);
  if (parent && parent.length >= 4) link.parentIndex = readS32(parent);
  const nsid = attrs.get(IFLA.LINK_NETNSID);
  if (nsid && nsid.length >= 4) link.linkNetnsId = readS32(nsid);
  const master = attrs.get(IFLA.MASTER);
  if (master && master.length >= 4) link.masterIndex = readU32(master);
  return link;
}
