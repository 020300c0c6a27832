/**
 * What the agent needs from the kernel to give a workload its interface. The netlink
 * implementation lives beside this file; the agent and its tests depend only on this
 * interface (a fake implements it in unit tests).
 */

export interface WorkloadInterfaceSpec {
  /** The workload's network namespace (CNI_NETNS), e.g. /var/run/netns/cni-1234. */
  netnsPath: string;
  /** Interface name inside the workload (CNI_IFNAME), usually eth0. */
  containerIfName: string;
  /** Host side name: `cali` + 11 hex characters of a hash of the workload's identity. */
  hostIfName: string;
  /** The workload's addresses with their prefix, e.g. ["10.65.0.5/32"]. */
  addresses: string[];
  mtu?: number;
}

export interface WiredWorkload {
  hostIfName: string;
  hostIfIndex: number;
  containerIfName: string;
  containerIfIndex: number;
  /** MAC of the container side (reported in the CNI result). */
  containerMac: string;
  /** MAC of the host side: always ee:ee:ee:ee:ee:ee. */
  hostMac: string;
}

export interface HostInterface {
  name: string;
  ifindex: number;
}

export interface WorkloadWiring {
  /**
   * Creates the veth pair and configures both ends: host side `hostIfName`, MAC
   * ee:ee:ee:ee:ee:ee, proxy ARP on, up; container side `containerIfName` in `netnsPath`
   * with each address, a link route to 169.254.1.1 and a default route via it, up.
   * On failure it removes whatever it created and throws a typed error.
   */
  wire(spec: WorkloadInterfaceSpec): Promise<WiredWorkload>;
  /** Deletes the host side (and so the pair). Succeeds when it is already gone. */
  unwire(hostIfName: string): Promise<void>;
  /** Host interfaces whose name starts with `prefix` (e.g. "cali"), for adoption and sweeping after a restart. */
  listHostInterfaces(prefix: string): Promise<HostInterface[]>;
  /** The host interface named `name`, or undefined: one lookup, for the CNI verbs. */
  hostInterface(name: string): Promise<HostInterface | undefined>;
}
