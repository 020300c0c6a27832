/**
 * WorkloadWiring (./workload-wiring.ts) over raw rtnetlink: the veth pair that connects a
 * workload to its node, Calico style.
 *
 *   node namespace                          workload namespace (spec.netnsPath)
 *   caliXXXXXXXXXXX  <───── veth ─────>     eth0  10.65.0.5/32
 *   ee:ee:ee:ee:ee:ee, proxy_arp=1,         169.254.1.1 dev eth0 scope link
 *   proxy_delay=0, forwarding=1, up         default via 169.254.1.1 dev eth0, up
 *
 * The workload sends everything to 169.254.1.1, an address nobody has: the host side answers
 * its ARP by proxy (the node has a route to 169.254.1.1, normally its default route), so every
 * packet lands on the host side and is routed (or redirected by BPF) from there. No address is
 * needed on the host side. The host /32 route to the workload is not made here: routes in the
 * node namespace belong to the route manager (protocol 84), which reconciles them.
 *
 * The peer is created directly inside the workload namespace with its final name
 * (IFLA_NET_NS_FD on the veth peer): it never appears in the node namespace, so two
 * concurrent ADDs cannot collide on a temporary name, and no rename step can half-fail.
 */
import type { Logger } from 'pino';

import { TabbyError } from '../../errors.js';
import { parseIpv4Cidr } from '../../native/netlink-codec.js';
import { Netlink, isErrno } from '../../native/netlink.js';
import { TABBY_ROUTE_PROTOCOL } from '../legacy/route-kernel.js';
import { Sysctl } from './sysctl.js';
import type { HostInterface, WiredWorkload, WorkloadInterfaceSpec, WorkloadWiring } from './workload-wiring.js';

export const HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';
/** The workload's gateway: link-local, owned by nobody, answered by proxy ARP. */
export const WORKLOAD_GATEWAY = '169.254.1.1';

