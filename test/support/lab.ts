/**
 * Helpers for the `tabby lab` integration tests: a unique lab name per test file, the real
 * CLI run with that name, and a snapshot of everything a lab could leave on the machine so
 * a test can prove that `lab down` left it as it was.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { entryCommand } from '../../src/lab/entries.js';
import type { LabState } from '../../src/lab/state.js';
import { runTabby, type CliResult } from './cli.js';
import { run } from './netns.js';

let counter = 0;

/** `t<pid><letter>`: unique per process and call, valid as a lab name (no dashes, ≤16 chars). */
export function uniqueLabName(): string {
  return `t${process.pid}${String.fromCharCode(97 + (counter++ % 26))}`;
}

/** `tabby lab <args>` for the named lab (TABBY_LAB_NAME), as a user runs it. */
export function lab(name: string, args: string[], opts: { stdin?: string } = {}): Promise<CliResult> {
  return runTabby(['lab', ...args], { env: { TABBY_LAB_NAME: name, TABBY_LOG_LEVEL: 'warn' }, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
}

/** Like lab(), but a non-zero exit throws with the output, so setup failures read clearly. */
export async function mustLab(name: string, args: string[]): Promise<CliResult> {
  const r = await lab(name, args);
  if (r.code !== 0) throw new Error(`tabby lab ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

export interface LabFootprint {
  netns: string[];
  hostLinks: string[];
  processes: string[];
  pins: string[];
  runDir: boolean;
}

/** Host links other test processes make (test/support/netns.ts names): not ours to judge. */
const OTHER_TESTS_LINK = /^tby\d+[nv]/;

function hostLinks(): string[] {
  return run(['ip', '-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && !OTHER_TESTS_LINK.test(n))
    .sort();
}

function labProcesses(name: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd.includes(`/run/tabby-lab/${name}/`) || cmd.includes(`tby-${name}-`)) out.push(`${pid} ${cmd.trim()}`);
  }
  return out;
}

/** What a lab named `name` has on this machine (or would have left behind). */
export function footprint(name: string): LabFootprint {
  const prefix = `tby-${name}-`;
  return {
    netns: existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : [],
    hostLinks: hostLinks(),
    processes: labProcesses(name),
    pins: existsSync('/sys/fs/bpf/tabby') ? readdirSync('/sys/fs/bpf/tabby').filter((p) => p.startsWith(`${name}-`)) : [],
    runDir: existsSync(`/run/tabby-lab/${name}`),
  };
}

/** Differences between a footprint before the lab and after `lab down` (empty when clean). */
export function leftovers(before: LabFootprint, after: LabFootprint): string[] {
  const out: string[] = [];
  out.push(...after.netns.map((n) => `netns ${n}`));
  out.push(...after.hostLinks.filter((l) => !before.hostLinks.includes(l)).map((l) => `host link ${l}`));
  out.push(...after.processes.map((p) => `process ${p}`));
  out.push(...after.pins.map((p) => `pin dir /sys/fs/bpf/tabby/${p}`));
  if (after.runDir) out.push('run dir');
  return out;
}

/** `ip route` lines in a namespace, for route checks. */
export function routesIn(netns: string): string[] {
  return run(['ip', '-4', 'route', 'show'], { netns }).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * Checks the kernel routes of every node against the lab's pods: a pod on node N is
 * reached on N through its own `cali*` interface and from every other node via N's
 * underlay address; each node has exactly one `cali*` interface per pod it hosts.
 * Returns the problems found (empty when all is as expected).
 */
export function routeProblems(state: LabState): string[] {
  const problems: string[] = [];
  for (const node of state.nodes) {
    const cali = run(['ip', '-o', 'link', 'show'], { netns: node.netns })
      .stdout.split('\n')
      .map((l) => /^\d+:\s+(cali[^:@\s]*)/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined);
    const hosted = state.pods.filter((p) => p.node === node.name);
    if (cali.length !== hosted.length) problems.push(`${node.name}: ${cali.length} cali interfaces (${cali.join(' ')}) for ${hosted.length} pods`);
    for (const pod of state.pods) {
      const got = run(['ip', '-4', 'route', 'get', pod.ip], { netns: node.netns }).stdout.trim();
      const home = state.nodes.find((n) => n.name === pod.node)!;
      const want = pod.node === node.name ? /dev cali\w+/ : new RegExp(`via ${home.address.split('/')[0]!.replace(/\./g, '\\.')} dev eth0`);
      if (!want.test(got)) problems.push(`${node.name}: route to ${pod.name} (${pod.ip}) is '${got}', want ${want}`);
    }
  }
  return problems;
}

/** Routes in a node that mention exactly this address (a /32 of a deleted pod must be gone). */
export function routesFor(netns: string, ip: string): string[] {
  return routesIn(netns).filter((l) => l.split(/\s+/).some((w) => w === ip || w === `${ip}/32`));
}

/** A process inside a namespace (ip netns exec), with its stdout collected. */
export function spawnIn(netns: string, argv: string[]): { child: ChildProcess; output: () => string; exited: Promise<number> } {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, output: () => out, exited };
}

/**
 * Resolves once `f()` is true, polling every `pollMs`; after `ms` rejects naming `what`
 * and the last observation (`detail()`). Polls that run the CLI want a slower `pollMs`.
 */
export async function until(
  what: string,
  f: () => boolean | Promise<boolean>,
  ms = 30_000,
  detail: () => string | Promise<string> = () => '',
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${await detail()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `until` polling once a second: for conditions that run the CLI (node status, probes). */
export function untilEverySecond(what: string, f: () => boolean | Promise<boolean>, ms: number, detail?: () => string | Promise<string>): Promise<void> {
  return until(what, f, ms, detail, 1000);
}

export interface StreamResult {
  sender: { exit: number; bytes: number; error?: string };
  sink: { exit: number; bytes: number; error?: string };
}

/**
 * A long TCP stream from pod `src` to pod `dst` (the lab's probe helper, `sink` and `send`),
 * with `during()` run while it flows: the sender keeps streaming until its stdin closes, so
 * whatever `during` does happens mid-transfer. Returns what each side counted.
 */
export async function streamDuring(
  src: { netns: string },
  dst: { netns: string; ip: string },
  opts: { mbps: number; minBytes: number },
  during: () => Promise<void>,
): Promise<StreamResult> {
  const probe = entryCommand('probe', { preferBuilt: true });
  const sink = spawnIn(dst.netns, [...probe, 'sink', '--port', '5201']);
  let send: ReturnType<typeof spawnIn> | undefined;
  try {
    await until('the sink to listen', () => sink.output().includes('ready'), 30_000, sink.output);
    send = spawnIn(src.netns, [...probe, 'send', '--to', `${dst.ip}:5201`, '--mbps', String(opts.mbps), '--min-bytes', String(opts.minBytes)]);
    await until('the sender to connect', () => send!.output().includes('sending'), 30_000, () => `sender: ${send!.output()} sink: ${sink.output()}`);
    await during();
    send.child.stdin!.end();
    const [sendExit, sinkExit] = [await send.exited, await sink.exited];
    const report = (out: string): { bytes: number; error?: string } => JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{"bytes":-1}') as { bytes: number; error?: string };
    return { sender: { exit: sendExit, ...report(send.output()) }, sink: { exit: sinkExit, ...report(sink.output()) } };
  } finally {
    send?.child.kill('SIGKILL');
    sink.child.kill('SIGKILL');
  }
}
