/**
 * IPAM allocation throughput and latency on a real etcd, against a baseline measured in
 * the same run on the same server: one raw etcd compare-and-swap transaction per op (the
 * floor under any CAS-based allocator: an allocation needs at least one such write).
 *
 *   node --import tsx bench/ipam.bench.ts        (or: npm run bench -- ipam)
 *
 * Concurrency is async, in this one process: "4 nodes" means four Ipam instances (one per
 * node, each with its own client) allocating at the same time; the 4-way baseline is four
 * loops each CAS-ing its own key. Each node's client is wrapped in a CountingBackend, so the
 * table also gives datastore round trips per operation (the fast path's whole point).
 * Writes bench/results/ipam.{json,md}; progress on stderr.
 */
import { execFileSync } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { CountingBackend } from '../src/datastore/counting.js';
import type { EtcdBackend } from '../src/datastore/etcd.js';
import { createLogger } from '../src/log/logger.js';
import { Ipam } from '../src/ipam/allocator.js';
import { newBlock, allocate } from '../src/ipam/block.js';
import { parseCidr } from '../src/ipam/cidr.js';
import { IpamKeys } from '../src/ipam/keys.js';
import { DatastorePoolSource } from '../src/ipam/pools.js';
import { etcdBackendFor, startEtcd, ETCD_BINARY, type EtcdServer } from '../test/support/etcd.js';
import { cleanUpOnInterrupt } from './support/interrupt.js';
import { measure, type Measurement } from './support/measure.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';

const ALLOCS = Number(process.env.IPAM_BENCH_OPS ?? 1200);
const WARMUP = 30;

async function baseline(etcd: EtcdServer, concurrency: number): Promise<Measurement> {
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    // A value the size of a half-full /26 block, so the baseline writes what IPAM writes.
    const value = JSON.stringify(allocate(newBlock(parseCidr('10.0.0.0/26'), 'host:bench'), 'net.bench', 32, { node: 'bench' }).block);
    const revs: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      const key = `/bench/cas/${i}`;
      const r = await client.put(key).value(value).exec();
      revs.push(r.header.revision);
    }
    return await measure({ label: `etcd CAS txn x${concurrency}`, count: ALLOCS, concurrency, warmup: WARMUP }, async (_i, loop) => {
      const key = `/bench/cas/${loop}`;
      const r = await client.if(key, 'Mod', '==', revs[loop]!).then(client.put(key).value(value)).commit();
      if (!r.succeeded) throw new Error(`baseline CAS on ${key} lost: nothing else writes it, so this is a bug`);
      revs[loop] = r.header.revision;
    });
  } finally {
    client.close();
  }
}

/** A measurement plus the datastore round trips per recorded op (warmup excluded). */
type Counted = Measurement & { roundTripsPerOp: number };

async function ipamCase(etcd: EtcdServer, nodes: number, backends: EtcdBackend[]): Promise<{ alloc: Counted; release: Counted }> {
  const root = `/bench-ipam-${nodes}`;
  const logger = createLogger({ component: 'bench', level: 'warn' });
  const main = backends[0]!;
  await main.create(new IpamKeys(root).pool('bench'), JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'bench' },
    spec: { cidr: '10.96.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, nodeSelector: 'all()', disabled: false },
  }));
  // Each loop has its own Ipam on its own counted client, so a loop's count changes only
  // by its own calls (one op at a time per loop).
  const counted = backends.slice(0, nodes).map((b) => new CountingBackend(b));
  const ipams = counted.map((backend) => new Ipam({ backend, root, pools: new DatastorePoolSource({ backend, root, defaultPool: false }), logger }));
  const handles: string[][] = ipams.map(() => []);
  let trips = 0;
  const count = async (i: number, loop: number, op: () => Promise<unknown>): Promise<void> => {
    const before = counted[loop]!.roundTrips;
    await op();
    if (i >= 0) trips += counted[loop]!.roundTrips - before;
  };
  let warm = 0;
  const alloc = await measure({ label: `ipam autoAssign x${nodes}`, count: ALLOCS, concurrency: nodes, warmup: WARMUP }, async (i, loop) => {
    const handle = i < 0 ? `net.warm-${warm++}` : `net.c${i}`;
    await count(i, loop, () => ipams[loop]!.autoAssign({ handle, node: `node${loop}` }));
    handles[loop]!.push(handle);
  });
  const allocTrips = trips / ALLOCS;
  trips = 0;
  const release = await measure({ label: `ipam releaseByHandle x${nodes}`, count: ALLOCS, concurrency: nodes }, async (i, loop) => {
    await count(i, loop, () => ipams[loop]!.releaseByHandle(handles[loop]!.pop()!));
  });
  return { alloc: { ...alloc, roundTripsPerOp: allocTrips }, release: { ...release, roundTripsPerOp: trips / ALLOCS } };
}

