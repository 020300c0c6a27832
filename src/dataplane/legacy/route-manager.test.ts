import { describe, expect, it } from 'vitest';
import { ManagerApplyError } from '../driver.js';
import type { DataplaneMessage, RouteUpdate } from '../messages.js';
import { LegacyDataplane } from './legacy-dataplane.js';
import { MemoryRouteKernel } from './memory-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL as P, type KernelRoute } from './route-kernel.js';
import { RouteManager } from './route-manager.js';

const local = (dst: string, iface: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'local-workload', iface, dstNode: 'n1', encap: 'none' });
const block = (dst: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'local-block', encap: 'none' });
const remote = (dst: string, nextHop: string, encap: RouteUpdate['encap'] = 'none'): RouteUpdate => ({
  type: 'RouteUpdate',
  dst,
  routeType: 'remote-block',
  nextHop,
  dstNode: 'n2',
  encap,
});
const inSync: DataplaneMessage = { type: 'InSync' };

function setup(opts: { ipip?: boolean; links?: string[]; uplink?: string } = {}) {
  const kernel = new MemoryRouteKernel({ links: opts.links ?? ['eth0', 'cali1', 'cali2', 'tunl0'] });
  const logs: { level: string; msg: string }[] = [];
  const logger = {
    info: (_o: object, msg: string) => logs.push({ level: 'info', msg }),
    warn: (_o: object, msg: string) => logs.push({ level: 'warn', msg }),
    error: (_o: object, msg: string) => logs.push({ level: 'error', msg }),
  };
  const mgr = new RouteManager({
    kernel,
    hasIpipModule: async () => opts.ipip ?? true,
    logger: logger as never,
    ...(opts.uplink ? { uplinkIfName: opts.uplink } : {}),
  });
  const send = (...msgs: DataplaneMessage[]) => msgs.forEach((m) => mgr.onUpdate(m));
  return { kernel, mgr, logs, send };
}

async function applyFailures(mgr: RouteManager): Promise<ManagerApplyError | undefined> {
  try {
    await mgr.apply();
    return undefined;
  } catch (err) {
    if (err instanceof ManagerApplyError) return err;
    throw err;
  }
}

