/**
 * The lab's BGP verbs, added to `tabby lab`:
 *   lab node-status NODE [-o json]   `tabby node status` inside the node, against its agent
 *   lab tor up --peer NODE ...       BIRD as a top-of-rack router in an external AS
 *   lab tor birdc -- show route      ask that BIRD anything
 * The ToR lives in the lab's namespaces and run directory, so `lab down` removes it.
 */
import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import { TabbyError } from '../../errors.js';
import { entryCommand } from '../../lab/entries.js';
import { DEFAULT_LAB_NAME, Lab } from '../../lab/lab.js';
import { inNetns } from '../../lab/run-command.js';
import { startTor, torBirdc, TOR_DEFAULT_ANNOUNCE, TOR_DEFAULT_AS } from '../../lab/tor.js';

function named(cmd: Command): Command {
  return cmd.addOption(new Option('--name <lab>', 'lab name').env('TABBY_LAB_NAME').default(DEFAULT_LAB_NAME));
}

function labOf(cmd: Command): Lab {
  return new Lab(cmd.optsWithGlobals<{ name: string }>().name, { progress: (l) => process.stderr.write(`${l}\n`) });
}

function asNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) throw new TabbyError('USAGE', `--as must be an AS number (1-4294967295), got '${v}'`);
  return n;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function labBgpCommands(lab: Command): void {
  named(lab.command('node-status'))
    .description("`tabby node status` inside a node, against that node's agent (BGP peers)")
    .argument('<node>', 'node name')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', '\nExample:\n  tabby lab node-status node3 -o json\n')
    .action(async (nodeName: string, _o: unknown, self: Command) => {
      const state = await labOf(self).state();
      const node = state.nodes.find((n) => n.name === nodeName);
      if (!node) throw new TabbyError('LAB_USAGE', `no node '${nodeName}' in lab '${state.name}'; nodes are ${state.nodes.map((n) => n.name).join(', ')}`);
      const argv = inNetns(node.netns, [...entryCommand('cli'), 'node', 'status', '--http', node.httpListen, '-o', self.opts<{ output: string }>().output]);
      process.exitCode = await new Promise<number>((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
        child.on('error', (e) => reject(new TabbyError('LAB_COMMAND', `cannot run ${argv[0]}: ${e.message}`)));
        child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      });
    });

  const tor = lab.command('tor').description('a top-of-rack router (BIRD, external AS) on the underlay');
  named(tor.command('up'))
    .description('start BIRD in its own namespace, peering over eBGP with the given nodes')
    .requiredOption('--peer <node>', 'node to peer with (repeat for several)', collect)
    .option('--as <asn>', 'the ToR\'s AS number', asNumber, TOR_DEFAULT_AS)
    .option('--cluster-as <asn>', "the cluster's AS number", asNumber, 64512)
    .option('--announce <cidr>', `external network the ToR originates (repeatable; default ${TOR_DEFAULT_ANNOUNCE})`, collect)
    .addHelpText(
      'after',
      "\nThe nodes' side is a BGPPeer, e.g.:\n  tabby lab tor up --peer node3\n  tabby lab ctl -- apply -f - <<EOF\n  apiVersion: projectcalico.org/v3\n  kind: BGPPeer\n  metadata: {name: tor}\n  spec: {node: node3, peerIP: 10.199.0.254, asNumber: 65001}\n  EOF\n",
    )
    .action(async (_o: unknown, self: Command) => {
      const o = self.opts<{ peer: string[]; as: number; clusterAs: number; announce?: string[] }>();
      const l = labOf(self);
      const t = await startTor(l.names, await l.state(), { peers: o.peer, asNumber: o.as, clusterAs: o.clusterAs, ...(o.announce ? { announce: o.announce } : {}) });
      process.stdout.write(
        `ToR ${t.address} AS ${t.asNumber} in ${t.netns} (bird pid ${t.pid}), announcing ${t.announce.join(', ')}\n` +
          `peers: ${t.peers.map((p) => `${p.node} ${p.address}`).join(', ')}\n` +
          `add the nodes' side: BGPPeer {node: <node>, peerIP: ${t.address}, asNumber: ${t.asNumber}}\n`,
      );
    });
  named(tor.command('birdc'))
    .description("run a birdc command against the ToR's BIRD")
    .argument('<command...>', 'the birdc command (after --), e.g. show route')
    .action(async (command: string[], _o: unknown, self: Command) => {
      process.stdout.write(await torBirdc(labOf(self).names, command));
    });
}
