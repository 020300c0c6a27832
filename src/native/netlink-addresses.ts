/**
 * IPv4 interface addresses over raw rtnetlink: add (idempotent), list, delete. Every call
 * takes `{ netns }`.
 */
import { argumentError } from './errors.js';
import type { NetnsOptions } from './interfaces.js';
import { decodeAddress, encodeAddress, encodeAddressDump, type Address } from './netlink-addr-codec.js';
import { NLM_F, RTM } from './netlink-constants.js';
import { parseIpv4Cidr, type Ipv4Cidr } from './netlink-codec.js';
import { NetlinkLinks, type LinkRef } from './netlink-links.js';
import { NetlinkSocket, isErrno } from './netlink-socket.js';
import { checkInt, checkNetns } from './validate.js';

export type { Address } from './netlink-addr-codec.js';

const ADDR_HINTS = {
  ENODEV: 'no such interface: check the name with `ip link` (in that namespace)',
  EADDRNOTAVAIL: 'the interface does not have that address',
};

export class NetlinkAddresses {
  readonly #socket: NetlinkSocket;
  readonly #links: NetlinkLinks;

  constructor(socket: NetlinkSocket = new NetlinkSocket(), links: NetlinkLinks = new NetlinkLinks(socket)) {
    this.#socket = socket;
    this.#links = links;
  }

  /** IPv4 addresses, of one link when `link` is given. */
  list(opts: NetnsOptions & { link?: LinkRef } = {}): Address[] {
    const op = 'RTM_GETADDR';
    const netns = checkNetns(op, opts.netns);
    const ifindex = opts.link === undefined ? undefined : this.#index(opts.link, netns);
    const replies = this.#socket.request({ type: RTM.GETADDR, flags: NLM_F.DUMP, header: encodeAddressDump() }, { op, what: 'list addresses', netns });
    const out: Address[] = [];
    for (const m of replies) {
      if (m.type !== RTM.NEWADDR) continue;
      const a = decodeAddress(m);
      if (a && (ifindex === undefined || a.ifindex === ifindex)) out.push(a);
    }
    return out;
  }

  /** Adds `a.b.c.d/len` to the link; adding an address it already has succeeds (NLM_F_REPLACE). */
  add(link: LinkRef, cidr: string, opts: NetnsOptions = {}): void {
    const op = 'RTM_NEWADDR';
    const c = checkCidr(op, cidr);
    const netns = checkNetns(op, opts.netns);
    const ifindex = this.#index(link, netns);
    this.#socket.request(
      { type: RTM.NEWADDR, flags: NLM_F.CREATE | NLM_F.REPLACE, ...encodeAddress(ifindex, c.address, c.prefixLen) },
      { op, what: `add address ${cidr} to ${String(link)}`, netns, hints: ADDR_HINTS },
    );
  }

  /** Removes the address; false when the link did not have it (or is gone). */
  delete(link: LinkRef, cidr: string, opts: NetnsOptions = {}): boolean {
    const op = 'RTM_DELADDR';
    const c = checkCidr(op, cidr);
    const netns = checkNetns(op, opts.netns);
    let ifindex: number;
    try {
      ifindex = this.#index(link, netns);
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return false;
      throw err;
    }
    try {
      this.#socket.request({ type: RTM.DELADDR, flags: 0, ...encodeAddress(ifindex, c.address, c.prefixLen) }, { op, what: `delete address ${cidr} from ${String(link)}`, netns, hints: ADDR_HINTS });
      return true;
    } catch (err) {
      if (isErrno(err, 'EADDRNOTAVAIL') || isErrno(err, 'ENODEV')) return false;
      throw err;
    }
  }

  #index(link: LinkRef, netns: string | undefined): number {
    if (typeof link === 'number') return checkInt('RTM_NEWADDR', 'ifindex', link, 1, 0x7fffffff);
    return this.#links.require(link, netns ? { netns } : {}).ifindex;
  }
}

function checkCidr(op: string, cidr: unknown): Ipv4Cidr {
  if (typeof cidr !== 'string' || !cidr.includes('/')) throw argumentError(op, `address must be a.b.c.d/len, got '${String(cidr)}'`);
  try {
    return parseIpv4Cidr(cidr);
  } catch (err) {
    throw argumentError(op, (err as Error).message);
  }
}
