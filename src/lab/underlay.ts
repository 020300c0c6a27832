/**
 * The lab's wires: an underlay namespace holding a bridge, and one namespace per node
 * joined to it by a veth (`eth0` in the node, `ul<i>` on the bridge). Nothing touches the
 * host's namespace, so the lab can never reach (or disturb) the host network; each node's
 * default route points at the bridge address and so ends inside the lab, which is all
 * proxy ARP for 169.254.1.1 needs.
 */
import { mustRun } from './run-command.js';
import type { LabNames } from './names.js';

export interface UnderlayPlan {
  netns: string;
  bridge: string;
  /** Gateway address in CIDR form, e.g. 10.199.0.1/24. */
  gatewayCidr: string;
}

export interface NodeWiring {
  index: number;
  netns: string;
  addressCidr: string;
  gateway: string;
}

async function quietSysctls(netns: string, forward: boolean): Promise<void> {
  // Only the lab's own IPv4 traffic crosses the wires (no IPv6 router solicitations, DAD...).
  const sets = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
  if (forward) sets.push('net.ipv4.ip_forward=1');
  await mustRun(['sysctl', '-qw', ...sets], { netns });
}

export async function createNetns(netns: string, forward: boolean): Promise<void> {
  await mustRun(['ip', 'netns', 'add', netns]);
  await mustRun(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  await quietSysctls(netns, forward);
}

export async function createUnderlay(plan: UnderlayPlan): Promise<void> {
  await createNetns(plan.netns, false);
  const ns = plan.netns;
  await mustRun(['ip', '-n', ns, 'link', 'add', plan.bridge, 'type', 'bridge']);
  await mustRun(['ip', '-n', ns, 'addr', 'add', plan.gatewayCidr, 'dev', plan.bridge]);
  await mustRun(['ip', '-n', ns, 'link', 'set', plan.bridge, 'up']);
}

export async function createNode(names: LabNames, plan: UnderlayPlan, node: NodeWiring): Promise<void> {
  await createNetns(node.netns, true);
  const port = names.underlayPort(node.index);
  await mustRun(['ip', '-n', plan.netns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
  await mustRun(['ip', '-n', plan.netns, 'link', 'set', port, 'master', plan.bridge]);
  await mustRun(['ip', '-n', plan.netns, 'link', 'set', port, 'up']);
  await mustRun(['ip', '-n', node.netns, 'addr', 'add', node.addressCidr, 'dev', 'eth0']);
  await mustRun(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
  await mustRun(['ip', '-n', node.netns, 'route', 'add', 'default', 'via', node.gateway]);
}

/** The n-th host address of a /24-or-larger CIDR's network, e.g. (10.199.0.0/24, 11) -> 10.199.0.11. */
export function hostAddress(cidr: string, n: number): string {
  const [addr, lenText] = cidr.split('/');
  const parts = (addr ?? '').split('.').map(Number);
  const len = Number(lenText);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || !(len >= 8 && len <= 24)) {
    throw new Error(`underlay CIDR '${cidr}' must be IPv4 with a prefix between /8 and /24`);
  }
  const base = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const v = ((base & mask) + n) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}
