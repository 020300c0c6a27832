/**
 * Interop with a real BIRD 2 over loopback: our BgpSession + Rib (through the test
 * harness) against `/usr/sbin/bird`. Addresses are 127.N.0.x with N from our pid, so
 * parallel runs never share a peer address; ports are free ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { startBird, type BirdDaemon } from '../support/bird.js';
import { freeLoopbackPort } from '../support/daemon.js';
import { BgpHarness, waitFor } from './fixtures/bgp-harness.js';

const net = 1 + (process.pid % 200);
const OURS = `127.${net}.0.1`;
const BIRD = `127.${net}.0.2`;
const P1 = { prefix: '10.100.0.0', length: 26 };
const P2 = { prefix: '10.100.0.64', length: 26 };

describe.skipIf(!isRoot)(needsRoot('BGP interop with BIRD 2'), () => {
  let h: BgpHarness;
  let bird: BirdDaemon;
  let birdPort: number;
  const peer = (): string => BIRD;

  const birdRoutes = async (): Promise<string> => bird.birdc('show route protocol tabby');
  const birdImportUpdates = async (): Promise<number> => {
    const m = /Import updates:\s+(\d+)/.exec(await bird.birdc('show protocols all tabby'));
    return m ? Number(m[1]) : -1;
  };
  const ourRoutes = (): string[] => [...h.routes().keys()].sort();
  const established = (): boolean => h.state(peer()) === 'Established';

  beforeAll(async () => {
    h = new BgpHarness({ localAs: 64512, routerId: '10.255.0.1', host: OURS, nextHop: '192.0.2.1' });
    const ourPort = await h.listen();
    birdPort = await freeLoopbackPort(BIRD);
    bird = await startBird({
      routerId: '10.255.0.2', localAddress: BIRD, localPort: birdPort, asn: 64513,
      neighbors: [{ name: 'tabby', address: OURS, port: ourPort, asn: 64512, holdTime: 3, gracefulRestartTime: 10 }],
      staticRoutes: ['10.200.1.0/24', '10.200.2.0/24'],
    });
    h.addPeer({ address: BIRD, port: birdPort, asn: 64513, holdTime: 3, gracefulRestartTime: 30 }).start();
  });

  afterAll(async () => {
    bird?.signal('SIGCONT');
    await h?.close();
    await bird?.cleanup();
  });

  it('establishes, and BIRD sees our capabilities', async () => {
    await waitFor('Established with BIRD', established, 20_000, h.log);
    const proto = await bird.birdc('show protocols all tabby');
    expect(proto).toMatch(/BGP state:\s+Established/);
    const theirView = proto.slice(proto.indexOf('Neighbor capabilities'));
    for (const cap of ['Multiprotocol', 'Route refresh', 'Graceful restart', 'Restart time: 30', '4-octet AS numbers']) expect(theirView).toContain(cap);
    expect(proto).toMatch(/Hold timer:\s+[\d.]+\/3/);
    expect(h.negotiated.get(BIRD)).toMatchObject({ holdTime: 3, keepaliveTime: 1, routeRefresh: true, fourOctetAs: true, ebgp: true, gracefulRestart: { restartTime: 10 } });
  });

  it('exchanges routes both ways', async () => {
    h.originate(P1);
    h.originate(P2);
    await waitFor('BIRD routes in our Loc-RIB', () => ourRoutes().includes('10.200.1.0/24') && ourRoutes().includes('10.200.2.0/24'), 10_000, h.log);
    const best = h.routes().get('10.200.1.0/24')!;
    expect(best.attributes).toMatchObject({ nextHop: '192.0.2.2', asPath: [{ type: 'sequence', asns: [64513] }], origin: 'igp' });
    await waitFor('our routes in BIRD', async () => {
      const r = await birdRoutes();
      return r.includes('10.100.0.0/26') && r.includes('10.100.0.64/26');
    });
    expect(await birdRoutes()).toContain('[AS64512i]');
  });

  it('withdraws routes both ways', async () => {
    h.withdrawLocal(P2);
    await waitFor('P2 gone from BIRD', async () => !(await birdRoutes()).includes('10.100.0.64/26'));
    expect(await birdRoutes()).toContain('10.100.0.0/26');
    await bird.birdc('disable tabbystatic');
    await waitFor('BIRD routes withdrawn', () => !ourRoutes().some((r) => r.startsWith('10.200.')), 10_000, h.log);
    await bird.birdc('enable tabbystatic');
    await waitFor('BIRD routes back', () => ourRoutes().includes('10.200.1.0/24') && ourRoutes().includes('10.200.2.0/24'), 10_000, h.log);
  });

  it('survives route refresh in both directions', async () => {
    const before = h.updatesReceived;
    expect(h.sessions.get(BIRD)!.requestRouteRefresh()).toBe(true);
    await waitFor('BIRD re-sends its routes', () => h.updatesReceived > before, 10_000, h.log);
    const birdBefore = await birdImportUpdates();
    await bird.birdc('reload in tabby');
    await waitFor('we re-send ours', async () => (await birdImportUpdates()) > birdBefore, 10_000, h.log);
    expect(h.log.some((l) => l.includes('route-refresh 1/1'))).toBe(true);
    expect(established()).toBe(true);
    expect(h.downs).toEqual([]);
    expect(ourRoutes()).toEqual(['10.100.0.0/26', '10.200.1.0/24', '10.200.2.0/24']);
  });

  it('detects a frozen BIRD by hold timer expiry, then recovers', async () => {
    bird.signal('SIGSTOP');
    try {
      await waitFor('hold timer expiry', () => h.downs.some((d) => d.reason.code === 'hold-timer-expired'), 20_000, h.log);
    } finally {
      bird.signal('SIGCONT');
    }
    const d = h.downs.find((x) => x.reason.code === 'hold-timer-expired')!;
    expect(d.reason.notification).toEqual({ direction: 'sent', code: 4, subcode: 0 });
    expect(d.graceful).toBe(false);
    await waitFor('re-established', established, 30_000, h.log);
    await waitFor('routes back', async () => ourRoutes().includes('10.200.2.0/24') && (await birdRoutes()).includes('10.100.0.0/26'), 15_000, h.log);
  });

  it('keeps BIRD routes across a graceful restart and sweeps the stale ones after End-of-RIB', async () => {
    const downsBefore = h.downs.length;
    await bird.kill();
    await waitFor('session down', () => h.downs.length > downsBefore, 10_000, h.log);
    expect(h.downs.at(-1)).toMatchObject({ graceful: true, reason: { code: 'tcp-failed' } });
    // BIRD is gone, its routes stay (stale) for the restart time.
    expect(ourRoutes()).toEqual(['10.100.0.0/26', '10.200.1.0/24', '10.200.2.0/24']);
    expect(h.rib.adjRibIn(BIRD).map((p) => p.stale)).toEqual([true, true]);
    // BIRD comes back in graceful-restart recovery with one route fewer.
    const sweptBefore = h.swept.length;
    await bird.reconfigure({ staticRoutes: ['10.200.1.0/24'] });
    await bird.start({ recovery: true });
    await waitFor('re-established', established, 20_000, h.log);
    expect(h.negotiated.get(BIRD)?.gracefulRestart).toMatchObject({ restarting: true, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] });
    await waitFor('stale route swept at End-of-RIB', () => h.swept.length > sweptBefore, 15_000, h.log);
    expect(ourRoutes()).toEqual(['10.100.0.0/26', '10.200.1.0/24']);
    expect(h.rib.adjRibIn(BIRD).map((p) => p.stale)).toEqual([false]);
  });
});
