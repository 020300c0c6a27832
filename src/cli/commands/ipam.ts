import type { Command } from 'commander';
import { ResourceClient } from '../../client/resources.js';
import { TabbyError } from '../../errors.js';
import { Ipam } from '../../ipam/allocator.js';
import { checkIpam, type IpamCheckReport } from '../../ipam/check.js';
import { DatastorePoolSource } from '../../ipam/pools.js';
import { IpamShow } from '../../ipam/show.js';
import { kindInfo, type Resource } from '../../resources/index.js';
import { addDatastoreOptions, withDatastore, type DatastoreSession } from '../datastore-options.js';
import { renderTable } from '../table.js';

export function ipamCommand(program: Command): void {
  const ipam = program
    .command('ipam')
    .description('show, check and repair IP address management state')
    .addHelpText('after', '\nExamples:\n  tabby ipam show --show-blocks\n  tabby ipam show --ip 192.168.12.3\n  tabby ipam check\n  tabby ipam release --ip 192.168.12.3\n');

  const show = ipam
    .command('show')
    .description('pool usage, per-block usage (--show-blocks), or who holds an address (--ip)')
    .option('--show-blocks', 'also list every block with its node and usage')
    .option('--ip <addr>', 'show who holds this address')
    .addHelpText('after', '\nExample:\n  tabby ipam show --show-blocks\n');
  addDatastoreOptions(show).action(async (_o: unknown, self: Command) => {
    const o = self.opts<{ showBlocks?: boolean; ip?: string }>();
    await withDatastore(self, async ({ backend, config }) => {
      const view = new IpamShow({ backend, root: config.root, pools: new DatastorePoolSource({ backend, root: config.root, defaultPool: false }) });
      if (o.ip) {
        process.stdout.write(describeAddress(await view.address(o.ip)));
        return;
      }
      const pools = await view.pools();
      process.stdout.write(
        renderTable(
          ['grouping', 'cidr', 'ips total', 'ips in use', 'ips free'],
          pools.map((p) => ['IP Pool', p.cidr, String(p.size), `${p.inUse} (${pct(p.inUse, p.size)})`, `${p.free} (${pct(p.free, p.size)})`]),
        ),
      );
      if (o.showBlocks) {
        const blocks = await view.blocks();
        process.stdout.write(
          '\n' +
            renderTable(
              ['block', 'node', 'pool', 'ips total', 'ips in use', 'ips free'],
              blocks.map((b) => [b.cidr, b.node ?? '(none)', b.pool ?? '(pool deleted)', String(b.size), `${b.inUse} (${pct(b.inUse, b.size)})`, `${b.free} (${pct(b.free, b.size)})`]),
            ),
        );
      }
    });
  });

  const check = ipam
    .command('check')
    .description('find leaked, missing or inconsistent allocations; exits 1 when it finds any')
    .option('--skip-endpoints', 'do not compare allocations with WorkloadEndpoints (pools used by something other than pods)')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText('after', '\nExample:\n  tabby ipam check\n');
  addDatastoreOptions(check).action(async (_o: unknown, self: Command) => {
    const o = self.opts<{ skipEndpoints?: boolean; output: string }>();
    const report = await withDatastore(self, async (s) => {
      const endpoints = o.skipEndpoints ? undefined : await endpointAddresses(s);
      return checkIpam({ backend: s.backend, root: s.config.root, ...(endpoints ? { endpoints: { owners: endpoints } } : {}) });
    });
    process.stdout.write(o.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : describeReport(report));
    if (!report.ok) process.exitCode = 1;
  });

  const release = ipam
    .command('release')
    .description('release an address that is allocated but no longer used')
    .requiredOption('--ip <addr>', 'the address to release')
    .option('--force', 'release even when a WorkloadEndpoint still lists the address')
    .addHelpText('after', '\nExample:\n  tabby ipam release --ip 192.168.12.3\n');
  addDatastoreOptions(release).action(async (_o: unknown, self: Command) => {
    const o = self.opts<{ ip: string; force?: boolean }>();
    await withDatastore(self, async (s) => {
      const users = (await endpointAddresses(s)).get(o.ip);
      if (users && !o.force) {
        throw new TabbyError('IN_USE', `${o.ip} is still used by ${users}; delete the workload first, or pass --force`);
      }
      const ipam = new Ipam({ backend: s.backend, root: s.config.root, pools: new DatastorePoolSource({ backend: s.backend, root: s.config.root, defaultPool: false }) });
      const res = await ipam.releaseIPs([{ ip: o.ip }]);
      if (res.released.includes(o.ip)) {
        process.stdout.write(`released ${o.ip}\n`);
        return;
      }
      const why = res.skipped.find((x) => x.ip === o.ip)?.reason ?? 'not-allocated';
      throw new TabbyError('NOT_ALLOCATED', `${o.ip} was not released: ${why === 'no-block' ? 'it is in no allocated block' : 'it is not allocated'}`);
    });
  });
}

/** Every address listed by a WorkloadEndpoint, mapped to `namespace/name` of its endpoint. */
async function endpointAddresses(s: DatastoreSession): Promise<Map<string, string>> {
  const weps: Resource[] = await new ResourceClient(s.backend, s.keys).list(kindInfo('WorkloadEndpoint'));
  const out = new Map<string, string>();
  for (const w of weps) {
    if (w.kind !== 'WorkloadEndpoint') continue;
    for (const net of w.spec.ipNetworks ?? []) out.set(net.split('/')[0] as string, `WorkloadEndpoint ${w.metadata.namespace}/${w.metadata.name}`);
  }
  return out;
}

function describeAddress(a: Awaited<ReturnType<IpamShow['address']>>): string {
  if (a.state === 'not-in-pool') return `${a.ip} is not in any IP pool\n`;
  if (a.state === 'free') return `${a.ip} is free (pool ${a.pool}${a.block ? `, block ${a.block}` : ', no block claimed yet'})\n`;
  const attrs = a.attrs ? Object.entries(a.attrs).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  return (
    `${a.ip} is in use\n` +
    renderTable(['handle', 'block', 'node', 'pool', 'attributes'], [[a.handle ?? '(none)', a.block, a.node ?? '(none)', a.pool ?? '(pool deleted)', attrs]])
  );
}

function describeReport(r: IpamCheckReport): string {
  const t = r.totals;
  const head = `checked ${t.blocks} blocks, ${t.affinities} affinities, ${t.handles} handles, ${t.allocations} allocated addresses (${t.borrowed} borrowed)\n`;
  if (r.ok) return head + 'no problems found\n';
  return head + `${r.problems.length} problem(s):\n` + renderTable(['kind', 'address', 'handle', 'block', 'detail'], r.problems.map((p) => [p.kind, p.address ?? '', p.handle ?? '', p.block ?? '', p.message]));
}

function pct(n: number, of: number): string {
  return of === 0 ? '0%' : `${Math.round((n / of) * 100)}%`;
}