async function main(): Promise<void> {
  process.stderr.write('ipam bench: starting etcd\n');
  const etcd = await startEtcd();
  cleanUpOnInterrupt(() => etcd.cleanup());
  const backends = Array.from({ length: 4 }, () => etcdBackendFor(etcd, { logger: createLogger({ component: 'bench', level: 'warn' }) }));
  try {
    const base1 = await baseline(etcd, 1);
    const ipam1 = await ipamCase(etcd, 1, backends);
    const base4 = await baseline(etcd, 4);
    const ipam4 = await ipamCase(etcd, 4, backends);
    const etcdVersion = execFileSync(ETCD_BINARY, ['--version']).toString().split('\n')[0] ?? 'unknown';

    const rows = [
      { name: 'baseline: etcd CAS txn', m: { ...base1, roundTripsPerOp: 1 }, base: base1 },
      { name: 'IPAM autoAssign (1 address)', m: ipam1.alloc, base: base1 },
      { name: 'IPAM releaseByHandle', m: ipam1.release, base: base1 },
      { name: 'baseline: etcd CAS txn', m: { ...base4, roundTripsPerOp: 1 }, base: base4 },
      { name: 'IPAM autoAssign (1 address)', m: ipam4.alloc, base: base4 },
      { name: 'IPAM releaseByHandle', m: ipam4.release, base: base4 },
    ];
    const table = markdownTable(
      ['operation', 'nodes', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'round trips/op', 'ops/s ÷ baseline', 'p50 ÷ baseline'],
      rows.map(({ name, m, base }) => [name, m.concurrency, m.count, fmt(m.opsPerSec), fmt(m.p50Ms), fmt(m.p99Ms), fmt(m.roundTripsPerOp), fmt(m.opsPerSec / base.opsPerSec), fmt(m.p50Ms / base.p50Ms)]),
    );
    const env = { ...environment(), etcd: etcdVersion };
    const md =
      `# IPAM benchmark\n\n` +
      `Real etcd (${etcdVersion}) on this machine, started by the benchmark. Baseline: one raw etcd ` +
      `compare-and-swap transaction per op (a block-sized value), measured in the same run. ` +
      `"nodes" = concurrent async callers in one process (separate Ipam instance and etcd client per node; ` +
      `the baseline's loops each CAS their own key). "round trips/op": datastore calls per op, counted by a ` +
      `wrapper around each node's client (warmup excluded). Ratios: ops/s below 1 and p50 above 1 mean slower than one raw CAS.\n\n` +
      table +
      `\n${env.date}, node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}).\n`;
    const { jsonPath, mdPath } = await writeResults('ipam', { environment: env, ops: ALLOCS, warmup: WARMUP, concurrency: 'async, in one process', rows: rows.map(({ name, m, base }) => ({ name, ...m, ratioOpsPerSec: m.opsPerSec / base.opsPerSec, ratioP50: m.p50Ms / base.p50Ms, ratioP99: m.p99Ms / base.p99Ms })) }, md);
    process.stderr.write(`ipam bench: wrote ${jsonPath} and ${mdPath}\n`);
    process.stdout.write(md);
  } finally {
    await Promise.all(backends.map((b) => b.close()));
    await etcd.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`ipam bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
