/**
 * CNI ADD and DEL latency of the real tabby-cni in a 1-node lab (agent, etcd, netlink all
 * real), against a baseline measured in the same run on the same machine: Debian's
 * reference `bridge` plugin with `host-local` IPAM (/usr/lib/cni), doing the same ADD/DEL
 * in the same node namespace. Each case runs 100 pods serially, then 100 pods 10 at a time.
 *
 *   node --import tsx bench/cni.bench.ts        (or: npm run bench -- cni)
 *
 * Latency is measured around the plugin process, as a container runtime sees it (process
 * start, netns entry, the agent's work, exit). Pod namespaces are made before and removed
 * after each case, outside the timing. tabby-cni runs from dist/ when built (what a
 * runtime executes); from source it would mostly time the TypeScript loader.
 * Targets (reported, never asserted): ADD p50 < 25 ms, p99 < 100 ms.
 * Writes bench/results/cni.{json,md}; progress on stderr. Needs root.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { entryCommand } from '../src/lab/entries.js';
import { invokeCni, type CniCall } from '../src/lab/cni-invoke.js';
import { Lab } from '../src/lab/lab.js';
import { netnsPath } from '../src/lab/names.js';
import { runCommand } from '../src/lab/run-command.js';
import { createNetns } from '../src/lab/underlay.js';
import type { LabNode, LabState } from '../src/lab/state.js';
import { measure, type Measurement } from './support/measure.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';

const PODS = Number(process.env.CNI_BENCH_PODS ?? 100);
const CONCURRENCY = 10;
const TARGET_P50_MS = 25;
const TARGET_P99_MS = 100;

interface Plugin {
  label: string;
  call(verb: 'ADD' | 'DEL', i: number, netns: string): CniCall;
}

interface CaseResult {
  plugin: string;
  concurrency: number;
  add: Measurement;
  del: Measurement;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runCase(lab: Lab, plugin: Plugin, concurrency: number, tag: string): Promise<CaseResult> {
  const podNs = Array.from({ length: PODS }, (_, i) => lab.names.podNetns(`${tag}${i}`));
  log(`${plugin.label} x${concurrency}: making ${PODS} pod namespaces`);
  for (const ns of podNs) await createNetns(ns, false);
  try {
    const add = await measure({ label: `${plugin.label} ADD x${concurrency}`, count: PODS, concurrency }, (i) => invokeCni(plugin.call('ADD', i, podNs[i]!)));
    const del = await measure({ label: `${plugin.label} DEL x${concurrency}`, count: PODS, concurrency }, (i) => invokeCni(plugin.call('DEL', i, podNs[i]!)));
    return { plugin: plugin.label, concurrency, add, del };
  } finally {
    for (const ns of podNs) await runCommand(['ip', 'netns', 'del', ns]);
  }
}

function tabbyPlugin(lab: Lab, state: LabState, node: LabNode, tag: string): Plugin {
  return {
    label: 'tabby-cni',
    call: (verb, i, netns) =>
      lab.cniCall(state, node, verb, { name: `${tag}${i}`, namespace: 'bench', containerId: `bench-${tag}-${i}`, netns, labels: {} }),
  };
}

function bridgePlugin(node: LabNode, dataDir: string, tag: string): Plugin {
  const netconf = {
    cniVersion: '1.0.0',
    name: 'bench-bridge',
    type: 'bridge',
    bridge: 'cnibench0',
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/16' }]], dataDir },
  };
  return {
    label: 'bridge+host-local',
    call: (verb, i, netns) => ({
      plugin: ['/usr/lib/cni/bridge'],
      verb,
      containerId: `bench-${tag}-${i}`,
      netnsPath: netnsPath(netns),
      ifname: 'eth0',
      args: {},
      netconf,
      runIn: node.netns,
    }),
  };
}

function row(r: CaseResult, base: CaseResult | undefined): (string | number)[] {
  const ratio = (a: number, b: number | undefined) => (b ? fmt(a / b) : '');
  return [
    r.plugin,
    r.concurrency,
    fmt(r.add.p50Ms),
    fmt(r.add.p99Ms),
    fmt(r.del.p50Ms),
    fmt(r.del.p99Ms),
    fmt(r.add.opsPerSec),
    ratio(r.add.p50Ms, base?.add.p50Ms),
    ratio(r.add.p99Ms, base?.add.p99Ms),
    ratio(r.del.p50Ms, base?.del.p50Ms),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the CNI benchmark needs root (network namespaces, a lab with an agent)');
  if (!existsSync('/usr/lib/cni/bridge')) throw new Error('/usr/lib/cni/bridge missing: apt-get install containernetworking-plugins');
  const cni = entryCommand('cni', { preferBuilt: true });
  if (cni.includes('--import')) log('warning: dist/cni/main.js is missing or older than its source; timing tabby-cni under the tsx loader (run npm run build:ts)');
  const lab = new Lab(`b${process.pid}`, { progress: log, cniPlugin: cni });
  const stop = () => void lab.down().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await lab.down();
  try {
    await lab.up({ nodes: 1, podsPerNode: 0, logLevel: 'warn' });
    const state = await lab.state();
    const node = state.nodes[0]!;
    const results: CaseResult[] = [];
    for (const c of [1, CONCURRENCY]) {
      results.push(await runCase(lab, tabbyPlugin(lab, state, node, `t${c}x`), c, `t${c}x`));
      results.push(await runCase(lab, bridgePlugin(node, `${node.dir}/host-local`, `b${c}x`), c, `b${c}x`));
    }
    // Every tabby pod was deleted again: the pool must be empty (a leak would skew later runs).
    const leaks = (await lab.ctlCapture(state, ['ipam', 'check'])).stdout;
    const base = (c: number) => results.find((r) => r.plugin !== 'tabby-cni' && r.concurrency === c);
    const tabby = results.filter((r) => r.plugin === 'tabby-cni');
    const serial = tabby.find((r) => r.concurrency === 1)!;
    const md =
      `# CNI ADD/DEL latency (${PODS} pods per case)\n\n` +
      `tabby-cni (${cni.slice(1).join(' ').replace(fileURLToPath(new URL('..', import.meta.url)), '')}) with a real agent (${state.dataplane} dataplane) and etcd, vs Debian's bridge + host-local in the same node namespace. ` +
      `Times in ms around the plugin process; ratios are tabby / baseline at the same concurrency.\n\n` +
      markdownTable(
        ['plugin', 'concurrency', 'ADD p50', 'ADD p99', 'DEL p50', 'DEL p99', 'ADD ops/s', 'ADD p50 ratio', 'ADD p99 ratio', 'DEL p50 ratio'],
        results.map((r) => row(r, r.plugin === 'tabby-cni' ? base(r.concurrency) : undefined)),
      ) +
      `\nTargets (serial ADD): p50 < ${TARGET_P50_MS} ms: ${serial.add.p50Ms < TARGET_P50_MS ? 'met' : 'NOT met'} (${fmt(serial.add.p50Ms)}); ` +
      `p99 < ${TARGET_P99_MS} ms: ${serial.add.p99Ms < TARGET_P99_MS ? 'met' : 'NOT met'} (${fmt(serial.add.p99Ms)}).\n` +
      `\nipam check after the run: ${leaks.trim().split('\n').pop()}\n`;
    const { mdPath } = await writeResults('cni', { environment: environment(), pods: PODS, plugin: cni, dataplane: state.dataplane, targets: { addP50Ms: TARGET_P50_MS, addP99Ms: TARGET_P99_MS }, results, ipamCheck: leaks }, md);
    process.stdout.write(md);
    log(`results: ${mdPath}`);
  } finally {
    log('tearing the lab down');
    await lab.down();
  }
}

await main();
