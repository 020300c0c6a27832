/**
 * Runs the real `tabby-cni` executables as child processes, the way a container runtime
 * does: config on stdin, CNI_* in the environment, JSON on stdout, exit code 0/1. Both
 * executables go through the same cases: the Node entry (src/cni/main.ts under tsx) and
 * the compiled shim (build/Release/tabby-cni, which forwards to the agent and lets it run
 * the same plugin code). The socket is served by `serveCniSocket` with a handler that
 * answers a fixed 1.0.0 result: a fake agent is right here because this test is about the
 * plugin's side of the protocol and its output formats, not about what a real agent does
 * with an ADD. Local errors must never reach that handler.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniCode, CniError } from '../../src/cni/errors.js';
import type { CniRequest } from '../../src/cni/protocol.js';
import type { CniResult } from '../../src/cni/result.js';
import { serveCniSocket, type CniSocketServer } from '../../src/cni/server.js';
import { isRoot, needsRoot } from '../support/root.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(REPO, 'src/cni/main.ts');
const SHIM = join(REPO, 'build/Release/tabby-cni');
const shimBuilt = existsSync(SHIM);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with stdin and a clean environment (only PATH is inherited). */
function runProgram(cmd: string, args: string[], env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

type PluginRunner = (env: Record<string, string>, stdin: string) => Promise<Run>;

const runNodeEntry: PluginRunner = (env, stdin) => runProgram(process.execPath, ['--import', 'tsx', ENTRY], env, stdin);
const runShim: PluginRunner = (env, stdin) => runProgram(SHIM, [], env, stdin);

/** Each executable, skipped (with the reason in its title) when it is not built. */
const PLUGINS: Array<{ label: string; run: PluginRunner; skip: boolean }> = [
  { label: 'Node entry', run: runNodeEntry, skip: false },
  { label: shimBuilt ? 'compiled shim' : 'compiled shim (skipped: not built, run npm run build)', run: runShim, skip: !shimBuilt },
];

/** Asserts a CNI error on stdout, exit 1, and returns it. */
function cniError(run: Run, code: number): { cniVersion: string; code: number; msg: string; details?: string } {
  expect(run.code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(1);
  const err = JSON.parse(run.stdout) as { cniVersion: string; code: number; msg: string; details?: string };
  expect(err.code, run.stdout).toBe(code);
  expect(typeof err.cniVersion).toBe('string');
  return err;
}

let counter = 0;
const uniq = (): string => `${process.pid}-${counter++}`;
let dir: string;
/** A live agent socket for the local-error cases: the shim needs one to run the plugin. */
let localAgent: CniSocketServer | undefined;
let localSock = '';
const reachedAgent: CniRequest[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `tabby-cni-it-${process.pid}-`));
  localSock = join(dir, `local-${uniq()}.sock`);
  localAgent = await serveCniSocket(localSock, async (req) => {
    reachedAgent.push(req);
    return new CniError(CniCode.AgentInternal, 'a request that should have failed locally reached the agent');
  });
});
afterAll(async () => {
  await localAgent?.close();
  rmSync(dir, { recursive: true, force: true });
});

const conf = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni', agent_socket: localSock, timeout_seconds: 10, ...over });

