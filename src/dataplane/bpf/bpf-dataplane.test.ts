import { describe, expect, it } from 'vitest';

import type { DataplaneMessage, RouteUpdate, WorkloadEndpointUpdate } from '../messages.js';
import { BpfDataplane } from './bpf-dataplane.js';
import { ctKey, ctValue, CT_STATE } from './codecs/conntrack.js';
import { endpointKey, endpointValue } from './codecs/endpoints.js';
import { describeRoute, ROUTE_FLAG, ROUTE_TYPE, routeKey, routeKeyOf, routeValue } from './codecs/routes.js';
import { dropSlot, verdictCount, verdictSlot } from './codecs/verdicts.js';
import { collectConntrack } from './conntrack-gc.js';
import { MemoryBpfKernel } from './memory-kernel.js';

const NODE = '192.168.1.1';

function wep(name: string, iface: string, mac?: string): WorkloadEndpointUpdate {
  return { type: 'WorkloadEndpointUpdate', id: { orchestrator: 'k8s', workload: `ns/${name}`, endpoint: 'eth0' }, ifaceName: iface, ...(mac ? { mac } : {}), ipv4Nets: [], labels: {}, profileIds: [] };
}
const local = (dst: string, iface: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'local-workload', iface, encap: 'none' });
const remote = (dst: string, nextHop: string, encap: RouteUpdate['encap'] = 'ipip'): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'remote-block', nextHop, encap });

function setup(opts: { listable?: boolean } = {}) {
  const kernel = new MemoryBpfKernel(opts);
  kernel.interfaces.set('eth0', 2);
  kernel.interfaces.set('caliaaa', 10);
  kernel.interfaces.set('calibbb', 11);
  const dp = new BpfDataplane({ pinDir: '/sys/fs/bpf/tabby/n1', uplinkIfName: 'eth0', nodeIPv4: NODE, kernel });
  return { kernel, dp };
}

function routesOf(kernel: MemoryBpfKernel) {
  return Object.fromEntries(
    [...kernel.maps.routes.entries()].map(({ key, value }) => {
      const r = describeRoute(routeKey.decode(key), routeValue.decode(value as Buffer));
      return [r.dst, r];
    }),
  );
}

