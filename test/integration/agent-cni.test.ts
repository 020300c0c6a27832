/**
 * A real agent (`tabby agent` under tsx) running inside a node network namespace the test
 * makes, with real etcd, real netlink, and pods added by the real `tabby-cni` entry.
 *
 * Layout (all inside namespaces this test created; nothing leaves them):
 *
 *   node netns: uplink veth pair (both ends inside, 10.211.0.2/24, default route via
 *               10.211.0.1 so proxy ARP answers for 169.254.1.1), the agent, cali*
 *   pod netns:  eth0 wired by the agent
 *
 * etcd listens on 127.0.0.1 of the host namespace, which the node namespace cannot reach;
 * two relays on loopback and a unix socket bridge it: node netns 127.0.0.1:2379 (a tiny
 * relay process run with `ip netns exec`) -> unix socket in the temp dir -> this process
 * -> etcd's 127.0.0.1 port.
 *
 * Connectivity is judged by real TCP between pod namespaces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackend } from '../../src/datastore/etcd.js';
import { IpamStore } from '../../src/ipam/store.js';
import { etcdBackendFor, startEtcd, type EtcdServer } from '../support/etcd.js';
import { NetnsLab, mustRun, run, type Netns } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/main.ts');
const PLUGIN = join(REPO, 'src/cni/main.ts');
const NETWORK = 'k8s-pod-network';
const NODE = `tnode${process.pid}`;
const POOL = '10.241.0.0/16';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runAsync(argv: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { cwd: REPO, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(opts.env ?? {}) }, timeout: opts.timeoutMs ?? 90_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Waits for a child's stream to print a line matching `re`; rejects when it exits first. */
function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs: number, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${log.join('').slice(-4000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) done();
    };
    const onExit = (code: number | null, sig: string | null) => done(new Error(`exited (code ${code}, signal ${sig}) before printing ${re}; output:\n${log.join('').slice(-4000)}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child[stream]!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    child[stream]!.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

let dir: string;
let etcd: EtcdServer | undefined;
let backend: EtcdBackend | undefined;
let lab: NetnsLab | undefined;
let node: Netns;
let bridge: Server | undefined;
let relay: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let agentLog: string[] = [];
const servers: ChildProcess[] = [];
let sock: string;

async function startAgent(): Promise<void> {
  agentLog = [];
  const child = spawn(
    'ip',
    ['netns', 'exec', node.name, process.execPath, '--import', 'tsx', CLI, 'agent', '--node-name', NODE, '--etcd-endpoints', 'http://127.0.0.1:2379', '--cni-socket', sock, '--state-dir', join(dir, 'state'), '--default-pool-cidr', POOL, '--log-level', 'info', '--dataplane', 'legacy'],
    { cwd: REPO, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent = child;
  child.stdout!.on('data', (d: Buffer) => agentLog.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => agentLog.push(d.toString()));
  await waitForLine(child, 'stderr', /"op":"ready"/, 60_000, agentLog);
}

async function stopAgent(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const a = agent;
  agent = undefined;
  if (!a) return;
  a.kill(signal);
  await exited(a);
}

interface Pod {
  name: string;
  ns: Netns;
  containerId: string;
  ip: string;
}

const netconf = () => JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, type: 'tabby-cni', agent_socket: sock, ipam: { type: 'tabby-ipam' }, log_level: 'warn' });

function cniEnv(verb: string, pod: Pod): Record<string, string> {
  return {
    CNI_COMMAND: verb,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.ns.path,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_LABELS=app=${pod.name}`,
  };
}

async function addPod(name: string): Promise<Pod> {
  const pod: Pod = { name, ns: lab!.netns(), containerId: `ctr-${name}-${process.pid}`, ip: '' };
  const r = await runAsync([process.execPath, '--import', 'tsx', PLUGIN], { env: cniEnv('ADD', pod), input: netconf() });
  expect(r.code, `ADD ${name}: ${r.stdout}\n${r.stderr}\nagent:\n${agentLog.join('').slice(-3000)}`).toBe(0);
  const result = JSON.parse(r.stdout) as { ips: Array<{ address: string }> };
  pod.ip = result.ips[0]!.address.split('/')[0]!;
  return pod;
}

async function delPod(pod: Pod): Promise<void> {
  const r = await runAsync([process.execPath, '--import', 'tsx', PLUGIN], { env: { ...cniEnv('DEL', pod), CNI_NETNS: '' }, input: netconf() });
  expect(r.code, `DEL ${pod.name}: ${r.stdout}\n${r.stderr}`).toBe(0);
}