for (const { label, run: runPlugin, skip } of PLUGINS) describe.skipIf(skip)(`tabby-cni errors (${label}, child process)`, () => {
  afterAll(() => {
    expect(reachedAgent).toEqual([]);
  });

  // /proc/self/ns/net is a real network namespace file for every process, root or not.
  const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };

  it('missing CNI_COMMAND -> 4', async () => {
    const { CNI_COMMAND: _, ...env } = addEnv;
    const err = cniError(await runPlugin(env, conf()), CniCode.InvalidEnvironment);
    expect(err.msg).toBe('CNI_COMMAND is not set');
    expect(err.details).toMatch(/set CNI_COMMAND to one of ADD, DEL, CHECK, STATUS, GC, VERSION/);
    expect(err.cniVersion).toBe('1.0.0');
  });

  it('missing CNI_NETNS on ADD -> 4', async () => {
    const { CNI_NETNS: _, ...env } = addEnv;
    const err = cniError(await runPlugin(env, conf()), CniCode.InvalidEnvironment);
    expect(err.msg).toBe('CNI_NETNS is not set');
    expect(err.details).toMatch(/ADD command requires CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME/);
  });

  it('netns path that does not exist -> 4', async () => {
    const missing = join(dir, `no-netns-${uniq()}`);
    const err = cniError(await runPlugin({ ...addEnv, CNI_NETNS: missing }, conf()), CniCode.InvalidEnvironment);
    expect(err.msg).toBe(`CNI_NETNS ${missing} does not exist`);
    expect(err.details).toMatch(/create the network namespace before calling ADD/);
  });

  it('a path that is not a netns -> 4', async () => {
    const err = cniError(await runPlugin({ ...addEnv, CNI_NETNS: dir }, conf()), CniCode.InvalidEnvironment);
    expect(err.msg).toMatch(/is not a network namespace/);
  });

  it('unknown cniVersion -> 1', async () => {
    const err = cniError(await runPlugin(addEnv, conf({ cniVersion: '2.0.0' })), CniCode.IncompatibleVersion);
    expect(err.msg).toBe('cniVersion "2.0.0" is not supported by tabby-cni');
    expect(err.details).toMatch(/supported versions are 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
  });

  it('malformed JSON -> 6', async () => {
    const err = cniError(await runPlugin(addEnv, '{"cniVersion": "1.0.0", "name": '), CniCode.DecodingFailure);
    expect(err.msg).toBe('the network configuration on stdin is not valid JSON');
  });

  it('missing "type" -> 7', async () => {
    const err = cniError(await runPlugin(addEnv, conf({ type: undefined })), CniCode.InvalidNetworkConfig);
    expect(err.msg).toMatch(/no "type"/);
  });

  it('agent not running -> 11 with the fix', async () => {
    const sock = join(dir, `absent-${uniq()}.sock`);
    const err = cniError(await runPlugin(addEnv, conf({ agent_socket: sock })), CniCode.TryAgainLater);
    expect(err.msg).toBe(`is \`tabby agent\` running on this node? socket ${sock} not reachable: ENOENT (connect ENOENT ${sock})`);
    expect(err.details).toMatch(/start the agent/);
  });

  it('agent not running -> STATUS answers 50', async () => {
    const err = cniError(await runPlugin({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0', agent_socket: join(dir, `absent-${uniq()}.sock`) })), CniCode.NotAvailable);
    expect(err.msg).toMatch(/is `tabby agent` running on this node\?/);
  });

  it('VERSION is answered without an agent', async () => {
    const run = await runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});

describe.skipIf(!shimBuilt)('the compiled shim where it differs from the Node entry', () => {
  const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  const raw: Server[] = [];
  afterAll(async () => {
    for (const s of raw) await new Promise((r) => s.close(r));
  });
  /** A socket whose "agent" reads the request and then does `then` to the connection. */
  async function oddAgent(then: 'hang' | 'hang-up' | 'garbage'): Promise<string> {
    const path = join(dir, `odd-${uniq()}.sock`);
    const server = createServer((c) => {
      c.on('error', () => undefined);
      c.once('data', () => {
        if (then === 'hang-up') c.destroy();
        if (then === 'garbage') c.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    raw.push(server);
    return path;
  }

  it('prints byte for byte what the Node entry prints without an agent (ADD 11, DEL 11, STATUS 50, VERSION)', async () => {
    const sock = join(dir, `absent-${uniq()}.sock`);
    const cases: Array<[Record<string, string>, string]> = [
      [addEnv, conf({ agent_socket: sock, cniVersion: '0.4.0' })],
      [{ ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf({ agent_socket: sock })],
      [{ CNI_COMMAND: 'STATUS' }, conf({ agent_socket: sock, cniVersion: '1.1.0' })],
      [{ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}'],
      [{ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"7.0.0"}'],
      [{ CNI_COMMAND: 'VERSION' }, 'not json'],
      [{ CNI_COMMAND: 'VERSION' }, ''],
    ];
    for (const [env, stdin] of cases) {
      const [node, shim] = await Promise.all([runNodeEntry(env, stdin), runShim(env, stdin)]);
      expect({ code: shim.code, stdout: shim.stdout }, `${JSON.stringify(env)} ${stdin}`).toEqual({ code: node.code, stdout: node.stdout });
    }
  });

  it('finds the top-level "agent_socket" however the JSON is written', async () => {
    const escaped = JSON.stringify(localSock).replaceAll('/', '\\/'); // "\/tmp\/..." is the same string
    const stdin = `{ "args": {"agent_socket": "/nested/is/ignored.sock", "x": [1, {"y": "}"}]},\n "cniVersion" : "1.0.0", "name":"net", "type":"tabby-cni", "agent_socket" : ${escaped} }`;
    // Reaching the local agent shows the right socket was used: the plugin (in the agent)
    // then fails the ADD locally because the netns is not one.
    const err = cniError(await runShim({ ...addEnv, CNI_NETNS: dir }, stdin), CniCode.InvalidEnvironment);
    expect(err.msg).toMatch(/is not a network namespace/);
    expect(reachedAgent).toEqual([]);
  });

  it('reports an agent that hangs up (5), answers garbage (105) or never answers (104, bounded by timeout_seconds)', async () => {
    const hangUp = cniError(await runShim(addEnv, conf({ agent_socket: await oddAgent('hang-up') })), CniCode.IoFailure);
    expect(hangUp.msg).toMatch(/dropped the ADD request without answering/);
    cniError(await runShim(addEnv, conf({ agent_socket: await oddAgent('garbage') })), CniCode.AgentProtocol);
    const t0 = performance.now();
    const slow = cniError(await runShim(addEnv, conf({ agent_socket: await oddAgent('hang'), timeout_seconds: 0.5 })), CniCode.AgentTimeout);
    expect(slow.msg).toMatch(/did not answer ADD for container ctr1 within 5500 ms/);
    expect(performance.now() - t0).toBeLessThan(30_000); // bounded, not a timing assertion on the value
  }, 40_000);

  it('gives up with 11 after connect_timeout_seconds while the agent\'s accept backlog stays full', async () => {
    // A listener that never accepts, its backlog filled by one connection: every further
    // unix connect fails with EAGAIN (Node always accepts, hence python3).
    const path = join(dir, `full-${uniq()}.sock`);
    const script = `import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)
held = []
while True:
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try:
        c.connect(sys.argv[1]); held.append(c)
    except BlockingIOError:
        break
print('full', flush=True)
time.sleep(60)
`;
    const py = spawn('python3', ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        py.stdout.once('data', () => resolve());
        py.once('exit', (code) => reject(new Error(`python3 exited ${code}`)));
      });
      const err = cniError(await runShim(addEnv, conf({ agent_socket: path, connect_timeout_seconds: 0.3 })), CniCode.TryAgainLater);
      expect(err.msg).toBe(`is \`tabby agent\` running on this node? socket ${path} not reachable: no connection within 300 ms`);
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('refuses stdin larger than 1 MiB with a CNI error instead of forwarding it', async () => {
    const big = conf({ padding: 'x'.repeat(1 << 20) });
    const err = cniError(await runShim(addEnv, big), CniCode.DecodingFailure);
    expect(err.msg).toMatch(/larger than 1 MiB/);
  });
});

for (const { label, run: runPlugin, skip } of PLUGINS) describe.skipIf(!isRoot || skip)(needsRoot(`tabby-cni (${label}) against a socket, result accepted by the reference tuning plugin`), () => {
  const n = counter++;
  const ns = `tbycni${process.pid}x${n}`;
  const nsPath = `/var/run/netns/${ns}`;
  const hostIf = `tbyh${process.pid}x${n}`.slice(0, 15);
  let podMac = '';
  let server: CniSocketServer | undefined;
  let sock = '';
  const requests: CniRequest[] = [];

  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

  beforeAll(async () => {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'addr', 'add', '10.65.0.7/32', 'dev', 'eth0');
    podMac = (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'eth0')) as { address: string }[])[0]!.address;

    // The fixed answer the fake agent gives, shaped like the agent's real ADD result.
    const result: CniResult = {
      interfaces: [
        { name: hostIf, mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: podMac, sandbox: nsPath },
      ],
      ips: [{ address: '10.65.0.7/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
    };
    sock = join(dir, `agent-${uniq()}.sock`);
    server = await serveCniSocket(sock, async (req) => {
      requests.push(req);
      if (req.verb === 'ADD') return result;
      if (req.verb === 'DEL') return new CniError(CniCode.UnknownContainer, `no attachment for ${req.containerId}`);
      return undefined;
    });
  });

  afterAll(async () => {
    await server?.close();
    try {
      ip('link', 'del', hostIf);
    } catch {
      /* already gone with the namespace */
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      /* never created */
    }
  });

  const env = (verb: string): Record<string, string> => ({
    CNI_COMMAND: verb,
    CNI_CONTAINERID: `ctr${process.pid}`,
    CNI_NETNS: nsPath,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-${process.pid}`,
  });

  it('ADD prints the 1.0.0 result and sends the env-derived fields', async () => {
    const run = await runPlugin(env('ADD'), conf({ agent_socket: sock }));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: hostIf, mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: podMac, sandbox: nsPath },
      ],
      ips: [{ interface: 1, address: '10.65.0.7/32', gateway: '169.254.1.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
    });
    const req = requests.at(-1)!;
    expect(req).toMatchObject({ verb: 'ADD', cniVersion: '1.0.0', network: 'k8s-pod-network', containerId: `ctr${process.pid}`, netns: nsPath, ifname: 'eth0' });
    expect(req.pod).toEqual({ namespace: 'default', name: `web-${process.pid}` });
  });

  for (const v of ['0.3.1', '0.4.0']) {
    it(`ADD prints the result converted to ${v}`, async () => {
      const run = await runPlugin(env('ADD'), conf({ cniVersion: v, agent_socket: sock }));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out.cniVersion).toBe(v);
      expect(out.ips).toEqual([{ version: '4', interface: 1, address: '10.65.0.7/32', gateway: '169.254.1.1' }]);
      expect(out.interfaces[1]).toEqual({ name: 'eth0', mac: podMac, sandbox: nsPath });
    });
  }

  it('the 1.0.0 result is accepted as prevResult by /usr/lib/cni/tuning (ADD and CHECK)', async () => {
    const add = await runPlugin(env('ADD'), conf({ agent_socket: sock }));
    expect(add.code).toBe(0);
    const prevResult = JSON.parse(add.stdout) as Record<string, unknown>;
    const tuningConf = JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tuning', prevResult });
    const tAdd = await runProgram('/usr/lib/cni/tuning', [], env('ADD'), tuningConf);
    expect(tAdd.code, tAdd.stdout + tAdd.stderr).toBe(0);
    // tuning passes prevResult through after decoding it with the reference library.
    expect(JSON.parse(tAdd.stdout)).toEqual(prevResult);
    const tCheck = await runProgram('/usr/lib/cni/tuning', [], env('CHECK'), tuningConf);
    expect(tCheck.code, tCheck.stdout + tCheck.stderr).toBe(0);
  });

  it('CHECK forwards prevResult; DEL succeeds when the agent has nothing to delete, even without a netns', async () => {
    const add = await runPlugin(env('ADD'), conf({ agent_socket: sock }));
    const prevResult = JSON.parse(add.stdout) as Record<string, unknown>;
    const check = await runPlugin(env('CHECK'), conf({ agent_socket: sock, prevResult }));
    expect(check, check.stderr).toMatchObject({ code: 0, stdout: '' });
    expect(requests.at(-1)?.prevResult?.ips).toEqual([{ address: '10.65.0.7/32', gateway: '169.254.1.1', interface: 1 }]);
    const { CNI_NETNS: _, ...noNetns } = env('DEL');
    const del = await runPlugin(noNetns, conf({ agent_socket: sock, prevResult }));
    expect(del, del.stderr).toMatchObject({ code: 0, stdout: '' });
    expect(requests.at(-1)).toMatchObject({ verb: 'DEL', netns: '' });
  });
});
