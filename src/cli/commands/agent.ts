import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { CLUSTER_ROUTES_CHOICES, DATAPLANE_CHOICES, DEFAULT_BGP_SECRETS_DIR, DEFAULT_BGP_WARM_UP, DEFAULT_HTTP_LISTEN, SETTING_NAMES, resolveAgentSettings, type SettingName } from '../../agent/config.js';
import { createLinuxPlatform } from '../../agent/linux-platform.js';
import { DEFAULT_AGENT_SOCKET } from '../../cni/netconf.js';
import { openBackend, resolveDatastoreConfig } from '../../datastore/config.js';
import { DEFAULT_POOL_CIDR } from '../../ipam/pools.js';
import { createLogger } from '../../log/logger.js';
import { addDatastoreOptions, datastoreFlags, type DatastoreOptionValues } from '../datastore-options.js';

interface AgentOptionValues extends Partial<Record<SettingName, string>>, DatastoreOptionValues {
  configFile?: string;
}

export function agentCommand(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run the node agent: CNI server, IPAM, datastore sync and the dataplane of this node')
    .option('--config-file <file>', 'YAML file of agent settings (keys as the flags: nodeName or node-name, ...)')
    .option('--node-name <name>', 'this node\'s name (default: the hostname)')
    .option('--dataplane <mode>', `dataplane: ${DATAPLANE_CHOICES.join('|')} (default auto)`)
    .option('--state-dir <dir>', 'state directory (default /var/lib/tabby/<node>)')
    .option('--pin-dir <dir>', 'bpffs pin directory (default /sys/fs/bpf/tabby/<node>, dots as _)')
    .option('--cni-socket <path>', `the CNI socket the plugin talks to (default ${DEFAULT_AGENT_SOCKET})`)
    .option('--http-listen <host:port>', `/livez, /readyz and /metrics (default ${DEFAULT_HTTP_LISTEN})`)
    .option('--uplink <iface>', 'the node\'s uplink interface (default: the default route\'s)')
    .option('--node-ip <cidr>', 'the node\'s address with prefix, e.g. 10.0.0.2/24 (default: the uplink\'s first)')
    .option('--default-pool-cidr <cidr>', `pool created when none exists (default ${DEFAULT_POOL_CIDR})`)
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (default info)')
    .option('--bgp <mode>', 'enabled|disabled: run the BGP speaker on the node address (default enabled)')
    .option('--bgp-warm-up <prefixes>', `prefixes of a synthetic table run through the learned-route path before BGP starts, so the first real table meets compiled code; 0: none (default ${DEFAULT_BGP_WARM_UP})`)
    .option('--bgp-secrets-dir <dir>', `BGP passwords (BGPPeer password, nodeMeshPassword): file <dir>/<secret name>/<key>, as a mounted Kubernetes Secret (default ${DEFAULT_BGP_SECRETS_DIR})`)
    .option('--cluster-routes <source>', `${CLUSTER_ROUTES_CHOICES.join('|')}: routes to other nodes' blocks from block affinities or from what BGP learned (default datastore)`)
    .addHelpText(
      'after',
      `\nEvery setting can also come from the environment (${SETTING_NAMES.slice(0, 2).map((n) => `TABBY_${n.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).join(', ')}, ...)\nor the --config-file; flags win over the environment, which wins over the file.\n\nExample:\n  tabby agent --node-name node1 --etcd-endpoints http://10.0.0.1:2379 --cni-socket /run/tabby/node1/cni.sock\n`,
    );
  addDatastoreOptions(cmd);
  cmd.action(async (_o: unknown, self: Command) => {
    await runAgent(self.opts<AgentOptionValues>());
  });
}

async function runAgent(o: AgentOptionValues): Promise<void> {
  const flags: Partial<Record<SettingName, string>> = {};
  for (const n of SETTING_NAMES) if (o[n] !== undefined) flags[n] = o[n];
  const configFile = o.configFile ?? process.env.TABBY_CONFIG_FILE;
  const settings = resolveAgentSettings({
    flags,
    env: process.env,
    hostname: hostname().toLowerCase(),
    ...(configFile ? { file: { path: configFile, text: readFileSync(configFile, 'utf8') } } : {}),
  });
  const root = createLogger({ level: settings.logLevel as LevelWithSilent });
  const logger = root.child({ component: 'agent', node: settings.nodeName });
  const ds = resolveDatastoreConfig(datastoreFlags(o));
  const backend = openBackend(ds, { logger: root.child({ component: 'datastore', node: settings.nodeName }), dialTimeoutMs: 3000, requestTimeoutMs: 5000 });

  let agent: RunningAgent | undefined;
  let stopping = false;
  const stopped = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        if (stopping) return;
        stopping = true;
        if (!agent) {
          // Still starting: nothing to hand over; whatever exists stays for the next agent.
          logger.info({ op: 'stop', signal: sig }, 'signal during startup; exiting');
          process.exit(0);
        }
        resolve(sig);
      });
    }
  });
  agent = await startAgent({ settings, backend, root: ds.root, platform: createLinuxPlatform({ logger }), logger: root });
  const sig = await stopped;
  logger.info({ op: 'stop', signal: sig }, `${sig}: stopping (routes, interfaces, bpf programs and maps stay)`);
  await agent.stop();
  // Libraries (the etcd client's gRPC channel) may keep handles open; the agent is done.
  process.exit(0);
}
