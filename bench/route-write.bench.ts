/**
 * Kernel route writes: N IPv4 routes (protocol 84, via a connected gateway) written into an
 * empty main table and then deleted, three ways, each round in a fresh network namespace:
 *
 *   - `ip -batch` (iproute2, the baseline): one `route replace`/`route del` per line on one
 *     persistent socket, one message and one ACK per route, as BIRD's kernel protocol does;
 *   - tabby per route: NetlinkRoutes.replace/delete, one synchronous addon call per route
 *     (each enters the namespace, opens a socket, sends, reads the ACK, closes);
 *   - tabby batch: NetlinkRoutes.writeBatch, every route in one call (one socket, messages
 *     sent ~64 KiB per sendto from a libuv worker, the kernel answering only
 *     failures and one ACK per chunk, read with recvmmsg).
 *
 *   node --import tsx bench/route-write.bench.ts [--routes 100000] [--rounds 3] [--only batch]
 *
 * Times are wall clock from the call to the last ACK (for `ip`: process start to exit, which
 * includes ~2 ms of start-up). Every round checks that the table then holds exactly N
 * routes of protocol 84 (and none after the delete). "Loop stall" is the longest the event
 * loop could not run during the write (the longest gap between ticks of a 1 ms interval):
 * the per-route path is synchronous, the batch only blocks while it validates and encodes.
 * "Main CPU" is the CPU time of the agent's main (JS) thread alone during the write and
 * during the delete, read from /proc/self/task/<pid>/schedstat (nanoseconds on CPU; Node 20
 * has no process.threadCpuUsage, and process.cpuUsage() counts the libuv workers that do
 * the kernel work too). It includes the 1 ms stall ticker during the write (a few ms), not
 * during the delete.
 * Rounds alternate the order of the contenders; the table gives each one's best round and
 * its ratio to `ip -batch`'s best round of the same run. Writes bench/results/route-write.{json,md}.
 * Namespaces are named tby<pid>n… (test/support/netns.ts) and removed in `finally`, on a
 * signal and when our output's reader goes away (support/interrupt.ts). This reports, it never asserts (beyond the route counts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Netlink, type RouteWrite } from '../src/native/netlink.js';
import type { RouteBatchOp } from '../src/native/netlink-routes.js';
import { mustRun, NetnsLab, type Netns } from '../test/support/netns.js';
import { cleanUpOnInterrupt } from './support/interrupt.js';
import { intArg } from './support/args.js';
import { Progress } from './support/progress.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';


const N = intArg('routes', 100_000);
const ROUNDS = intArg('rounds', 3);
const GATEWAY = '10.255.0.2';
const PROTO = 84;

type Contender = 'ip -batch' | 'tabby per route' | 'tabby batch';
const ALL_CONTENDERS: Contender[] = ['ip -batch', 'tabby per route', 'tabby batch'];
// `--only batch` leaves out the slow per-route contender (ip -batch stays: it is the baseline).
const CONTENDERS = process.argv.includes('--only') ? ALL_CONTENDERS.filter((c) => c !== 'tabby per route') : ALL_CONTENDERS;

interface Sample {
  contender: Contender;
  round: number;
  writeS: number;
  deleteS: number;
  /** Longest event-loop stall during the write, ms (NaN for ip). */
  writeStallMs: number;
  /** CPU time of the main thread during the write and during the delete, ms (NaN for ip). */
  writeMainCpuMs: number;
  deleteMainCpuMs: number;
}

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** The main thread's time on CPU so far, ms (its first schedstat field is nanoseconds); NaN without schedstat. */
function mainThreadCpuMs(): number {
  if (!existsSync(SCHEDSTAT)) return NaN;
  return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
}

