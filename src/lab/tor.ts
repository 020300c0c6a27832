/**
 * A top-of-rack router for the lab: BIRD 2 in its own namespace (`tby-<lab>-tor`) on the
 * underlay bridge, in an external AS, peering over eBGP with the nodes it is told to (a
 * route reflector, usually). It announces one external network (TEST-NET-2 by default) so
 * the cluster has something outside its pools to learn, and learns the cluster's blocks,
 * which `birdc show route` lists. It installs nothing in any kernel (no `kernel` protocol):
 * it is there to be looked at, not to forward.
 *
 * The nodes' side is configured the Calico way, through the datastore: a BGPPeer with
 * `node: <name>` (or a selector), `peerIP: <tor address>`, `asNumber: <tor AS>`.
 *
 * Everything is named from the lab's name (namespace prefix, run directory), so `lab down`
 * removes it with the rest: it stops the processes in every `tby-<lab>-*` namespace,
 * deletes the namespace (its veth leaves the bridge with it) and the run directory.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { netnsPath, type LabNames } from './names.js';
import { inNetns, mustRun, runCommand } from './run-command.js';
import type { LabState } from './state.js';
import { createNetns, hostAddress } from './underlay.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';
export const TOR_DEFAULT_AS = 65001;
/** TEST-NET-2: never routed anywhere real, so a lab route to it cannot leak. */
export const TOR_DEFAULT_ANNOUNCE = '198.51.100.0/24';
/** What BIRD takes inside its quoted `password "..."`, within TCP-MD5's 80 bytes. */
const TOR_PASSWORD = /^[ !#-[\]-~]{1,80}$/;
/** The ToR's host number on the underlay (nodes are .11, .12, ...; the bridge .1). */
const TOR_HOST = 254;

export interface TorOptions {
  /** Node names to peer with (each at its underlay address, in the cluster's AS). */
  peers: string[];
  asNumber?: number;
  /** The cluster's AS (BGPConfiguration asNumber; 64512 unless changed). */
  clusterAs?: number;
  /** Prefixes the ToR originates (blackhole statics, exported to its peers only). */
  announce?: string[];
  /** TCP-MD5 password on every session (the nodes' BGPPeer then needs the same, from a Secret). */
  password?: string;
}

export interface TorInfo {
  netns: string;
  address: string;
  asNumber: number;
  socket: string;
  peers: { node: string; address: string; protocol: string }[];
  announce: string[];
  pid: number;
}

export function torPaths(names: LabNames): { netns: string; dir: string; config: string; socket: string; log: string; port: string } {
  const dir = join(names.dir, 'tor');
  return { netns: `${names.prefix}tor`, dir, config: join(dir, 'bird.conf'), socket: join(dir, 'bird.ctl'), log: join(dir, 'bird.log'), port: 'ultor' };
}

/** BIRD's configuration (pure, for the unit test). One `protocol bgp` per peer, named after the node. */
export function torBirdConfig(o: { routerId: string; asNumber: number; clusterAs: number; announce: string[]; peers: { protocol: string; address: string }[]; password?: string }): string {
  const lines = [
    `router id ${o.routerId};`,
    'protocol device { scan time 2; }',
    'protocol static tor_routes {',
    '  ipv4;',
    ...o.announce.map((p) => `  route ${p} blackhole;`),
    '}',
  ];
  for (const p of o.peers) {
    lines.push(
      `protocol bgp ${p.protocol} {`,
      `  local ${o.routerId} as ${o.asNumber};`,
      `  neighbor ${p.address} as ${o.clusterAs};`,
      '  connect retry time 1;',
      '  error wait time 1, 5;',
      ...(o.password !== undefined ? [`  password "${o.password}";`] : []),
      // Learn everything the cluster sends; give it only our own statics.
      '  ipv4 { import all; export where proto = "tor_routes"; };',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Creates the ToR namespace on the underlay and starts BIRD in it; resolves once birdc answers. */
export async function startTor(names: LabNames, state: LabState, o: TorOptions): Promise<TorInfo> {
  const p = torPaths(names);
  if (existsSync(netnsPath(p.netns))) throw new LabError('LAB_EXISTS', `lab '${state.name}' already has a ToR (${p.netns}); 'tabby lab down' removes it with the lab`);
  if (o.peers.length === 0) throw new LabError('LAB_USAGE', 'the ToR needs at least one node to peer with (--peer NODE)');
  if (o.password !== undefined && !TOR_PASSWORD.test(o.password)) {
    throw new LabError('LAB_USAGE', 'the ToR password must be 1-80 printable ASCII characters (spaces too), without " or \\');
  }
  const peers = o.peers.map((name) => {
    const node = state.nodes.find((n) => n.name === name);
    if (!node) throw new LabError('LAB_USAGE', `no node '${name}' in lab '${state.name}'; nodes are ${state.nodes.map((n) => n.name).join(', ')}`);
    return { node: name, address: node.address.split('/')[0]!, protocol: name.replace(/[^a-zA-Z0-9_]/g, '_') };
  });
  const address = hostAddress(state.underlay.cidr, TOR_HOST);
  const prefixLen = state.underlay.cidr.split('/')[1];
  const asNumber = o.asNumber ?? TOR_DEFAULT_AS;
  const announce = o.announce ?? [TOR_DEFAULT_ANNOUNCE];

  await mkdir(p.dir, { recursive: true });
  await createNetns(p.netns, false);
  const ul = state.underlay.netns;
  await mustRun(['ip', '-n', ul, 'link', 'add', p.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
  await mustRun(['ip', '-n', ul, 'link', 'set', p.port, 'master', state.underlay.bridge]);
  await mustRun(['ip', '-n', ul, 'link', 'set', p.port, 'up']);
  await mustRun(['ip', '-n', p.netns, 'addr', 'add', `${address}/${prefixLen}`, 'dev', 'eth0']);
  await mustRun(['ip', '-n', p.netns, 'link', 'set', 'eth0', 'up']);

  await writeFile(p.config, torBirdConfig({ routerId: address, asNumber, clusterAs: o.clusterAs ?? 64512, announce, peers, ...(o.password !== undefined ? { password: o.password } : {}) }), { mode: 0o600 });
  const log = await open(p.log, 'a');
  const [cmd, ...args] = inNetns(p.netns, [BIRD, '-f', '-c', p.config, '-s', p.socket, '-P', join(p.dir, 'bird.pid')]);
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  await log.close();
  child.unref();
  if (child.pid === undefined) throw new LabError('LAB_COMMAND', 'cannot start bird for the ToR');
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await runCommand([BIRDC, '-s', p.socket, 'show', 'status'], { timeoutMs: 5_000 });
    if (r.code === 0 && /BIRD/.test(r.stdout)) break;
    if (Date.now() > deadline) {
      throw new LabError('LAB_TIMEOUT', `the ToR's bird did not answer on ${p.socket} within 15 s; its log ${p.log}:\n${(await readFile(p.log, 'utf8').catch(() => '')).slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { netns: p.netns, address, asNumber, socket: p.socket, peers, announce, pid: child.pid };
}

/** `birdc <command...>` against the lab's ToR; rejects when there is none. */
export async function torBirdc(names: LabNames, command: string[]): Promise<string> {
  const p = torPaths(names);
  if (!existsSync(p.socket)) throw new LabError('LAB_NOT_FOUND', `lab '${names.lab}' has no ToR (start one with 'tabby lab tor up --peer NODE')`);
  return mustRun([BIRDC, '-s', p.socket, ...command], { timeoutMs: 10_000 });
}
