/**
 * The lab's BGP verbs, added to `tabby lab`:
 *   lab node-status NODE [-o json]   `tabby node status` inside the node, against its agent
 *   lab tor up --peer NODE ...       BIRD as a top-of-rack router in an external AS
 *   lab tor birdc -- show route      ask that BIRD anything
 *   lab secret NAME KEY [PASSWORD]   a BGP password as the agents read it (a Secret's key)
 * The ToR and the secrets live in the lab's namespaces and run directory, so `lab down`
 * removes them.
 */
import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import { TabbyError } from '../../errors.js';
import { entryCommand } from '../../lab/entries.js';
import { DEFAULT_LAB_NAME, Lab } from '../../lab/lab.js';
import { inNetns } from '../../lab/run-command.js';
import { writeLabSecret } from '../../lab/secrets.js';
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
    .option('--password <password>', 'TCP-MD5 password on every session (the BGPPeer then names a Secret with it: tabby lab secret)')
    .addHelpText(
      'after',
      "\nThe nodes' side is a BGPPeer, e.g.:\n  tabby lab tor up --peer node3\n  tabby lab ctl -- apply -f - <<EOF\n  apiVersion: projectcalico.org/v3\n  kind: BGPPeer\n  metadata: {name: tor}\n  spec: {node: node3, peerIP: 10.199.0.254, asNumber: 65001}\n  EOF\n" +
        "\nWith a password, the BGPPeer reads it from a Secret:\n  tabby lab tor up --peer node3 --password 's3cret'\n  tabby lab secret bgp-passwords tor 's3cret'\n  ... spec: {node: node3, peerIP: 10.199.0.254, asNumber: 65001,\n             password: {secretKeyRef: {name: bgp-passwords, key: tor}}}\n",
    )
    .action(async (_o: unknown, self: Command) => {
      const o = self.opts<{ peer: string[]; as: number; clusterAs: number; announce?: string[]; password?: string }>();
      const l = labOf(self);
      const t = await startTor(l.names, await l.state(), {
        peers: o.peer, asNumber: o.as, clusterAs: o.clusterAs, ...(o.announce ? { announce: o.announce } : {}), ...(o.password !== undefined ? { password: o.password } : {}),
      });
      process.stdout.write(
        `ToR ${t.address} AS ${t.asNumber} in ${t.netns} (bird pid ${t.pid}), announcing ${t.announce.join(', ')}\n` +
          `peers: ${t.peers.map((p) => `${p.node} ${p.address}`).join(', ')}\n` +
          `add the nodes' side: BGPPeer {node: <node>, peerIP: ${t.address}, asNumber: ${t.asNumber}${o.password !== undefined ? ', password: {secretKeyRef: {name: <secret>, key: <key>}}' : ''}}\n`,
      );
    });
  named(tor.command('birdc'))
    .description("run a birdc command against the ToR's BIRD")
    .argument('<command...>', 'the birdc command (after --), e.g. show route')
    .action(async (command: string[], _o: unknown, self: Command) => {
      process.stdout.write(await torBirdc(labOf(self).names, command));
    });

  named(lab.command('secret'))
    .description("write a BGP password where every agent of the lab reads Secrets (BGPPeer password, nodeMeshPassword)")
    .argument('<secret>', 'the Secret\'s name (secretKeyRef.name)')
    .argument('<key>', 'the key in it (secretKeyRef.key)')
    .argument('[password]', 'the password (default: read from stdin)')
    .addHelpText(
      'after',
      '\nThe agents read it again within 10 s: a changed password resets the sessions that use it.\n\nExample:\n  tabby lab secret bgp-passwords tor \'s3cret\'\n  echo \'s3cret\' | tabby lab secret bgp-passwords tor\n',
    )
    .action(async (secret: string, key: string, password: string | undefined, _o: unknown, self: Command) => {
      const l = labOf(self);
      await l.state(); // the lab must exist
      const path = await writeLabSecret(l.names, { name: secret, key }, password ?? (await readStdin()));
      process.stdout.write(`wrote ${path}\n`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