/** 20.0.0.0/24, 20.0.1.0/24, ...: N distinct /24s outside anything the namespace has. */
function dst(i: number): string {
  return `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
}

function routeCount(ns: Netns): number {
  // Counted by `wc` (the listing of 100,000 routes is more than spawnSync buffers).
  return Number(mustRun(['sh', '-c', `ip -n ${ns.name} -4 -o route show proto ${PROTO} | wc -l`], { timeoutMs: 120_000 }).trim());
}

/**
 * Runs fn while measuring the longest event-loop stall (ms): a 1 ms interval notes the
 * longest gap between its ticks (a synchronous fn is one gap as long as itself).
 */
async function withStall<T>(fn: () => Promise<T> | T): Promise<{ value: T; stallMs: number; seconds: number; cpuMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  try {
    const value = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const cpuMs = mainThreadCpuMs() - cpu0;
    // Let the ticker fire once more, so a stall that ends with fn is counted.
    await new Promise((r) => setTimeout(r, 5));
    return { value, stallMs, seconds, cpuMs };
  } finally {
    clearInterval(ticker);
  }
}

async function oneRound(lab: NetnsLab, contender: Contender, round: number, files: { add: string; del: string }, nl: Netlink): Promise<Sample> {
  const ns = lab.netns();
  const peer = lab.netns();
  lab.veth({ netns: ns, address: '10.255.0.1/24' }, { netns: peer, address: '10.255.0.2/24' });
  const opts = { netns: ns.path };
  const routes: RouteWrite[] = Array.from({ length: N }, (_, i) => ({ dst: dst(i), gateway: GATEWAY, protocol: PROTO }));
  let write: { stallMs: number; seconds: number; cpuMs: number };
  let deleteS: number;
  const progress = new Progress(`${contender} round ${round}`, 2);
  if (contender === 'ip -batch') {
    write = await withStall(() => mustRun(['ip', '-n', ns.name, '-batch', files.add], { timeoutMs: 600_000 }));
    write.stallMs = NaN; // a child process: our loop is not what it blocks
    write.cpuMs = NaN;
  } else if (contender === 'tabby per route') {
    write = await withStall(() => {
      for (const r of routes) nl.routes.replace(r, opts);
    });
  } else {
    write = await withStall(async () => {
      const results = await nl.routes.writeBatch(routes.map((route) => ({ op: 'replace', route })), opts);
      const failed = results.filter((e) => e !== undefined);
      if (failed.length > 0) throw new Error(`${failed.length} batch writes failed, first: ${failed[0]?.message}`);
    });
  }
  progress.update(1);
  const written = routeCount(ns);
  if (written !== N) throw new Error(`${contender}: the table holds ${written} routes of protocol ${PROTO} after writing ${N}`);

  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  if (contender === 'ip -batch') mustRun(['ip', '-n', ns.name, '-batch', files.del], { timeoutMs: 600_000 });
  else if (contender === 'tabby per route') for (const r of routes) nl.routes.delete({ dst: r.dst, protocol: PROTO }, opts);
  else {
    const ops: RouteBatchOp[] = routes.map((r) => ({ op: 'delete', route: { dst: r.dst, protocol: PROTO } }));
    const failed = (await nl.routes.writeBatch(ops, opts)).filter((e) => e !== undefined);
    if (failed.length > 0) throw new Error(`${failed.length} batch deletes failed, first: ${failed[0]?.message}`);
  }
  deleteS = (performance.now() - t0) / 1000;
  const deleteMainCpuMs = contender === 'ip -batch' ? NaN : mainThreadCpuMs() - cpu0;
  const left = routeCount(ns);
  if (left !== 0) throw new Error(`${contender}: ${left} routes of protocol ${PROTO} left after deleting`);
  const cpu = Number.isNaN(write.cpuMs) ? '' : ` (main thread ${write.cpuMs.toFixed(0)} / ${deleteMainCpuMs.toFixed(0)} ms CPU)`;
  progress.done(`write ${write.seconds.toFixed(3)} s, delete ${deleteS.toFixed(3)} s${cpu}`);
  lab.cleanup();
  return { contender, round, writeS: write.seconds, deleteS, writeStallMs: write.stallMs, writeMainCpuMs: write.cpuMs, deleteMainCpuMs };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-route-write-'));
  const files = { add: join(dir, 'add.batch'), del: join(dir, 'del.batch') };
  const lines = (verb: string, tail: string) => Array.from({ length: N }, (_, i) => `route ${verb} ${dst(i)}${tail}\n`).join('');
  writeFileSync(files.add, lines('replace', ` via ${GATEWAY} proto ${PROTO}`));
  writeFileSync(files.del, lines('del', ` proto ${PROTO}`));
  const lab = new NetnsLab();
  const cleanup = (): void => {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  cleanUpOnInterrupt(cleanup);
  const samples: Sample[] = [];
  const nl = new Netlink();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? CONTENDERS : [...CONTENDERS].reverse();
      for (const c of order) samples.push(await oneRound(lab, c, round, files, nl));
    }
  } finally {
    cleanup();
  }

  const best = (c: Contender, key: 'writeS' | 'deleteS') => Math.min(...samples.filter((s) => s.contender === c).map((s) => s[key]));
  const baseWrite = best('ip -batch', 'writeS');
  const baseDelete = best('ip -batch', 'deleteS');
  const summary = CONTENDERS.map((c) => {
    const w = best(c, 'writeS');
    const d = best(c, 'deleteS');
    const mine = samples.filter((s) => s.contender === c);
    const stalls = mine.map((s) => s.writeStallMs);
    const cpuWrite = mine.map((s) => s.writeMainCpuMs);
    const cpuDelete = mine.map((s) => s.deleteMainCpuMs);
    return {
      contender: c,
      writeS: w,
      routesPerS: N / w,
      writeRatioToIp: w / baseWrite,
      deleteS: d,
      deleteRatioToIp: d / baseDelete,
      worstWriteStallMs: stalls.some(Number.isNaN) ? null : Math.max(...stalls),
      // Least main-thread CPU of the rounds (like the times: the round least disturbed by others).
      writeMainCpuMs: cpuWrite.some(Number.isNaN) ? null : Math.min(...cpuWrite),
      deleteMainCpuMs: cpuDelete.some(Number.isNaN) ? null : Math.min(...cpuDelete),
    };
  });
  const env = environment();
  const rows = summary.map((s) => [
    s.contender,
    fmt(s.writeS),
    Math.round(s.routesPerS),
    fmt(s.writeRatioToIp),
    fmt(s.deleteS),
    fmt(s.deleteRatioToIp),
    s.worstWriteStallMs === null ? 'n/a (child process)' : fmt(s.worstWriteStallMs),
    s.writeMainCpuMs === null ? 'n/a' : fmt(s.writeMainCpuMs),
    s.deleteMainCpuMs === null ? 'n/a' : fmt(s.deleteMainCpuMs),
  ]);
  const md =
    `# Route writes: ${N} IPv4 routes into an empty table, then deleted\n\n` +
    `Best of ${ROUNDS} rounds per contender, contenders alternating, each round in a fresh network namespace ` +
    `(routes via a connected gateway, protocol ${PROTO}). Ratio = time / \`ip -batch\`'s time in the same run (< 1 is faster). ` +
    `Loop stall: the longest the Node event loop was blocked during the write, worst round. ` +
    `Main CPU: CPU time of the Node main thread alone (schedstat) during the write / the delete, least of the rounds.\n\n` +
    markdownTable(['contender', 'write s', 'routes/s', 'ratio to ip -batch', 'delete s', 'delete ratio', 'loop stall ms', 'write main CPU ms', 'delete main CPU ms'], rows) +
    `\n\`ip -batch\`: one message and one ACK per route on one socket. tabby per route: one addon call per route ` +
    `(namespace switch, socket, send, ACK, close). tabby batch: NetlinkRoutes.writeBatch, one call for all routes ` +
    `(one socket on a libuv worker, ~64 KiB of messages per sendto, errors and one ACK per chunk read with recvmmsg).\n\n` +
    `Environment: ${env.cpuModel}, ${env.cpus} CPUs, Node ${env.node}, ${env.date}\n`;
  const out = await writeResults('route-write', { benchmark: 'route-write', environment: env, routes: N, rounds: ROUNDS, summary, samples }, md);
  process.stdout.write(md);
  process.stderr.write(`wrote ${out.jsonPath} and ${out.mdPath}\n`);
}

await main();