describe('BpfDataplane (memory kernel)', () => {
  it('does no I/O on send; apply loads once with the uplink and node address', async () => {
    const { kernel, dp } = setup();
    dp.send([wep('a', 'caliaaa'), local('10.65.0.2/32', 'caliaaa')]);
    expect(kernel.loads).toEqual([]);
    expect(kernel.tcCalls).toEqual([]);
    await dp.apply();
    await dp.apply();
    expect(kernel.loads).toEqual([{ pinDir: '/sys/fs/bpf/tabby/n1', globals: { nodeIPv4: NODE, uplinkIfindex: 2 } }]);
  });

  it('reports a missing uplink as a failure and loads once it appears', async () => {
    const { kernel, dp } = setup();
    kernel.interfaces.delete('eth0');
    const r = await dp.apply();
    expect(r.failures).toEqual([expect.objectContaining({ manager: 'bpf-loader', code: 'UPLINK_MISSING' })]);
    kernel.interfaces.set('eth0', 5);
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.loads[0]?.globals.uplinkIfindex).toBe(5);
  });

  it('programs every route type', async () => {
    const { kernel, dp } = setup();
    dp.send([
      local('10.65.0.2/32', 'caliaaa'),
      { type: 'RouteUpdate', dst: '10.65.0.0/26', routeType: 'local-block', encap: 'none' },
      remote('10.65.1.0/26', '192.168.1.2'),
      remote('10.65.2.0/26', '192.168.1.3', 'none'),
      { type: 'RouteUpdate', dst: '10.65.3.7/32', routeType: 'remote-workload', nextHop: '192.168.1.3', encap: 'ipip' },
      { type: 'RouteUpdate', dst: `${NODE}/32`, routeType: 'host', encap: 'none' },
      { type: 'RouteUpdate', dst: '192.168.1.2/32', routeType: 'host', encap: 'none' },
    ]);
    expect((await dp.apply()).failures).toEqual([]);
    expect(routesOf(kernel)).toEqual({
      '10.65.0.2/32': { dst: '10.65.0.2/32', type: 'local-workload', ifindex: 10, ipip: false, thisNode: false },
      '10.65.0.0/26': { dst: '10.65.0.0/26', type: 'blackhole', ipip: false, thisNode: false },
      '10.65.1.0/26': { dst: '10.65.1.0/26', type: 'remote', nextHop: '192.168.1.2', ipip: true, thisNode: false },
      '10.65.2.0/26': { dst: '10.65.2.0/26', type: 'remote', nextHop: '192.168.1.3', ipip: false, thisNode: false },
      '10.65.3.7/32': { dst: '10.65.3.7/32', type: 'remote', nextHop: '192.168.1.3', ipip: true, thisNode: false },
      [`${NODE}/32`]: { dst: `${NODE}/32`, type: 'host', ipip: false, thisNode: true },
      '192.168.1.2/32': { dst: '192.168.1.2/32', type: 'host', ipip: false, thisNode: false },
    });
  });

  it('keeps a route whose interface is missing pending, and programs it when the interface appears', async () => {
    const { kernel, dp } = setup();
    dp.send([local('10.65.0.9/32', 'calinew')]);
    const r = await dp.apply();
    expect(r.failures).toEqual([expect.objectContaining({ manager: 'bpf-routes', code: 'IFACE_MISSING', item: 'route 10.65.0.9/32' })]);
    kernel.interfaces.set('calinew', 33);
    expect((await dp.apply()).failures).toEqual([]);
    expect(routesOf(kernel)['10.65.0.9/32']?.ifindex).toBe(33);
  });

  it('reports VXLAN routes as unsupported and leaves them to the kernel', async () => {
    const { kernel, dp } = setup();
    dp.send([remote('10.66.0.0/26', '192.168.1.2', 'vxlan')]);
    expect((await dp.apply()).failures).toEqual([expect.objectContaining({ code: 'VXLAN_UNSUPPORTED' })]);
    expect(kernel.maps.routes.data.size).toBe(0);
  });

  it('deletes unwanted entries only after InSync (a restart adopts, then sweeps)', async () => {
    const { kernel, dp } = setup();
    // What a previous agent left in the pinned maps.
    kernel.maps.routes.update(routeKey.encode(routeKeyOf('10.99.0.0/24')), routeValue.encode({ type: ROUTE_TYPE.remote, flags: ROUTE_FLAG.ipip, ifindex: 0, next_hop: '192.168.1.9' }));
    kernel.maps.endpoints.update(endpointKey.encode({ ifindex: 77 }), endpointValue.encode({ mac: '0a:00:00:00:00:01', flags: 1, identity: 0 }));
    dp.send([remote('10.65.1.0/26', '192.168.1.2')]);
    await dp.apply();
    expect(Object.keys(routesOf(kernel)).sort()).toEqual(['10.65.1.0/26', '10.99.0.0/24']);
    expect(kernel.maps.endpoints.data.size).toBe(1);
    dp.send([{ type: 'InSync' }]);
    const r = await dp.apply();
    expect(r).toEqual({ inSync: true, failures: [] });
    expect(Object.keys(routesOf(kernel))).toEqual(['10.65.1.0/26']);
    expect(kernel.maps.endpoints.data.size).toBe(0);
  });

  it('rewrites only what differs', async () => {
    const { kernel, dp } = setup();
    dp.send([remote('10.65.1.0/26', '192.168.1.2'), remote('10.65.2.0/26', '192.168.1.3'), { type: 'InSync' }]);
    await dp.apply();
    const writes: string[] = [];
    const orig = kernel.maps.routes.update.bind(kernel.maps.routes);
    kernel.maps.routes.update = (k, v) => {
      writes.push(routeKey.decode(Buffer.from(k)).addr);
      orig(k, v);
    };
    dp.send([remote('10.65.2.0/26', '192.168.1.4')]);
    await dp.apply();
    expect(writes).toEqual(['10.65.2.0']);
  });

  it('fills the endpoints map with the container MAC, or flags it unknown', async () => {
    const { kernel, dp } = setup();
    dp.send([wep('a', 'caliaaa', '0A:58:0A:41:00:02'), wep('b', 'calibbb')]);
    await dp.apply();
    const eps = Object.fromEntries([...kernel.maps.endpoints.entries()].map(({ key, value }) => [endpointKey.decode(key).ifindex, endpointValue.decode(value as Buffer)]));
    expect(eps).toEqual({ 10: { mac: '0a:58:0a:41:00:02', flags: 1, identity: 0 }, 11: { mac: '00:00:00:00:00:00', flags: 0, identity: 0 } });
  });

  it('attaches the workload programs as endpoints appear and the uplink programs, once', async () => {
    const { kernel, dp } = setup();
    dp.send([wep('a', 'caliaaa')]);
    await dp.apply();
    const prog = (n: 'from_workload' | 'to_workload' | 'from_uplink' | 'to_uplink') => dp.dataplane().program(n).id;
    expect(Object.fromEntries(kernel.hooks)).toEqual({
      '10/ingress': prog('from_workload'),
      '10/egress': prog('to_workload'),
      '2/ingress': prog('from_uplink'),
      '2/egress': prog('to_uplink'),
    });
    const calls = kernel.tcCalls.length;
    await dp.apply();
    expect(kernel.tcCalls.length).toBe(calls); // already in place: no tc calls
  });

  it('replaces programs left by a previous agent in place (tc replace, never detach first)', async () => {
    const { kernel, dp } = setup();
    kernel.hooks.set('10/ingress', 5);
    kernel.hooks.set('2/ingress', 6);
    dp.send([wep('a', 'caliaaa')]);
    await dp.apply();
    expect(kernel.tcCalls.filter((c) => c.op === 'detach')).toEqual([]);
    expect(kernel.hooks.get('10/ingress')).toBe(dp.dataplane().program('from_workload').id);
  });

  it('detaches from an endpoint removed while its interface still exists; sweeps foreign cali interfaces after InSync', async () => {
    const { kernel, dp } = setup({ listable: true });
    kernel.hooks.set('11/ingress', 5); // calibbb: left by a previous agent, nobody wants it
    dp.send([wep('a', 'caliaaa')]);
    await dp.apply();
    expect(kernel.hooks.get('11/ingress')).toBe(5); // not before InSync
    dp.send([{ type: 'InSync' }]);
    await dp.apply();
    expect(kernel.hooks.has('11/ingress')).toBe(false);
    dp.send([{ type: 'WorkloadEndpointRemove', id: wep('a', 'caliaaa').id }]);
    await dp.apply();
    expect(kernel.hooks.has('10/ingress')).toBe(false);
    expect(kernel.hooks.has('10/egress')).toBe(false);
    expect(kernel.hooks.has('2/ingress')).toBe(true); // the uplink keeps its programs
  });

  it('reports an endpoint whose interface has not appeared, and attaches later', async () => {
    const { kernel, dp } = setup();
    dp.send([wep('c', 'calic')]);
    const r = await dp.apply();
    expect(r.failures.map((f) => `${f.manager}:${f.code}`).sort()).toEqual(['bpf-attach:IFACE_MISSING', 'bpf-endpoints:IFACE_MISSING']);
    kernel.interfaces.set('calic', 12);
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.hooks.has('12/ingress')).toBe(true);
  });

  it('reads counters summed over CPUs, by name', async () => {
    const { kernel, dp } = setup();
    await dp.apply();
    const v = (packets: bigint) => verdictCount.encode({ packets, bytes: packets * 100n });
    kernel.maps.verdicts.update(verdictSlot.encode({ slot: 3 }), [v(2n), v(3n)]);
    kernel.maps.verdicts.update(verdictSlot.encode({ slot: dropSlot('l4_truncated') }), [v(1n), v(0n)]);
    const c = dp.readCounters();
    expect(c.redirect_local).toEqual({ packets: 5n, bytes: 500n });
    expect(c.drop_l4_truncated).toEqual({ packets: 1n, bytes: 100n });
    expect(c.pass).toEqual({ packets: 0n, bytes: 0n });
    expect(Object.keys(c).some((k) => k.startsWith('slot_'))).toBe(false);
  });

  it('does nothing when nothing changed, and repairs outside tampering after requestResync', async () => {
    const { kernel, dp } = setup();
    dp.send([wep('a', 'caliaaa'), local('10.65.0.2/32', 'caliaaa'), { type: 'InSync' }]);
    await dp.apply();
    // Someone deletes our route and detaches a program.
    kernel.maps.routes.data.clear();
    kernel.hooks.delete('10/ingress');
    const calls = kernel.tcCalls.length;
    await dp.apply();
    expect(kernel.maps.routes.data.size).toBe(0);
    expect(kernel.tcCalls.length).toBe(calls);
    dp.requestResync();
    expect(await dp.apply()).toEqual({ inSync: true, failures: [] });
    expect(Object.keys(routesOf(kernel))).toEqual(['10.65.0.2/32']);
    expect(kernel.hooks.get('10/ingress')).toBe(dp.dataplane().program('from_workload').id);
  });

  it('reports map fill levels', async () => {
    const { dp } = setup();
    dp.send([remote('10.65.1.0/26', '192.168.1.2')]);
    await dp.apply();
    expect(dp.mapFill().routes).toEqual({ entries: 1, maxEntries: 1024 });
  });
});

