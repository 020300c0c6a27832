/**
 * Links over raw rtnetlink: list, get, veth pairs (peer made directly in its namespace),
 * up/down, MAC, MTU, rename, move to a namespace, delete. Every call takes `{ netns }`.
 */
import type { NetnsOptions } from './interfaces.js';
import { NativeError, argumentError } from './errors.js';
import { NLM_F, RTM } from './netlink-constants.js';
import { isMac } from './netlink-codec.js';
import { decodeLink, encodeLinkRef, encodeLinkSet, encodeVethCreate, ifinfomsg, type Link, type LinkChange } from './netlink-link-codec.js';
import { withNetnsFd } from './netlink-netns-fd.js';
import { NetlinkSocket, isErrno, type NetlinkCall, type NetlinkRequest } from './netlink-socket.js';
import { checkIfName, checkInt, checkNetns } from './validate.js';

export type { Link } from './netlink-link-codec.js';

/** A link by name or by ifindex (in the namespace of the call). */
export type LinkRef = string | number;

export interface CreateVethOptions {
  /** This end's name, in the namespace of the call. */
  name: string;
  /** The other end's name, in `peerNetns` (or the same namespace). */
  peerName: string;
  /** Create the peer directly in this namespace (/run/netns/NAME or /proc/PID/ns/net). */
  peerNetns?: string;
  mac?: string;
  peerMac?: string;
  /** Both ends. */
  mtu?: number;
}

export interface VethPair {
  link: Link;
  peer: Link;
}

const LINK_HINTS = {
  ENODEV: 'no such interface: check the name with `ip link` (in that namespace)',
  EEXIST: 'an interface with that name already exists there: delete it or pick another name',
  EBUSY: 'the interface is up (kernels before 6.2 rename only interfaces that are down): set it down first',
};

function describeRef(ref: LinkRef): string {
  return typeof ref === 'number' ? `interface #${ref}` : `interface ${ref}`;
}

export class NetlinkLinks {
  readonly #socket: NetlinkSocket;

  constructor(socket: NetlinkSocket = new NetlinkSocket()) {
    this.#socket = socket;
  }

  /** Every link in the namespace. */
  list(opts: NetnsOptions = {}): Link[] {
    const op = 'RTM_GETLINK';
    const netns = checkNetns(op, opts.netns);
    const replies = this.#socket.request({ type: RTM.GETLINK, flags: NLM_F.DUMP, header: ifinfomsg() }, { op, what: 'list links', netns });
    const out: Link[] = [];
    for (const m of replies) {
      if (m.type !== RTM.NEWLINK) continue;
      const l = decodeLink(m);
      if (l) out.push(l);
    }
    return out;
  }

  /** One link, or null when there is none by that name/index. */
  get(ref: LinkRef, opts: NetnsOptions = {}): Link | null {
    const op = 'RTM_GETLINK';
    const target = this.#ref(op, ref);
    const netns = checkNetns(op, opts.netns);
    try {
      const body = encodeLinkRef(target);
      const replies = this.#socket.request({ type: RTM.GETLINK, flags: 0, ...body }, { op, what: `get ${describeRef(ref)}`, netns, hints: LINK_HINTS });
      for (const m of replies) if (m.type === RTM.NEWLINK) return decodeLink(m);
      return null;
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return null;
      throw err;
    }
  }

  /** Like get, but a missing link is an error (ENODEV). */
  require(ref: LinkRef, opts: NetnsOptions = {}): Link {
    const l = this.get(ref, opts);
    if (l === null) {
      const where = opts.netns ? ` in network namespace ${opts.netns}` : '';
      throw new NativeError('RTM_GETLINK', 19, `${describeRef(ref)} does not exist${where}; ${LINK_HINTS.ENODEV}`);
    }
    return l;
  }