describe('RouteManager', () => {
  it('does no I/O in onUpdate, programs each route type on apply', async () => {
    const { kernel, mgr, send } = setup({ uplink: 'eth0' });
    send(local('10.65.0.5/32', 'cali1'), block('10.65.0.0/26'), remote('10.65.1.0/26', '192.168.0.2'), inSync);
    expect(kernel.ops).toEqual([]);
    await mgr.apply();
    expect(kernel.dump().map(({ ifindex: _i, ...r }) => r)).toEqual([
      { dst: '10.65.0.0/26', type: 'blackhole', protocol: P, table: 254 },
      { dst: '10.65.0.5/32', type: 'unicast', ifName: 'cali1', scope: 'link', protocol: P, table: 254 },
      { dst: '10.65.1.0/26', type: 'unicast', gateway: '192.168.0.2', ifName: 'eth0', scope: 'universe', protocol: P, table: 254 },
    ]);
  });

  it('chooses the IPIP device with onlink for ipip routes', async () => {
    const { kernel, mgr, send } = setup();
    send(remote('10.65.1.0/26', '192.168.1.2', 'ipip'), inSync);
    await mgr.apply();
    expect(kernel.get('10.65.1.0/26')).toMatchObject({ gateway: '192.168.1.2', ifName: 'tunl0', onlink: true });
  });

  it('without the ipip module reports one clear line (and the fix) and keeps retrying', async () => {
    const { kernel, mgr, send, logs } = setup({ ipip: false });
    send(remote('10.65.1.0/26', '192.168.1.2', 'ipip'), remote('10.65.2.0/26', '192.168.1.3', 'ipip'), remote('10.65.3.0/26', '192.168.0.4'), inSync);
    const err = await applyFailures(mgr);
    expect(err?.failures).toHaveLength(1);
    expect(err?.failures[0]).toMatchObject({ code: 'IPIP_MODULE_MISSING', item: 'ipip' });
    expect(err?.failures[0]?.message).toMatch(/modprobe ipip.*--dataplane bpf/);
    expect(kernel.get('10.65.3.0/26')).toBeDefined();
    expect(kernel.get('10.65.1.0/26')).toBeUndefined();
    await applyFailures(mgr);
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('reports VXLAN as unsupported in legacy mode', async () => {
    const { mgr, send } = setup();
    send(remote('10.65.1.0/26', '192.168.1.2', 'vxlan'), inSync);
    const err = await applyFailures(mgr);
    expect(err?.failures.map((f) => f.code)).toEqual(['VXLAN_UNSUPPORTED']);
  });

  it('adopts on restart: keeps matching routes, rewrites differing ones, sweeps stale ones of ours, never touches foreign ones', async () => {
    const { kernel, mgr, send } = setup();
    const seed = (r: Omit<KernelRoute, 'table'>) => kernel.seed(r);
    seed({ dst: '10.65.0.5/32', type: 'unicast', ifName: 'cali1', scope: 'link', protocol: P }); // still wanted, same
    seed({ dst: '10.65.0.6/32', type: 'unicast', ifName: 'cali1', scope: 'link', protocol: P }); // wanted on cali2 now
    seed({ dst: '10.65.0.7/32', type: 'unicast', ifName: 'cali2', scope: 'link', protocol: P }); // stale
    seed({ dst: '10.99.0.0/24', type: 'unicast', gateway: '192.168.0.1', protocol: 12 }); // BIRD's
    seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '192.168.0.1', protocol: 3 }); // boot
    send(local('10.65.0.5/32', 'cali1'), local('10.65.0.6/32', 'cali2'));

    // Before InSync: add and fix, delete nothing.
    await mgr.apply();
    expect(kernel.get('10.65.0.7/32')).toBeDefined();
    expect(kernel.get('10.65.0.6/32')?.ifName).toBe('cali2');
    expect(kernel.ops).toEqual([{ op: 'replace', dst: '10.65.0.6/32' }]);

    send(inSync);
    await mgr.apply();
    expect(kernel.dump().map((r) => r.dst)).toEqual(['0.0.0.0/0', '10.65.0.5/32', '10.65.0.6/32', '10.99.0.0/24']);
    expect(kernel.ops).toEqual([
      { op: 'replace', dst: '10.65.0.6/32' },
      { op: 'delete', dst: '10.65.0.7/32' },
    ]);
  });

  it('leaves a conflicting foreign route alone and reports it; accepts an equivalent one', async () => {
    const { kernel, mgr, send } = setup();
    kernel.seed({ dst: '10.65.0.5/32', type: 'unicast', ifName: 'cali1', scope: 'link', protocol: 3 });
    kernel.seed({ dst: '10.65.0.6/32', type: 'unicast', gateway: '192.168.0.9', protocol: 12 });
    send(local('10.65.0.5/32', 'cali1'), local('10.65.0.6/32', 'cali2'), inSync);
    const err = await applyFailures(mgr);
    expect(err?.failures.map((f) => [f.item, f.code])).toEqual([['route 10.65.0.6/32', 'ROUTE_CONFLICT']]);
    expect(kernel.ops).toEqual([]);
    expect(kernel.get('10.65.0.6/32')?.protocol).toBe(12);
  });

  it('keeps failed routes pending and retries them on the next apply', async () => {
    const { kernel, mgr, send, logs } = setup({ links: ['eth0', 'cali1'] });
    kernel.seed({ dst: '10.65.0.9/32', type: 'unicast', ifName: 'cali1', scope: 'link', protocol: P });
    kernel.failOn('10.65.0.9/32', 'delete', 16);
    send(local('10.65.0.5/32', 'cali1'), local('10.65.0.6/32', 'cali2'), inSync); // cali2 not created yet
    const err = await applyFailures(mgr);
    expect(err?.failures.map((f) => f.code).sort()).toEqual(['ROUTE_DELETE_FAILED', 'ROUTE_REPLACE_FAILED']);
    expect(err?.message).toMatch(/will retry/);
    expect(kernel.get('10.65.0.5/32')).toBeDefined();

    // Nothing changed and the faults persist: retried, still failing, not logged again.
    expect(await applyFailures(mgr)).toBeDefined();
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(2);

    kernel.addLink('cali2');
    kernel.clearFaults();
    expect(await applyFailures(mgr)).toBeUndefined();
    expect(kernel.get('10.65.0.6/32')?.ifName).toBe('cali2');
    expect(kernel.get('10.65.0.9/32')).toBeUndefined();
    expect(logs.filter((l) => l.level === 'info')).toHaveLength(2);
  });

  it('removes a route after RouteRemove, and skips the kernel when nothing changed', async () => {
    const { kernel, mgr, send } = setup();
    send(block('10.65.0.0/26'), inSync);
    await mgr.apply();
    send({ type: 'RouteRemove', dst: '10.65.0.0/26' });
    await mgr.apply();
    expect(kernel.dump()).toEqual([]);
    const before = kernel.ops.length;
    await mgr.apply();
    expect(kernel.ops.length).toBe(before);
  });

  it('does not program host routes and deletes one of ours found for a host address', async () => {
    const { kernel, mgr, send } = setup();
    kernel.seed({ dst: '192.168.0.2/32', type: 'unicast', gateway: '192.168.0.2', protocol: P });
    send({ type: 'RouteUpdate', dst: '192.168.0.2/32', routeType: 'host', dstNode: 'n2', nextHop: '192.168.0.2', encap: 'none' }, inSync);
    await mgr.apply();
    expect(kernel.dump()).toEqual([]);
  });
});

