/**
 * The real kernel for the agent: netlink routes and veth wiring from the native addon,
 * sysctls through /proc/sys, interface addresses from os.networkInterfaces(). Everything
 * acts on the network namespace the agent process runs in (in the lab: the node's, via
 * `nsenter --net`), so several agents on one machine never touch each other's state.
 * The bpf side: the real probe (BTF, bpffs mounted through the addon when missing, the
 * verifier, a tc round trip on this namespace's `lo`) and the addon-backed BpfKernel.
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log/logger.js';
import { nativeBpfKernel } from '../dataplane/bpf/native-kernel.js';
import { probeBpfSupport } from '../dataplane/bpf/probe.js';
import { NetlinkRouteKernel } from '../dataplane/linux/netlink-route-kernel.js';
import { NetlinkWorkloadWiring } from '../dataplane/linux/netlink-workload-wiring.js';
import { Sysctl } from '../dataplane/linux/sysctl.js';
import { Netlink } from '../native/netlink.js';
import type { AgentPlatform } from './agent.js';

export interface LinuxPlatformOptions {
  logger?: Pick<Logger, 'info'>;
}

export function createLinuxPlatform(opts: LinuxPlatformOptions = {}): AgentPlatform {
  const netlink = new Netlink();
  const sysctl = new Sysctl();
  return {
    routeKernel: new NetlinkRouteKernel({ netlink }),
    wiring: new NetlinkWorkloadWiring({ netlink }),
    // The ipip module registers itself under /sys/module when loaded (or built in).
    hasIpipModule: async () => existsSync('/sys/module/ipip'),
    enableForwarding: async () => {
      if (sysctl.read('net.ipv4.ip_forward') !== '1') {
        sysctl.write('net.ipv4.ip_forward', 1);
        opts.logger?.info({ op: 'sysctl' }, 'set net.ipv4.ip_forward=1');
      }
    },
    interfaces: () => networkInterfaces(),
    bpf: {
      probe: (pinDir) => probeBpfSupport({ pinDir }),
      kernel: () => nativeBpfKernel(),
    },
  };
}
