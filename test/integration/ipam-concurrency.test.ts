/**
 * Four node processes allocate from one pool on a real etcd at the same time. The pool is
 * sized so the nodes must claim blocks and some must borrow: caps 260/500/620/620 (2,000
 * addresses) fit the /21's 2,048 addresses, but need 5+8+10+10 = 33 of its 32 /26 blocks,
 * so at the end at least one node holds addresses in another node's block.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackend } from '../../src/datastore/etcd.js';
import { checkIpam } from '../../src/ipam/check.js';
import { formatIPv4, ordinalToAddress, parseCidr } from '../../src/ipam/cidr.js';
import { allocationsOf } from '../../src/ipam/block.js';
import { IpamStore } from '../../src/ipam/store.js';
import { isRoot, needsRoot } from '../support/root.js';
import { runTabby } from '../support/cli.js';
import { etcdBackendFor, startEtcd, type EtcdServer } from '../support/etcd.js';
import { heldAddresses, killWorkers, putPool, runWorkers, type RunningWorkers } from './fixtures/ipam-run.js';

describe.skipIf(!isRoot)(needsRoot('IPAM with 4 concurrent node processes on real etcd'), () => {
  let etcd: EtcdServer | undefined;
  let backend: EtcdBackend | undefined;
  let dir: string | undefined;
  let workers: RunningWorkers | undefined;
  const root = `/tabby-ipam-${process.pid}`;

  beforeAll(async () => {
    etcd = await startEtcd();
    backend = etcdBackendFor(etcd);
    dir = await mkdtemp(join(tmpdir(), `tabby-ipam-conc-${process.pid}-`));
  });

  afterAll(async () => {
    killWorkers(workers);
    await backend?.close();
    await etcd?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('hands out no address twice, loses none, and keeps affinities consistent', async () => {
    await putPool(backend!, root, 'conc', '10.44.0.0/21', 26);
    const caps = [260, 500, 620, 620];
    workers = runWorkers(
      caps.map((cap, i) => ({
        endpoints: etcd!.endpoints,
        root,
        node: `node${i}`,
        allocs: 1000,
        releaseEvery: 5,
        cap,
        seed: 1000 + i,
        out: join(dir!, `node${i}.json`),
        failurePauseMs: 0,
      })),
    );
    const results = await workers.done;

    for (const r of results) {
      expect(r.fatal).toBeUndefined();
      expect(r.failures).toEqual([]);
      expect(r.guardRefusals).toBe(0);
      expect(r.allocated).toBe(1000);
      expect(r.held.length).toBe(caps[results.indexOf(r)]);
    }
    const { addresses, handles } = heldAddresses(results);
    expect(new Set(addresses).size).toBe(addresses.length);

    // What etcd holds is exactly what the workers hold, address for address.
    const inEtcd = new Map<string, string | null>();
    for (const b of await new IpamStore(backend!, root).listBlocks()) {
      const cidr = parseCidr(b.doc.cidr);
      for (const a of allocationsOf(b.doc)) inEtcd.set(formatIPv4(ordinalToAddress(cidr, a.ordinal)), a.handle);
    }
    expect(inEtcd.size).toBe(addresses.length);
    for (const h of results.flatMap((r) => r.held)) expect(inEtcd.get(h.address)).toBe(h.handle);

    const report = await checkIpam({ backend: backend!, root, endpoints: { handles } });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(2000);
    expect(report.totals.handles).toBe(2000);
    expect(report.totals.blocks).toBe(32);
    expect(report.totals.borrowed).toBeGreaterThan(0);

    // The same verdict from the command a person runs (no WorkloadEndpoints exist here).
    const cli = await runTabby(['ipam', 'check', '--skip-endpoints', '--datastore-root', root], { env: { ETCD_ENDPOINTS: etcd!.endpoints.join(',') } });
    expect(cli.stdout).toContain('no problems found');
    expect(cli.stdout).toContain('2000 allocated addresses');
    expect(cli.code).toBe(0);
  });
});