describe('conntrack GC (injected clock)', () => {
  const S = 1_000_000_000n;
  let port = 1000;
  function entry(proto: number, state: number, lastSeen: bigint) {
    port += 1;
    return {
      key: ctKey.encode({ addr_a: '10.0.0.1', addr_b: '10.0.0.2', port_a: port, port_b: 80, proto }),
      value: ctValue.encode({ created: 0n, last_seen: lastSeen, packets: 1n, state, flags: 1 }),
    };
  }

  it('deletes each entry once idle past its state timeout, keeps the rest', () => {
    const { kernel } = setup();
    const map = kernel.maps.ct;
    const now = 10_000n * S;
    const put = (e: { key: Buffer; value: Buffer }) => map.update(e.key, e.value);
    put(entry(6, CT_STATE.ESTABLISHED, now - 3599n * S)); // established: 1 h
    put(entry(6, CT_STATE.SYN_SENT, now - 21n * S)); // syn: 20 s -> expired
    put(entry(6, CT_STATE.TIME_WAIT, now - 29n * S)); // time-wait: 30 s
    put(entry(6, CT_STATE.CLOSE, now - 11n * S)); // close: 10 s -> expired
    put(entry(17, CT_STATE.UNREPLIED, now - 31n * S)); // udp unreplied: 30 s -> expired
    put(entry(17, CT_STATE.REPLIED, now - 31n * S)); // udp: 60 s
    put(entry(1, CT_STATE.REPLIED, now - 6n * S)); // icmp: 5 s -> expired
    put(entry(17, CT_STATE.REPLIED, now + 5n * S)); // seen "after" now: never expired
    expect(collectConntrack(map, now)).toEqual({ scanned: 8, expired: 4 });
    const left = [...map.entries()].map(({ key, value }) => [ctKey.decode(key).proto, ctValue.decode(value as Buffer).state]);
    expect(left.sort()).toEqual(
      [
        [6, CT_STATE.ESTABLISHED],
        [6, CT_STATE.TIME_WAIT],
        [17, CT_STATE.REPLIED],
        [17, CT_STATE.REPLIED],
      ].sort(),
    );
  });
});

describe('BpfDataplane messages it ignores', () => {
  it('accepts every message type without I/O', () => {
    const { kernel, dp } = setup();
    const msgs: DataplaneMessage[] = [
      { type: 'HostMetadataUpdate', hostname: 'n1', ipv4Addr: NODE },
      { type: 'HostMetadataRemove', hostname: 'n2' },
      { type: 'IPPoolUpdate', id: 'p', cidr: '10.65.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true },
      { type: 'IPPoolRemove', id: 'p' },
    ];
    dp.send(msgs);
    expect(kernel.loads).toEqual([]);
  });
});