describe('LegacyDataplane', () => {
  it('fans messages to its managers and reports failures instead of rejecting', async () => {
    const kernel = new MemoryRouteKernel({ links: ['cali1'] });
    const dp = LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => false });
    dp.send([local('10.65.0.5/32', 'cali1'), remote('10.65.1.0/26', '192.168.0.2', 'ipip')]);
    let report = await dp.apply();
    expect(report.inSync).toBe(false);
    expect(report.failures.map((f) => f.code)).toEqual(['IPIP_MODULE_MISSING']);
    dp.send([{ type: 'RouteRemove', dst: '10.65.1.0/26' }, inSync]);
    report = await dp.apply();
    expect(report).toEqual({ inSync: true, failures: [] });
    expect(kernel.dump().map((r) => r.dst)).toEqual(['10.65.0.5/32']);
  });

  it('reports a manager that cannot list the kernel as a failure', async () => {
    const kernel = new MemoryRouteKernel();
    kernel.listRoutes = async () => {
      throw Object.assign(new Error('netlink dump failed: EPERM'), { code: 'NETLINK' });
    };
    const dp = LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => true });
    dp.send([block('10.65.0.0/26')]);
    const report = await dp.apply();
    expect(report.failures).toEqual([{ manager: 'routes', item: 'routes', code: 'NETLINK', message: 'netlink dump failed: EPERM' }]);
  });
});

describe('RouteManager resync', () => {
  it('repairs a route removed behind its back only when asked to resync', async () => {
    const kernel = new MemoryRouteKernel();
    const dp = LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => true });
    dp.send([block('10.65.0.0/26'), inSync]);
    await dp.apply();
    await kernel.deleteRoute({ dst: '10.65.0.0/26', type: 'blackhole', protocol: P });
    await dp.apply();
    expect(kernel.get('10.65.0.0/26')).toBeUndefined();
    dp.requestResync();
    await dp.apply();
    expect(kernel.get('10.65.0.0/26')?.type).toBe('blackhole');
  });
});