export class WorkloadWiringError extends TabbyError {
  constructor(
    code: 'WIRING_INVALID' | 'WIRING_FAILED' | 'UNWIRE_FAILED',
    /** The step that failed, e.g. "create veth" or "add address 10.65.0.5/32". */
    readonly step: string,
    /** errno of the kernel call that failed, when there was one. */
    readonly errno: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface NetlinkWorkloadWiringOptions {
  /** The node's namespace, where host sides live; default: this process's own (the agent runs inside its node). */
  hostNetns?: string;
  netlink?: Netlink;
  /** Settings of the host namespace (proxy ARP); default: /proc/sys of `hostNetns`. */
  hostSysctl?: Sysctl;
  logger?: Logger;
}

const IFNAME_RE = /^[^/\s]{1,15}$/;

export class NetlinkWorkloadWiring implements WorkloadWiring {
  readonly #nl: Netlink;
  readonly #hostNetns: string | undefined;
  readonly #sysctl: Sysctl;
  readonly #log: Logger | undefined;

  constructor(opts: NetlinkWorkloadWiringOptions = {}) {
    this.#nl = opts.netlink ?? new Netlink();
    this.#hostNetns = opts.hostNetns;
    this.#sysctl = opts.hostSysctl ?? new Sysctl(opts.hostNetns !== undefined ? { netns: opts.hostNetns } : {});
    this.#log = opts.logger;
  }

  async wire(spec: WorkloadInterfaceSpec): Promise<WiredWorkload> {
    checkSpec(spec);
    const host = this.#host();
    const pod = { netns: spec.netnsPath };
    let created = false;
    let step = '';
    try {
      step = 'remove a stale host side';
      // A retried ADD (or a crash between create and answer) leaves the old pair; start clean.
      if (this.#nl.links.delete(spec.hostIfName, host)) {
        this.#log?.info({ op: 'wire', ifName: spec.hostIfName }, 'removed a stale host-side interface before wiring');
      }

      step = `create veth ${spec.hostIfName} <-> ${spec.containerIfName}`;
      // From here on anything named hostIfName is ours (the stale one is gone): roll it back
      // on any failure, even one after the kernel created the pair but before we read it back.
      created = true;
      const pair = this.#nl.links.createVeth(
        {
          name: spec.hostIfName,
          peerName: spec.containerIfName,
          peerNetns: spec.netnsPath,
          mac: HOST_SIDE_MAC,
          ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
        },
        host,
      );

      // Host side: proxy ARP answers the workload's ARP for 169.254.1.1 with our MAC; no
      // delay, or the first packets of a new workload wait up to 0.8 s (proxy_delay). The
      // kernel only proxies what it could forward (an input route lookup from this device), so
      // forwarding is switched on for this interface too, whatever the node-wide default.
      step = `enable proxy ARP on ${spec.hostIfName}`;
      this.#sysctl.write(['net', 'ipv4', 'conf', spec.hostIfName, 'proxy_arp'], 1);
      this.#sysctl.write(['net', 'ipv4', 'neigh', spec.hostIfName, 'proxy_delay'], 0);
      this.#sysctl.write(['net', 'ipv4', 'conf', spec.hostIfName, 'forwarding'], 1);
      step = `set ${spec.hostIfName} up`;
      this.#nl.links.setUp(pair.link.ifindex, true, host);

      // Workload side, all inside its namespace.
      step = `set ${spec.containerIfName} up`;
      this.#nl.links.setUp(pair.peer.ifindex, true, pod);
      for (const cidr of spec.addresses) {
        step = `add address ${cidr} to ${spec.containerIfName}`;
        this.#nl.addresses.add(pair.peer.ifindex, cidr, pod);
      }
      step = `add route ${WORKLOAD_GATEWAY} dev ${spec.containerIfName} scope link`;
      this.#nl.routes.replace({ dst: `${WORKLOAD_GATEWAY}/32`, ifindex: pair.peer.ifindex, scope: 'link', protocol: TABBY_ROUTE_PROTOCOL }, pod);
      step = `add default route via ${WORKLOAD_GATEWAY}`;
      this.#nl.routes.replace({ dst: '0.0.0.0/0', gateway: WORKLOAD_GATEWAY, ifindex: pair.peer.ifindex, protocol: TABBY_ROUTE_PROTOCOL }, pod);

      this.#log?.debug({ op: 'wire', ifName: spec.hostIfName, ifindex: pair.link.ifindex, netns: spec.netnsPath }, 'workload wired');
      return {
        hostIfName: spec.hostIfName,
        hostIfIndex: pair.link.ifindex,
        containerIfName: spec.containerIfName,
        containerIfIndex: pair.peer.ifindex,
        containerMac: pair.peer.mac ?? '',
        hostMac: HOST_SIDE_MAC,
      };
    } catch (err) {
      if (created) this.#rollback(spec.hostIfName);
      const errno = typeof (err as { errno?: unknown }).errno === 'number' ? (err as { errno: number }).errno : undefined;
      throw new WorkloadWiringError(
        'WIRING_FAILED',
        step,
        errno,
        `cannot wire workload interface ${spec.hostIfName} (${spec.containerIfName} in ${spec.netnsPath}): ${step} failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async unwire(hostIfName: string): Promise<void> {
    if (typeof hostIfName !== 'string' || !IFNAME_RE.test(hostIfName)) {
      throw new WorkloadWiringError('WIRING_INVALID', 'validate', 22, `'${String(hostIfName)}' is not a valid interface name (1 to 15 bytes, no '/' or whitespace)`);
    }
    try {
      // Deleting one end of a veth deletes both; already gone is success (DEL is idempotent).
      // Off the event loop: the kernel takes ~15 ms (RCU grace periods) to answer.
      await this.#nl.links.deleteAsync(hostIfName, this.#host());
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      throw new WorkloadWiringError('UNWIRE_FAILED', 'delete host side', errno, `cannot delete workload interface ${hostIfName}: ${(err as Error).message}`, { cause: err });
    }
  }

  async listHostInterfaces(prefix: string): Promise<HostInterface[]> {
    return this.#nl.links
      .list(this.#host())
      .filter((l) => l.name.startsWith(prefix))
      .map((l) => ({ name: l.name, ifindex: l.ifindex }));
  }

  async hostInterface(name: string): Promise<HostInterface | undefined> {
    const l = this.#nl.links.get(name, this.#host());
    return l ? { name: l.name, ifindex: l.ifindex } : undefined;
  }

  #host(): { netns?: string } {
    return this.#hostNetns !== undefined ? { netns: this.#hostNetns } : {};
  }

  #rollback(hostIfName: string): void {
    try {
      this.#nl.links.delete(hostIfName, this.#host());
    } catch (err) {
      if (!isErrno(err, 'ENODEV')) {
        this.#log?.error({ op: 'wire-rollback', ifName: hostIfName, err }, 'rollback could not delete the host-side interface; it will be swept on restart');
      }
    }
  }
}

function checkSpec(spec: WorkloadInterfaceSpec): void {
  const bad = (msg: string): never => {
    throw new WorkloadWiringError('WIRING_INVALID', 'validate', 22, `invalid workload interface spec: ${msg}`);
  };
  if (typeof spec !== 'object' || spec === null) bad('expected { netnsPath, containerIfName, hostIfName, addresses, mtu? }');
  if (typeof spec.netnsPath !== 'string' || !spec.netnsPath.startsWith('/')) bad(`netnsPath must be an absolute path, got '${String(spec.netnsPath)}'`);
  for (const [what, name] of [['hostIfName', spec.hostIfName], ['containerIfName', spec.containerIfName]] as const) {
    if (typeof name !== 'string' || !IFNAME_RE.test(name) || Buffer.byteLength(name) > 15) bad(`${what} '${String(name)}' is not a valid interface name`);
  }
  if (!Array.isArray(spec.addresses)) bad('addresses must be an array of a.b.c.d/len');
  for (const a of spec.addresses) {
    if (typeof a !== 'string' || !a.includes('/') || !isCidr(a)) bad(`address '${String(a)}' is not an IPv4 CIDR a.b.c.d/len (IPv6 is not supported yet)`);
  }
  if (spec.mtu !== undefined && (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)) bad(`mtu must be an integer from 68 to 65535, got ${String(spec.mtu)}`);
}

function isCidr(s: string): boolean {
  try {
    parseIpv4Cidr(s);
    return true;
  } catch {
    return false;
  }
}