/** A TCP server in the pod that greets every connection. */
async function serve(pod: Pod): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', pod.ns.name, process.execPath, '-e', `require('net').createServer((s) => s.end('hello from ${pod.name}\\n')).listen(8080, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  await waitForLine(child, 'stdout', /up/, 20_000, []);
}

/** Connects from one pod to another over real TCP; returns what the server said, or the error. */
async function probe(from: Pod, to: Pod): Promise<string> {
  const script = `const s = require('net').connect(8080, '${to.ip}'); let out = ''; s.setTimeout(5000, () => { console.log('timeout'); process.exit(2); }); s.on('data', (d) => (out += d)); s.on('end', () => { process.stdout.write(out); process.exit(0); }); s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });`;
  const r = await runAsync(['ip', 'netns', 'exec', from.ns.name, process.execPath, '-e', script], { timeoutMs: 20_000 });
  return r.stdout.trim();
}

const inNode = (argv: string[]): string => mustRun(argv, { netns: node.name });
const caliLinks = (): string[] =>
  inNode(['ip', '-o', 'link', 'show'])
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n.startsWith('cali'))
    .sort();
const ourRoutes = (): string[] =>
  inNode(['ip', '-o', 'route', 'show', 'proto', '84'])
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(' ').slice(0, 3).join(' '))
    .sort();
async function handles(): Promise<string[]> {
  return (await new IpamStore(backend!).listHandles()).map((h) => h.doc.handleID).sort();
}

