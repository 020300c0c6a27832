/**
 * The concurrency run again, at half size (a /22 of 16 blocks, caps summing to 1,000 that
 * need 17 blocks), with etcd SIGKILLed in the middle and restarted ~1.5 s later. Every
 * operation must either complete or fail with a clear DatastoreUnavailableError or
 * IpamError; the workers then resolve unknown outcomes by releasing by handle (as a CNI
 * DEL would), and afterwards nothing is leaked or duplicated.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackend } from '../../src/datastore/etcd.js';
import { allocationsOf } from '../../src/ipam/block.js';
import { checkIpam } from '../../src/ipam/check.js';
import { formatIPv4, ordinalToAddress, parseCidr } from '../../src/ipam/cidr.js';
import { IpamStore } from '../../src/ipam/store.js';
import { isRoot, needsRoot } from '../support/root.js';
import { etcdBackendFor, startEtcd, type EtcdServer } from '../support/etcd.js';
import { heldAddresses, killWorkers, putPool, runWorkers, type RunningWorkers } from './fixtures/ipam-run.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.skipIf(!isRoot)(needsRoot('IPAM survives etcd being killed mid-run'), () => {
  let etcd: EtcdServer | undefined;
  let backend: EtcdBackend | undefined;
  let dir: string | undefined;
  let workers: RunningWorkers | undefined;
  const root = `/tabby-ipam-fault-${process.pid}`;

  beforeAll(async () => {
    etcd = await startEtcd();
    backend = etcdBackendFor(etcd);
    dir = await mkdtemp(join(tmpdir(), `tabby-ipam-fault-${process.pid}-`));
  });

  afterAll(async () => {
    killWorkers(workers);
    await backend?.close();
    await etcd?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes or fails clearly, and leaks nothing after recovery', async () => {
    await putPool(backend!, root, 'fault', '10.45.0.0/22', 26);
    const caps = [130, 250, 310, 310];
    const allocs = 400;
    workers = runWorkers(
      caps.map((cap, i) => ({
        endpoints: etcd!.endpoints,
        root,
        node: `node${i}`,
        allocs,
        releaseEvery: 5,
        cap,
        seed: 2000 + i,
        out: join(dir!, `node${i}.json`),
        failurePauseMs: 50,
      })),
    );
    await workers.progressAt(600);
    const before = workers.progress();
    await etcd!.kill();
    await sleep(1500);
    await etcd!.start();
    const results = await workers.done;
    expect(before).toBeLessThan(4 * allocs); // the kill really happened mid-run

    const failures = results.flatMap((r) => r.failures);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(['DatastoreUnavailableError', 'IpamError'], `${f.op} ${f.handle}: ${f.name} ${f.message}`).toContain(f.name);
      expect(f.message.length).toBeGreaterThan(20);
    }
    for (const r of results) {
      expect(r.fatal).toBeUndefined();
      expect(r.unresolved).toEqual([]);
      expect(r.guardRefusals).toBe(0);
    }

    const { addresses, handles } = heldAddresses(results);
    expect(new Set(addresses).size).toBe(addresses.length);
    const inEtcd = new Map<string, string | null>();
    for (const b of await new IpamStore(backend!, root).listBlocks()) {
      const cidr = parseCidr(b.doc.cidr);
      for (const a of allocationsOf(b.doc)) inEtcd.set(formatIPv4(ordinalToAddress(cidr, a.ordinal)), a.handle);
    }
    expect(inEtcd.size).toBe(addresses.length);
    for (const h of results.flatMap((r) => r.held)) expect(inEtcd.get(h.address)).toBe(h.handle);

    const report = await checkIpam({ backend: backend!, root, endpoints: { handles } });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(addresses.length);
    expect(report.totals.handles).toBe(addresses.length);
    // Report what the outage did (visible with --reporter=verbose).
    console.info(`ipam fault run: ${failures.length} failed operations, ${addresses.length} addresses held; e.g. ${failures[0]?.name}: ${failures[0]?.message}`);
  });
});
