// Routes over our own rtnetlink, inside a namespace this test makes: replace/list/delete with
// protocol 84 checked against `ip route`, blackholes, other tables, onlink, foreign routes left
// alone, NetlinkRouteKernel's contract, and typed errors (missing namespace, missing
// interface, a route the kernel refuses).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkRouteKernel } from '../../src/dataplane/linux/netlink-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL } from '../../src/dataplane/legacy/route-kernel.js';
import { NativeError } from '../../src/native/errors.js';
import { Netlink } from '../../src/native/netlink.js';
import { currentNetns, mustRun, NetnsLab, run, type Netns, type VethEnd } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

describe.skipIf(!isRoot)(needsRoot('netlink routes in a namespace'), () => {
  let lab: NetnsLab;
  let ns: Netns;
  let peerNs: Netns;
  let dev: VethEnd;
  const nl = isRoot ? new Netlink() : (undefined as unknown as Netlink);
  let hostNetns: string;

  beforeAll(() => {
    hostNetns = currentNetns();
    lab = new NetnsLab();
    ns = lab.netns();
    peerNs = lab.netns();
    [dev] = lab.veth({ netns: ns, address: '10.252.0.1/24' }, { netns: peerNs, address: '10.252.0.2/24' });
  });

  afterAll(() => {
    lab?.cleanup();
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  function ipRoutes(args: string[] = []): string {
    return mustRun(['ip', '-4', 'route', 'show', ...args], { netns: ns.name })
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('\n');
  }

  afterEach(() => {
    // Whatever a failed test left behind, so the next one starts from a clean table.
    if (ns) run(['ip', '-4', 'route', 'flush', 'table', 'all', 'proto', '84'], { netns: ns.name });
  });

  it('replaces, lists and deletes a unicast route with protocol 84, as `ip route` sees it', () => {
    const opts = { netns: ns.path };
    nl.routes.replace({ dst: '10.70.1.0/26', ifName: dev.name, protocol: TABBY_ROUTE_PROTOCOL }, opts);
    expect(ipRoutes(['proto', '84'])).toBe(`10.70.1.0/26 dev ${dev.name} scope link`);

    const listed = nl.routes.list({ ...opts, protocol: TABBY_ROUTE_PROTOCOL, table: 254 });
    expect(listed).toEqual([
      expect.objectContaining({ dst: '10.70.1.0/26', type: 'unicast', table: 254, protocol: 84, scope: 'link', ifName: dev.name, ifindex: lab.ifindexOf(dev), onlink: false }),
    ]);

    // Replace in place: same slot, now via a gateway.
    nl.routes.replace({ dst: '10.70.1.0/26', gateway: '10.252.0.2', ifName: dev.name, protocol: TABBY_ROUTE_PROTOCOL }, opts);
    expect(ipRoutes(['proto', '84'])).toBe(`10.70.1.0/26 via 10.252.0.2 dev ${dev.name}`);

    expect(nl.routes.delete({ dst: '10.70.1.0/26', protocol: TABBY_ROUTE_PROTOCOL }, opts)).toBe(true);
    expect(ipRoutes(['proto', '84'])).toBe('');
    expect(nl.routes.delete({ dst: '10.70.1.0/26', protocol: TABBY_ROUTE_PROTOCOL }, opts)).toBe(false);
    expect(currentNetns()).toBe(hostNetns);
  });

  it('programs blackhole routes, onlink routes and routes in other tables', () => {
    const opts = { netns: ns.path };
    nl.routes.replace({ dst: '10.70.2.0/26', type: 'blackhole', protocol: 84 }, opts);
    nl.routes.replace({ dst: '10.70.3.0/26', gateway: '192.0.2.77', ifName: dev.name, onlink: true, protocol: 84 }, opts);
    nl.routes.replace({ dst: '10.70.4.0/26', type: 'blackhole', protocol: 84, table: 100 }, opts);
    nl.routes.replace({ dst: '10.70.5.0/26', type: 'blackhole', protocol: 84, table: 70000 }, opts);
    expect(ipRoutes(['proto', '84']).split('\n')).toEqual(['blackhole 10.70.2.0/26', `10.70.3.0/26 via 192.0.2.77 dev ${dev.name} onlink`]);
    expect(ipRoutes(['table', '100', 'proto', '84'])).toBe('blackhole 10.70.4.0/26');
    expect(ipRoutes(['table', '70000', 'proto', '84'])).toBe('blackhole 10.70.5.0/26');

    const main = nl.routes.list({ ...opts, protocol: 84, table: 254 });
    expect(main.find((r) => r.dst === '10.70.2.0/26')).toMatchObject({ type: 'blackhole', scope: 'universe' });
    expect(main.find((r) => r.dst === '10.70.3.0/26')).toMatchObject({ gateway: '192.0.2.77', onlink: true, ifName: dev.name });
    expect(nl.routes.list({ ...opts, table: 70000 })).toEqual([expect.objectContaining({ dst: '10.70.5.0/26', table: 70000, type: 'blackhole' })]);

    for (const [dst, table] of [['10.70.2.0/26', 254], ['10.70.3.0/26', 254], ['10.70.4.0/26', 100], ['10.70.5.0/26', 70000]] as const) {
      expect(nl.routes.delete({ dst, protocol: 84, table }, opts)).toBe(true);
    }
    expect(ipRoutes(['table', 'all', 'proto', '84'])).toBe('');
  });

  it('leaves routes of other protocols alone: a delete of ours does not match them', () => {
    const opts = { netns: ns.path };
    mustRun(['ip', 'route', 'add', '10.70.9.0/24', 'via', '10.252.0.2', 'proto', 'static'], { netns: ns.name });
    try {
      expect(nl.routes.delete({ dst: '10.70.9.0/24', protocol: 84 }, opts)).toBe(false);
      expect(ipRoutes(['proto', 'static'])).toBe(`10.70.9.0/24 via 10.252.0.2 dev ${dev.name}`);
      expect(nl.routes.list({ ...opts, protocol: 84 })).toEqual([]);
      const all = nl.routes.list({ ...opts, table: 254 });
      expect(all.find((r) => r.dst === '10.70.9.0/24')).toMatchObject({ protocol: 4, gateway: '10.252.0.2', ifName: dev.name });
      // The kernel's own connected route is listed with its protocol (kernel = 2) and scope.
      expect(all.find((r) => r.dst === '10.252.0.0/24')).toMatchObject({ protocol: 2, scope: 'link', prefsrc: '10.252.0.1' });
    } finally {
      mustRun(['ip', 'route', 'del', '10.70.9.0/24', 'proto', 'static'], { netns: ns.name });
    }
  });

  it('implements RouteKernel: list fills ifName, replace/delete by table, dst and protocol', async () => {
    const kernel = new NetlinkRouteKernel({ netns: ns.path });
    await kernel.replaceRoute({ dst: '10.71.0.5/32', type: 'unicast', ifName: dev.name, scope: 'link', protocol: TABBY_ROUTE_PROTOCOL });
    await kernel.replaceRoute({ dst: '10.71.1.0/26', type: 'blackhole', protocol: TABBY_ROUTE_PROTOCOL });
    const listed = await kernel.listRoutes({ protocol: TABBY_ROUTE_PROTOCOL });
    expect(listed).toEqual([
      { dst: '10.71.0.5/32', type: 'unicast', ifName: dev.name, ifindex: lab.ifindexOf(dev), scope: 'link', protocol: 84, table: 254 },
      { dst: '10.71.1.0/26', type: 'blackhole', scope: 'universe', protocol: 84, table: 254 },
    ]);
    await kernel.deleteRoute({ dst: '10.71.0.5/32', type: 'unicast', ifName: dev.name, protocol: 84 });
    await kernel.deleteRoute({ dst: '10.71.1.0/26', type: 'blackhole', protocol: 84 });
    // Already gone: still success.
    await kernel.deleteRoute({ dst: '10.71.1.0/26', type: 'blackhole', protocol: 84 });
    expect(await kernel.listRoutes({ protocol: 84 })).toEqual([]);
  });

  it('RouteKernel failures carry errno: a missing device is ENODEV', async () => {
    const kernel = new NetlinkRouteKernel({ netns: ns.path });
    const err = await kernel.replaceRoute({ dst: '10.71.2.0/26', type: 'unicast', ifName: 'nosuchdev0', protocol: 84 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ errno: 19, code: 'ENODEV' });
    expect((err as Error).message).toMatch(/nosuchdev0 does not exist in network namespace/);
  });

  it('reports what the kernel refused, with its errno and its own words', () => {
    let caught: unknown;
    try {
      nl.routes.replace({ dst: '10.72.0.0/24', gateway: '198.51.100.1', protocol: 84 }, { netns: ns.path });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NativeError);
    expect(caught).toMatchObject({ op: 'RTM_NEWROUTE', code: 'ENETUNREACH' });
    expect((caught as Error).message).toMatch(/replace route 10\.72\.0\.0\/24 via 198\.51\.100\.1 proto 84 in network namespace .*: network is unreachable \(ENETUNREACH\); the kernel said: /);
  });

  it('fails with setns ENOENT for a namespace that does not exist, and stays in its own namespace', () => {
    const missing = `/run/netns/${lab.prefix}missing`;
    let caught: unknown;
    try {
      nl.routes.list({ netns: missing });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NativeError);
    expect(caught).toMatchObject({ op: 'setns', code: 'ENOENT' });
    expect((caught as Error).message).toContain(missing);
    expect(currentNetns()).toBe(hostNetns);
  });
});
