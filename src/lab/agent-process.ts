/**
 * One `tabby agent` per lab node, started inside the node's network namespace with its own
 * state dir, pin dir, CNI socket and log file, detached so it outlives `tabby lab up`.
 * Readiness is its /readyz, fetched from inside the node namespace (the agent listens on
 * the node's loopback, which only that namespace can reach).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { entryCommand } from './entries.js';
import { LabError } from './errors.js';
import { inNetns, runCommand } from './run-command.js';
import { pidAlive, type LabClusterRoutes, type LabDataplane, type LabNode } from './state.js';

export interface AgentSettings {
  etcdEndpoint: string;
  dataplane: LabDataplane;
  poolCidr: string;
  logLevel: string;
  /** Absent: the agent's default (datastore). */
  clusterRoutes?: LabClusterRoutes;
  /** Where `tabby lab secret` writes BGP passwords. */
  bgpSecretsDir: string;
}

export function agentArgs(node: LabNode, s: AgentSettings): string[] {
  return [
    'agent',
    `--node-name=${node.name}`,
    `--etcd-endpoints=${s.etcdEndpoint}`,
    `--dataplane=${s.dataplane}`,
    `--state-dir=${node.stateDir}`,
    `--pin-dir=${node.pinDir}`,
    `--cni-socket=${node.cniSocket}`,
    `--http-listen=${node.httpListen}`,
    '--uplink=eth0',
    `--node-ip=${node.address}`,
    `--default-pool-cidr=${s.poolCidr}`,
    `--log-level=${s.logLevel}`,
    `--bgp-secrets-dir=${s.bgpSecretsDir}`,
    ...(s.clusterRoutes ? [`--cluster-routes=${s.clusterRoutes}`] : []),
  ];
}

export async function startAgent(node: LabNode, s: AgentSettings): Promise<number> {
  await mkdir(node.stateDir, { recursive: true });
  const log = await open(node.logFile, 'a');
  await log.write(`--- ${new Date().toISOString()} starting agent for ${node.name}\n`);
  const [cmd, ...args] = inNetns(node.netns, [...entryCommand('cli'), ...agentArgs(node, s)]);
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env: { ...process.env, TABBY_LOG_LEVEL: s.logLevel } });
  await log.close();
  child.unref();
  if (child.pid === undefined) throw new LabError('LAB_COMMAND', `cannot start the agent of ${node.name}`);
  return child.pid;
}

// Polls /readyz for up to `ms` from inside the namespace; exit 0 when ready.
const READY_POLL = `
const [url, ms] = process.argv.slice(1);
const http = require('node:http');
const end = Date.now() + Number(ms);
let last = 'no answer';
const once = () => new Promise((res) => {
  const req = http.get(url, { timeout: 1000 }, (r) => { r.resume(); last = 'HTTP ' + r.statusCode; res(r.statusCode === 200); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { last = e.message; res(false); });
});
(async () => {
  do { if (await once()) process.exit(0); await new Promise((r) => setTimeout(r, 150)); } while (Date.now() < end);
  console.log(last); process.exit(1);
})();`;

/** Waits until the agent answers 200 on /readyz; fails early when its process dies. */
export async function waitAgentReady(node: LabNode, pid: number, timeoutMs: number): Promise<void> {
  const url = `http://${node.httpListen}/readyz`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) throw new LabError('LAB_TIMEOUT', `the agent of ${node.name} (pid ${pid}) exited during start:\n${await logTail(node.logFile)}`);
    const r = await runCommand([process.execPath, '-e', READY_POLL, url, '2000'], { netns: node.netns, timeoutMs: 10_000 });
    if (r.code === 0) return;
    last = r.stdout.trim() || r.stderr.trim();
  }
  throw new LabError('LAB_TIMEOUT', `the agent of ${node.name} is not ready after ${timeoutMs} ms (${url}: ${last}); its log is ${node.logFile}:\n${await logTail(node.logFile)}`);
}

export async function logTail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** One /readyz request from inside the node namespace. */
export async function agentReadyNow(node: LabNode): Promise<boolean> {
  const r = await runCommand([process.execPath, '-e', READY_POLL, `http://${node.httpListen}/readyz`, '0'], { netns: node.netns, timeoutMs: 10_000 });
  return r.code === 0;
}

/** Sends `signal` and waits up to `graceMs` for the process to go, then SIGKILLs it. */
export async function stopProcess(pid: number, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