  /** Creates a veth pair; the peer is born in `peerNetns` when given (never visible here). */
  createVeth(spec: CreateVethOptions, opts: NetnsOptions = {}): VethPair {
    const op = 'RTM_NEWLINK';
    if (typeof spec !== 'object' || spec === null) throw argumentError(op, 'createVeth needs { name, peerName, peerNetns?, mac?, peerMac?, mtu? }');
    const name = checkIfName(op, spec.name);
    const peerName = checkIfName(op, spec.peerName);
    const netns = checkNetns(op, opts.netns);
    const peerNetns = checkNetns(op, spec.peerNetns);
    if (spec.mac !== undefined) checkMac(op, spec.mac);
    if (spec.peerMac !== undefined) checkMac(op, spec.peerMac);
    if (spec.mtu !== undefined) checkInt(op, 'mtu', spec.mtu, 68, 65535);
    if (peerNetns === undefined && name === peerName) throw argumentError(op, `both ends of a veth in one namespace need different names, got '${name}' twice`);
    const what = `create veth ${name} <-> ${peerName}${peerNetns ? ` (in ${peerNetns})` : ''}`;
    const create = (peerNetnsFd?: number): void => {
      const body = encodeVethCreate({
        name,
        peerName,
        ...(peerNetnsFd !== undefined ? { peerNetnsFd } : {}),
        ...(spec.mac !== undefined ? { mac: spec.mac } : {}),
        ...(spec.peerMac !== undefined ? { peerMac: spec.peerMac } : {}),
        ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      });
      this.#socket.request(
        { type: RTM.NEWLINK, flags: NLM_F.CREATE | NLM_F.EXCL, ...body },
        { op, what, netns, hints: { ...LINK_HINTS, EOPNOTSUPP: 'the kernel has no veth support (modprobe veth)' } },
      );
    };
    if (peerNetns !== undefined) withNetnsFd(op, peerNetns, create);
    else create();
    const link = this.require(name, netns ? { netns } : {});
    const peer = this.require(peerName, peerNetns ? { netns: peerNetns } : netns ? { netns } : {});
    return { link, peer };
  }

  setUp(ref: LinkRef, up: boolean, opts: NetnsOptions = {}): void {
    if (typeof up !== 'boolean') throw argumentError('RTM_SETLINK', `up must be a boolean, got ${typeof up}`);
    this.#set(ref, { up }, `set ${describeRef(ref)} ${up ? 'up' : 'down'}`, opts);
  }

  setMac(ref: LinkRef, mac: string, opts: NetnsOptions = {}): void {
    checkMac('RTM_SETLINK', mac);
    this.#set(ref, { mac }, `set the MAC of ${describeRef(ref)} to ${mac}`, opts);
  }

  setMtu(ref: LinkRef, mtu: number, opts: NetnsOptions = {}): void {
    checkInt('RTM_SETLINK', 'mtu', mtu, 68, 65535);
    this.#set(ref, { mtu }, `set the MTU of ${describeRef(ref)} to ${mtu}`, opts);
  }

  /** Renames a link. Kernels before 6.2 refuse to rename a running one (EBUSY): set it down first. */
  rename(ref: LinkRef, newName: string, opts: NetnsOptions = {}): void {
    const op = 'RTM_SETLINK';
    const name = checkIfName(op, newName);
    const ifindex = typeof ref === 'number' ? this.#ref(op, ref).ifindex : this.require(ref, opts).ifindex;
    this.#set(ifindex, { name }, `rename ${describeRef(ref)} to ${name}`, opts);
  }

  /** Moves a link to another namespace (by path, or an fd the caller holds). It arrives down. */
  moveToNetns(ref: LinkRef, target: string | { fd: number }, opts: NetnsOptions = {}): void {
    const op = 'RTM_SETLINK';
    if (typeof target === 'object' && target !== null) {
      checkInt(op, 'netns fd', target.fd, 0, 0x7fffffff);
      this.#set(ref, { netnsFd: target.fd }, `move ${describeRef(ref)} to namespace fd ${target.fd}`, opts);
      return;
    }
    const path = checkNetns(op, target);
    if (path === undefined) throw argumentError(op, 'moveToNetns needs a namespace path or { fd }');
    withNetnsFd(op, path, (fd) => this.#set(ref, { netnsFd: fd }, `move ${describeRef(ref)} to ${path}`, opts));
  }

  /** Deletes a link (a veth takes its peer with it); false when it was already gone. */
  delete(ref: LinkRef, opts: NetnsOptions = {}): boolean {
    const { req, call } = this.#deleteRequest(ref, opts);
    try {
      this.#socket.request(req, call);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return false;
      throw err;
    }
  }

  /**
   * `delete` off the event loop: removing a veth waits for the kernel's RCU grace periods
   * (~15 ms), during which the agent keeps serving other requests.
   */
  async deleteAsync(ref: LinkRef, opts: NetnsOptions = {}): Promise<boolean> {
    const { req, call } = this.#deleteRequest(ref, opts);
    try {
      await this.#socket.requestAsync(req, call);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENODEV')) return false;
      throw err;
    }
  }

  #deleteRequest(ref: LinkRef, opts: NetnsOptions): { req: NetlinkRequest; call: NetlinkCall } {
    const op = 'RTM_DELLINK';
    const target = this.#ref(op, ref);
    const netns = checkNetns(op, opts.netns);
    return { req: { type: RTM.DELLINK, flags: 0, ...encodeLinkRef(target) }, call: { op, what: `delete ${describeRef(ref)}`, netns, hints: LINK_HINTS } };
  }

  #set(ref: LinkRef, change: LinkChange, what: string, opts: NetnsOptions): void {
    const op = 'RTM_SETLINK';
    const target = this.#ref(op, ref);
    const netns = checkNetns(op, opts.netns);
    this.#socket.request({ type: RTM.SETLINK, flags: 0, ...encodeLinkSet(target, change) }, { op, what, netns, hints: LINK_HINTS });
  }

  #ref(op: string, ref: LinkRef): { ifindex: number; byName?: string } {
    if (typeof ref === 'number') return { ifindex: checkInt(op, 'ifindex', ref, 1, 0x7fffffff) };
    return { ifindex: 0, byName: checkIfName(op, ref) };
  }
}

function checkMac(op: string, mac: unknown): string {
  if (typeof mac !== 'string' || !isMac(mac)) throw argumentError(op, `'${String(mac)}' is not a MAC address (want aa:bb:cc:dd:ee:ff)`);
  if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0) throw argumentError(op, `${mac} is a multicast address and cannot be an interface's MAC`);
  return mac;
}
