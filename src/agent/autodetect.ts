/**
 * Finds the uplink and the node address when they are not configured: the uplink is the
 * interface of the IPv4 default route (read through the injected RouteKernel, no `ip`
 * shell-out), the node address the uplink's first IPv4 address with its prefix length
 * (from the injected interface table, os.networkInterfaces() in production).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import type { RouteKernel } from '../dataplane/legacy/route-kernel.js';
import { AgentError } from './errors.js';

export type InterfaceTable = Record<string, NetworkInterfaceInfo[] | undefined>;

export async function detectUplink(kernel: Pick<RouteKernel, 'listRoutes'>): Promise<string> {
  const routes = await kernel.listRoutes({});
  const dflt = routes.find((r) => r.dst === '0.0.0.0/0' && r.type === 'unicast' && r.ifName);
  if (!dflt?.ifName) {
    throw new AgentError('AGENT_AUTODETECT', 'cannot autodetect the uplink: this node has no IPv4 default route through an interface; pass --uplink <interface> (and --node-ip a.b.c.d/len)');
  }
  return dflt.ifName;
}

export function detectNodeIp(uplink: string, interfaces: InterfaceTable): string {
  const addr = (interfaces[uplink] ?? []).find((a) => a.family === 'IPv4' && !a.internal);
  if (!addr?.cidr) {
    throw new AgentError('AGENT_AUTODETECT', `cannot autodetect the node address: interface ${uplink} has no IPv4 address; pass --node-ip a.b.c.d/len`);
  }
  return addr.cidr;
}