describe.skipIf(!isRoot)(needsRoot('tabby agent in a node namespace with real CNI calls'), () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tabby-agent-it-${process.pid}-`));
    sock = join(dir, 'cni.sock');
    etcd = await startEtcd();
    backend = etcdBackendFor(etcd);
    const etcdUrl = new URL(etcd.endpoints[0]!);

    // Host side of the etcd bridge: unix socket -> etcd on loopback.
    const bridgePath = join(dir, 'etcd.sock');
    bridge = createServer((c) => {
      const t = connect(Number(etcdUrl.port), '127.0.0.1');
      c.pipe(t).pipe(c);
      c.on('error', () => t.destroy());
      t.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => bridge!.listen(bridgePath, r));

    lab = new NetnsLab();
    node = lab.netns();
    const [up] = lab.veth({ netns: node, address: '10.211.0.2/24' }, { netns: node });
    inNode(['ip', 'route', 'add', 'default', 'via', '10.211.0.1', 'dev', up.name]);

    // Node side of the etcd bridge: 127.0.0.1:2379 in the node namespace -> unix socket.
    const relayScript = join(dir, 'relay.mjs');
    writeFileSync(
      relayScript,
      `import net from 'node:net';
net.createServer((c) => { const u = net.connect(${JSON.stringify(bridgePath)}); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
  .listen(2379, '127.0.0.1', () => console.log('relay up'));
`,
    );
    relay = spawn('ip', ['netns', 'exec', node.name, process.execPath, relayScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(relay, 'stdout', /relay up/, 20_000, []);
    await startAgent();
  }, 180_000);

  afterAll(async () => {
    try {
      await stopAgent('SIGKILL');
      for (const s of servers.splice(0)) {
        s.kill('SIGKILL');
        await exited(s);
      }
      if (relay) {
        relay.kill('SIGKILL');
        await exited(relay);
      }
      await new Promise<void>((r) => (bridge ? bridge.close(() => r()) : r()));
      await backend?.close();
    } finally {
      lab?.cleanup();
      await etcd?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  let a: Pod;
  let b: Pod;
  let c: Pod;

  it('ADD wires two pods that reach each other over TCP', async () => {
    a = await addPod('pod-a');
    b = await addPod('pod-b');
    expect(a.ip).not.toBe(b.ip);
    await serve(b);
    expect(await probe(a, b)).toBe('hello from pod-b');
    // The route to each pod is ours (proto 84), through its cali interface.
    expect(ourRoutes()).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${a.ip} dev cali`)), expect.stringMatching(new RegExp(`^${b.ip} dev cali`))]));
    expect(caliLinks()).toHaveLength(2);
    expect(await handles()).toEqual([`${NETWORK}.${a.containerId}`, `${NETWORK}.${b.containerId}`].sort());
  }, 120_000);

  it('DEL releases the address and removes the route and interface', async () => {
    await delPod(a);
    expect(await handles()).toEqual([`${NETWORK}.${b.containerId}`]);
    expect(ourRoutes().some((r) => r.startsWith(`${a.ip} `))).toBe(false);
    expect(caliLinks()).toHaveLength(1);
    await delPod(a); // idempotent
  }, 60_000);

  it('SIGTERM restart: traffic keeps flowing while the agent is down, nothing leaks after', async () => {
    c = await addPod('pod-c');
    const linksBefore = caliLinks();
    const routesBefore = ourRoutes();
    await stopAgent('SIGTERM');
    expect(await probe(c, b)).toBe('hello from pod-b');
    await startAgent();
    expect(caliLinks()).toEqual(linksBefore);
    expect(ourRoutes()).toEqual(routesBefore);
    expect(await handles()).toEqual([`${NETWORK}.${b.containerId}`, `${NETWORK}.${c.containerId}`].sort());
    expect(await probe(c, b)).toBe('hello from pod-b');
  }, 120_000);

  it('SIGKILL restart: the new agent sweeps a leftover interface and keeps the live pods', async () => {
    const linksBefore = caliLinks();
    await stopAgent('SIGKILL');
    // What a crashed ADD would leave: a cali interface no WorkloadEndpoint names.
    inNode(['ip', 'link', 'add', 'calideadbeef001', 'type', 'veth', 'peer', 'name', `tby${process.pid}x`]);
    await startAgent();
    expect(caliLinks()).toEqual(linksBefore);
    expect(run(['ip', 'link', 'show', `tby${process.pid}x`], { netns: node.name }).status).not.toBe(0);
    expect(await probe(c, b)).toBe('hello from pod-b');
  }, 120_000);

  it('install-cni writes a launcher that answers VERSION and a conflist whose chain runs ADD', async () => {
    const binDir = join(dir, 'bin');
    const confDir = join(dir, 'net.d');
    const r = await runAsync([process.execPath, '--import', 'tsx', CLI, 'install-cni', '--bin-dir', binDir, '--conf-dir', confDir, '--cni-socket', sock]);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(readFileSync(join(confDir, '10-tabby.conflist'), 'utf8')) as { name: string; cniVersion: string; plugins: Array<Record<string, unknown>> };
    expect(list.plugins.map((p) => p.type)).toEqual(['tabby-cni', 'portmap']);

    const version = await runAsync([join(binDir, 'tabby-cni')], { env: { CNI_COMMAND: 'VERSION' }, input: '' });
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).supportedVersions).toContain('1.0.0');

    // The chain as a runtime runs it: each plugin gets its entry with name and cniVersion,
    // portmap gets tabby's result as prevResult (no port mappings: it passes it through).
    const d: Pod = { name: 'pod-d', ns: lab!.netns(), containerId: `ctr-pod-d-${process.pid}`, ip: '' };
    const conf = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify({ ...list.plugins[i], name: list.name, cniVersion: list.cniVersion, ...extra });
    const add = await runAsync([join(binDir, 'tabby-cni')], { env: cniEnv('ADD', d), input: conf(0) });
    expect(add.code, `${add.stdout}\n${add.stderr}`).toBe(0);
    const prevResult = JSON.parse(add.stdout) as { ips: Array<{ address: string }> };
    d.ip = prevResult.ips[0]!.address.split('/')[0]!;
    // portmap runs inside the node namespace so even a no-op cannot touch the host's iptables.
    const pm = await runAsync(['ip', 'netns', 'exec', node.name, '/usr/lib/cni/portmap'], { env: cniEnv('ADD', d), input: conf(1, { prevResult, runtimeConfig: { portMappings: [] } }) });
    expect(pm.code, `${pm.stdout}\n${pm.stderr}`).toBe(0);
    expect(JSON.parse(pm.stdout).ips).toEqual(prevResult.ips);
    expect(await probe(d, b)).toBe('hello from pod-b');
    const del = await runAsync([join(binDir, 'tabby-cni')], { env: { ...cniEnv('DEL', d), CNI_NETNS: '' }, input: conf(0) });
    expect(del.code, del.stdout).toBe(0);
    expect(await handles()).toEqual([`${NETWORK}.${b.containerId}`, `${NETWORK}.${c.containerId}`].sort());
  }, 120_000);
});
