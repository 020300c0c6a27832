/**
 * Interop with a real GoBGP over loopback: our BgpSession + Rib (through the test harness)
 * against `/usr/bin/gobgpd`, inspected with the `gobgp` CLI on its own API port.
 * Addresses are 127.N.0.x with N from our pid; ports are free ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { freeLoopbackPort } from '../support/daemon.js';
import { startGobgp, type GobgpDaemon } from '../support/gobgp.js';
import { BgpHarness, waitFor } from './fixtures/bgp-harness.js';

const net = 1 + (process.pid % 200);
const OURS = `127.${net}.0.1`;
const GOBGP = `127.${net}.0.3`;
const P1 = { prefix: '10.101.0.0', length: 26 };
const P2 = { prefix: '10.101.0.64', length: 26 };
/** gobgp's JSON names capabilities by protobuf type. */
const capName = (c: { type_url?: string }): string => (c.type_url ?? '').replace(/^.*\./, '');

describe.skipIf(!isRoot)(needsRoot('BGP interop with GoBGP'), () => {
  let h: BgpHarness;
  let g: GobgpDaemon;

  const ourRoutes = (): string[] => [...h.routes().keys()].sort();
  const established = (): boolean => h.state(GOBGP) === 'Established';
  const theirNeighbor = async () => (await g.neighbor(OURS)) as {
    state?: { session_state?: number | string; remote_cap?: Array<{ type_url?: string }>; messages?: { received?: { update?: number; refresh?: number } } };
    timers?: { state?: { negotiated_hold_time?: number } };
  } | undefined;

  beforeAll(async () => {
    h = new BgpHarness({ localAs: 64512, routerId: '10.255.0.1', host: OURS, nextHop: '192.0.2.1' });
    const ourPort = await h.listen();
    const gPort = await freeLoopbackPort(GOBGP);
    g = await startGobgp({
      routerId: '10.255.0.3', localAddress: GOBGP, localPort: gPort, asn: 64514,
      neighbors: [{ address: OURS, port: ourPort, asn: 64512, holdTime: 3, gracefulRestartTime: 8 }],
    });
    await g.cli('global rib add 10.201.1.0/24 nexthop 192.0.2.3 -a ipv4');
    await g.cli('global rib add 10.201.2.0/24 nexthop 192.0.2.3 -a ipv4');
    h.addPeer({ address: GOBGP, port: gPort, asn: 64514, holdTime: 3, gracefulRestartTime: 30 }).start();
  });

  afterAll(async () => {
    g?.signal('SIGCONT');
    await h?.close();
    await g?.cleanup();
  });

  it('establishes, and gobgpd sees our capabilities', async () => {
    await waitFor('Established with gobgpd', established, 20_000, h.log);
    await waitFor('gobgpd reports Established', async () => {
      const s = (await theirNeighbor())?.state?.session_state;
      return s === 6 || s === 'ESTABLISHED' || s === 'established';
    }, 10_000, h.log);
    const n = await theirNeighbor();
    const caps = (n?.state?.remote_cap ?? []).map(capName);
    for (const c of ['MultiProtocolCapability', 'RouteRefreshCapability', 'GracefulRestartCapability', 'FourOctetASNCapability']) expect(caps).toContain(c);
    expect(n?.timers?.state?.negotiated_hold_time).toBe(3);
    expect(h.negotiated.get(GOBGP)).toMatchObject({ holdTime: 3, routeRefresh: true, fourOctetAs: true, ebgp: true, gracefulRestart: { restartTime: 8 } });
  });

  it('exchanges routes both ways', async () => {
    h.originate(P1);
    h.originate(P2);
    await waitFor('gobgp routes in our Loc-RIB', () => ourRoutes().includes('10.201.1.0/24') && ourRoutes().includes('10.201.2.0/24'), 10_000, h.log);
    expect(h.routes().get('10.201.1.0/24')!.attributes).toMatchObject({ nextHop: '192.0.2.3', asPath: [{ type: 'sequence', asns: [64514] }] });
    await waitFor('our routes in gobgpd', async () => {
      const r = await g.ribPrefixes();
      return r.includes('10.101.0.0/26') && r.includes('10.101.0.64/26');
    });
    expect(await g.cli('global rib -a ipv4 10.101.0.0/26')).toContain('64512');
  });

  it('withdraws routes both ways', async () => {
    h.withdrawLocal(P2);
    await waitFor('P2 gone from gobgpd', async () => !(await g.ribPrefixes()).includes('10.101.0.64/26'));
    expect(await g.ribPrefixes()).toContain('10.101.0.0/26');
    await g.cli('global rib del 10.201.2.0/24 -a ipv4');
    await waitFor('gobgp route withdrawn', () => !ourRoutes().includes('10.201.2.0/24'), 10_000, h.log);
    expect(ourRoutes()).toEqual(['10.101.0.0/26', '10.201.1.0/24']);
  });

  it('survives route refresh (we ask, gobgpd answers)', async () => {
    // gobgpd keeps every Adj-RIB-In itself, so its `softresetin` re-runs policy locally and
    // never sends ROUTE-REFRESH; the other direction is covered by the BIRD test.
    const before = h.updatesReceived;
    expect(h.sessions.get(GOBGP)!.requestRouteRefresh()).toBe(true);
    await waitFor('gobgpd re-sends its routes', () => h.updatesReceived > before, 10_000, h.log);
    await waitFor('gobgpd counted our ROUTE-REFRESH', async () => ((await theirNeighbor())?.state?.messages?.received?.refresh ?? 0) >= 1, 10_000, h.log);
    expect(established()).toBe(true);
    expect(h.downs).toEqual([]);
    expect(ourRoutes()).toEqual(['10.101.0.0/26', '10.201.1.0/24']);
  });

  it('detects a frozen gobgpd by hold timer expiry, then recovers', async () => {
    g.signal('SIGSTOP');
    try {
      await waitFor('hold timer expiry', () => h.downs.some((d) => d.reason.code === 'hold-timer-expired'), 20_000, h.log);
    } finally {
      g.signal('SIGCONT');
    }
    expect(h.downs.find((d) => d.reason.code === 'hold-timer-expired')!.reason.notification).toEqual({ direction: 'sent', code: 4, subcode: 0 });
    await waitFor('re-established', established, 40_000, h.log);
    await waitFor('routes back', async () => ourRoutes().includes('10.201.1.0/24') && (await g.ribPrefixes()).includes('10.101.0.0/26'), 15_000, h.log);
  });

  it('keeps gobgpd routes while it is gone (graceful restart) and sweeps them when the restart time runs out', async () => {
    const downsBefore = h.downs.length;
    await g.kill();
    await waitFor('session down', () => h.downs.length > downsBefore, 10_000, h.log);
    expect(h.downs.at(-1)).toMatchObject({ graceful: true, reason: { code: 'tcp-failed' } });
    expect(ourRoutes()).toEqual(['10.101.0.0/26', '10.201.1.0/24']);
    expect(h.rib.adjRibIn(GOBGP).map((p) => p.stale)).toEqual([true]);
    // gobgpd stays down: its 8 s restart time expires and the stale route goes.
    await waitFor('stale route swept on timer expiry', () => !ourRoutes().includes('10.201.1.0/24'), 20_000, h.log);
    expect(h.swept.at(-1)).toEqual({ peerId: GOBGP, count: 1 });
    expect(ourRoutes()).toEqual(['10.101.0.0/26']);
  });
});
