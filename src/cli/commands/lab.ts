import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { TabbyError } from '../../errors.js';
import { entryCommand } from '../../lab/entries.js';
import { DEFAULT_LAB_NAME, Lab, LAB_UP_DEFAULTS, type LabUpOptions } from '../../lab/lab.js';
import { inNetns } from '../../lab/run-command.js';
import { renderMatrix } from '../../lab/probe-matrix.js';
import { renderTable } from '../table.js';
import { labBgpCommands } from './lab-bgp.js';

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function nameOption(cmd: Command): Command {
  return cmd.addOption(new Option('--name <lab>', 'lab name (namespaces tby-<lab>-*, state in /run/tabby-lab/<lab>)').env('TABBY_LAB_NAME').default(DEFAULT_LAB_NAME));
}

function labOf(cmd: Command): Lab {
  return new Lab(cmd.optsWithGlobals<{ name: string }>().name, { progress });
}

function int(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new TabbyError('USAGE', `${flag} must be an integer from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TabbyError('USAGE', `--labels: '${part}' is not key=value (use k=v,k2=v2)`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Runs argv with the terminal attached and resolves with its exit code. */
function runAttached(argv: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: 'inherit', env: env ?? process.env });
    child.on('error', (e) => reject(new TabbyError('LAB_COMMAND', `cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function labCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('a whole cluster on this machine: nodes are network namespaces on a bridge, each with its own agent; real etcd, real CNI calls')
    .addHelpText('after', '\nExamples:\n  tabby lab up --nodes 3 --pods-per-node 2\n  tabby lab status\n  tabby lab probe\n  tabby lab exec node1-p1 -- ip addr\n  tabby lab ctl -- ipam show --show-blocks\n  tabby lab down\n');

  nameOption(lab.command('up'))
    .description('create the underlay, etcd, one agent per node, and the pods')
    .option('--nodes <n>', 'number of nodes', int('--nodes', 1, 200), LAB_UP_DEFAULTS.nodes)
    .option('--pods-per-node <m>', 'pods created on each node', int('--pods-per-node', 0, 1000), LAB_UP_DEFAULTS.podsPerNode)
    .addOption(new Option('--dataplane <mode>', 'agent dataplane').choices(['auto', 'bpf', 'legacy']).default(LAB_UP_DEFAULTS.dataplane))
    .option('--pool-cidr <cidr>', 'the IP pool pods get addresses from', LAB_UP_DEFAULTS.poolCidr)
    .option('--block-size <bits>', 'IPAM block prefix length', int('--block-size', 20, 32), LAB_UP_DEFAULTS.blockSize)
    .option('--underlay-cidr <cidr>', 'addresses of the bridge (.1) and nodes (.11, .12, ...)', LAB_UP_DEFAULTS.underlayCidr)
    .addOption(new Option('--ipip <mode>', 'the lab pool\'s ipipMode (legacy + always needs the kernel ipip module)').choices(['always', 'never', 'crosssubnet']).default('never'))
    .addOption(new Option('--cluster-routes <source>', 'every agent\'s --cluster-routes: routes to other nodes\' blocks from block affinities or from BGP').choices(['datastore', 'bgp']).default(LAB_UP_DEFAULTS.clusterRoutes))
    .option('--pin-root <dir>', 'where node pin directories go; a non-bpffs directory makes the bpf probe fail (tries the legacy fallback)', LAB_UP_DEFAULTS.pinRoot)
    .option('--log-level <level>', 'agent log level', LAB_UP_DEFAULTS.logLevel)
    .option('--no-agents', 'only the underlay, etcd and node namespaces (no agents, no pods)')
    .option('--ready-timeout-seconds <s>', 'how long to wait for each agent', int('--ready-timeout-seconds', 1, 3600), LAB_UP_DEFAULTS.readyTimeoutMs / 1000)
    .addHelpText('after', '\nExample:\n  tabby lab up --nodes 3 --pods-per-node 2 --dataplane legacy\n')
    .action(async (_o: unknown, self: Command) => {
      const { ipip, ...o } = self.opts<Omit<LabUpOptions, 'readyTimeoutMs' | 'ipip'> & { readyTimeoutSeconds: number; ipip: string }>();
      const l = labOf(self);
      const ipipMode = ({ always: 'Always', never: 'Never', crosssubnet: 'CrossSubnet' } as const)[ipip as 'always' | 'never' | 'crosssubnet'];
      try {
        await l.up({ ...o, ipip: ipipMode, readyTimeoutMs: o.readyTimeoutSeconds * 1000 });
      } catch (err) {
        // A refusal before anything was made (bad options) needs no cleanup hint.
        if (existsSync(l.names.dir)) progress(`lab up failed; what was made is still there for inspection (logs in ${l.names.dir}); remove it with 'tabby lab down --name ${l.names.lab}'`);
        throw err;
      }
      process.stdout.write(await statusText(l));
    });

  nameOption(lab.command('down'))
    .description('remove every namespace, process, pin and file of the lab (also after a crash); idempotent')
    .action(async (_o: unknown, self: Command) => {
      const l = labOf(self);
      const removed = await l.down();
      process.stdout.write(removed.length ? removed.map((r) => `removed ${r}\n`).join('') : `lab '${l.names.lab}': nothing to remove\n`);
    });

  nameOption(lab.command('status'))
    .description('nodes with their agents, and pods with their addresses')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (_o: unknown, self: Command) => {
      const l = labOf(self);
      if (self.opts<{ output: string }>().output === 'json') {
        const s = await l.status();
        process.stdout.write(JSON.stringify({ ...s.state, nodes: s.nodes.map((n) => ({ ...n.node, agentAlive: n.agentAlive, agentReady: n.agentReady })) }, null, 2) + '\n');
        return;
      }
      process.stdout.write(await statusText(l));
    });

  nameOption(lab.command('exec'))
    .description('run a command inside a node, pod or the underlay namespace; exits with its code')
    .argument('<target>', 'node name, pod name, or "underlay"')
    .argument('<command...>', 'the command (after --)')
    .addHelpText('after', '\nExample:\n  tabby lab exec node1 -- ip route\n')
    .action(async (target: string, command: string[], _o: unknown, self: Command) => {
      const ns = await labOf(self).namespaceOf(target);
      process.exitCode = await runAttached(['ip', 'netns', 'exec', ns, ...command]);
    });

  nameOption(lab.command('ctl'))
    .description("run the tabby CLI inside the underlay against the lab's etcd")
    .argument('<args...>', 'tabby arguments (after --)')
    .addHelpText('after', '\nExample:\n  tabby lab ctl -- ipam show --ip 10.65.0.1\n')
    .action(async (args: string[], _o: unknown, self: Command) => {
      const state = await labOf(self).state();
      process.exitCode = await runAttached(inNetns(state.underlay.netns, [...entryCommand('cli'), ...args]), { ...process.env, ETCD_ENDPOINTS: state.etcd.endpoint });
    });

  const pod = lab.command('pod').description('add or delete a pod (a namespace wired by a real tabby-cni call)');
  nameOption(pod.command('add'))
    .description('create a pod namespace and run CNI ADD for it on its node')
    .argument('<pod>', 'pod name')
    .option('--node <node>', 'node to place it on (default: the one with fewest pods)')
    .option('--namespace <ns>', 'Kubernetes namespace of the pod', 'default')
    .option('--labels <k=v,...>', 'pod labels')
    .addHelpText('after', '\nExample:\n  tabby lab pod add web --node node2 --labels app=web\n')
    .action(async (name: string, _o: unknown, self: Command) => {
      const o = self.opts<{ node?: string; namespace: string; labels?: string }>();
      const p = await labOf(self).podAdd({ name, namespace: o.namespace, ...(o.node ? { node: o.node } : {}), ...(o.labels ? { labels: parseLabels(o.labels) } : {}) });
      process.stdout.write(`pod ${p.name} on ${p.node}: ${p.ip}\n`);
    });
  nameOption(pod.command('del'))
    .description('run CNI DEL for a pod and delete its namespace')
    .argument('<pod>', 'pod name')
    .action(async (name: string, _o: unknown, self: Command) => {
      const p = await labOf(self).podDel(name);
      process.stdout.write(`pod ${p.name} deleted (was ${p.ip} on ${p.node})\n`);
    });

  nameOption(lab.command('probe'))
    .description('TCP and UDP echo between every ordered pair of pods; exits 1 if any pair fails')
    .option('--port <port>', 'port of the responders', int('--port', 1, 65535), 7777)
    .option('--tcp', 'judge TCP only')
    .option('--udp', 'judge UDP only')
    .option('--timeout-ms <ms>', 'per-pair timeout', int('--timeout-ms', 1, 600_000), 3000)
    .option('--ascii', 'ok/FAIL instead of ✓/✗')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (_o: unknown, self: Command) => {
      const o = self.opts<{ port: number; tcp?: boolean; udp?: boolean; timeoutMs: number; ascii?: boolean; output: string }>();
      const judge = o.tcp || o.udp ? { tcp: o.tcp === true, udp: o.udp === true } : { tcp: true, udp: true };
      const m = await labOf(self).probe({ port: o.port, timeoutMs: o.timeoutMs, judge });
      process.stdout.write(o.output === 'json' ? JSON.stringify(m, null, 2) + '\n' : renderMatrix(m, { ascii: o.ascii === true }));
      if (!m.ok) process.exitCode = 1;
    });

  labBgpCommands(lab);

  const agent = lab.command('agent').description("manage a node's agent");
  nameOption(agent.command('restart'))
    .description('stop the agent of a node (SIGTERM, or SIGKILL with --kill) and start a new one')
    .argument('<node>', 'node name')
    .option('--kill', 'SIGKILL instead of SIGTERM (a crash)')
    .option('--log-level <level>', 'agent log level', LAB_UP_DEFAULTS.logLevel)
    .action(async (node: string, _o: unknown, self: Command) => {
      const o = self.opts<{ kill?: boolean; logLevel: string }>();
      const pid = await labOf(self).agentRestart(node, o.kill ? 'SIGKILL' : 'SIGTERM', o.logLevel);
      process.stdout.write(`${node}: agent restarted (pid ${pid})\n`);
    });
}

async function statusText(l: Lab): Promise<string> {
  const { state, nodes } = await l.status();
  const nodeRows = nodes.map((n) => [
    n.node.name,
    n.node.address,
    n.node.agentPid === undefined ? 'not started' : `${n.node.agentPid} ${n.agentAlive ? (n.agentReady ? 'ready' : 'NOT READY') : 'DEAD'}`,
    String(n.pods),
  ]);
  const podRows = state.pods.map((p) => [p.name, p.node, p.namespace, p.ip]);
  return (
    `lab '${state.name}': ${state.dataplane} dataplane, cluster routes from ${state.clusterRoutes ?? 'datastore'}, etcd ${state.etcd.endpoint}, pool ${state.pool.cidr} (ipipMode ${state.pool.ipipMode ?? 'Never'})\n\n` +
    renderTable(['node', 'address', 'agent', 'pods'], nodeRows) +
    '\n' +
    (podRows.length ? renderTable(['pod', 'node', 'namespace', 'ip'], podRows) : 'no pods (tabby lab pod add NAME)\n')
  );
}
