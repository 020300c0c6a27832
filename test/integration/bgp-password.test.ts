/**
 * BGP passwords (TCP-MD5, RFC 2385) against real BIRD 2 and GoBGP over loopback: our
 * sessions and listener sign through the native addon (src/native/tcp-md5.ts), the kernel
 * checks. Outbound: we connect to a passive BIRD. Inbound: a GoBGP connects to our keyed
 * listener. That signing really happens is shown by the kernel, not by our own state: a wrong
 * or missing key is dropped at the SYN and counted (TcpExtTCPMD5Failure / TCPMD5NotFound in
 * /proc/net/netstat), and the session never comes up. Addresses are 127.N.0.x with N from
 * our pid; ports are free ones.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpMd5Sockets } from '../../src/native/tcp-md5.js';
import { isRoot, needsRoot } from '../support/root.js';
import { startBird, type BirdDaemon } from '../support/bird.js';
import { freeLoopbackPort } from '../support/daemon.js';
import { startGobgp, type GobgpDaemon } from '../support/gobgp.js';
import { BgpHarness, waitFor } from './fixtures/bgp-harness.js';

const net = 1 + (process.pid % 200);
const OURS = `127.${net}.0.11`;
const BIRD = `127.${net}.0.12`;
const GOBGP = `127.${net}.0.13`;
const STRANGER = `127.${net}.0.14`;
const BIRD_PASSWORD = 'bird-md5-secret';
const GOBGP_PASSWORD = 'gobgp md5 secret';

/** A TcpExt counter of this network namespace (the kernel's own account of TCP-MD5 drops). */
async function tcpExt(name: string): Promise<number> {
  const lines = (await readFile('/proc/net/netstat', 'utf8')).split('\n').filter((l) => l.startsWith('TcpExt:'));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/));
  const i = names?.indexOf(name) ?? -1;
  if (i < 0 || !values?.[i]) throw new Error(`no TcpExt counter ${name} in /proc/net/netstat`);
  return Number(values[i]);
}

describe.skipIf(!isRoot)(needsRoot('BGP passwords (TCP-MD5) with BIRD 2 and GoBGP'), () => {
  let h: BgpHarness;
  let bird: BirdDaemon;
  let gobgp: GobgpDaemon;
  let birdPort: number;
  let ourPort: number;

  const birdProtocol = async (): Promise<string> => bird.birdc('show protocols all tabby');
  const ourRoutes = (): string[] => [...h.routes().keys()].sort();

  beforeAll(async () => {
    h = new BgpHarness({ localAs: 64512, routerId: '10.255.0.11', host: OURS, nextHop: '192.0.2.1', md5: new TcpMd5Sockets() });
    ourPort = await h.listen();
    birdPort = await freeLoopbackPort(BIRD);
    bird = await startBird({
      routerId: '10.255.0.12', localAddress: BIRD, localPort: birdPort, asn: 64513,
      neighbors: [{ name: 'tabby', address: OURS, port: ourPort, asn: 64512, holdTime: 6, passive: true, password: BIRD_PASSWORD }],
      staticRoutes: ['10.210.1.0/24'],
    });
    gobgp = await startGobgp({
      routerId: '10.255.0.13', localAddress: GOBGP, localPort: await freeLoopbackPort(GOBGP), asn: 64514,
      neighbors: [{ address: OURS, port: ourPort, asn: 64512, holdTime: 6, password: GOBGP_PASSWORD }],
    });
    await gobgp.cli('global rib add 10.211.1.0/24 nexthop 192.0.2.3 -a ipv4');
    h.originate({ prefix: '10.110.0.0', length: 26 });
  });

  afterAll(async () => {
    await h?.close();
    await bird?.cleanup();
    await gobgp?.cleanup();
  });

  it('outbound: a signed session with BIRD comes up and carries routes both ways', async () => {
    h.addPeer({ address: BIRD, port: birdPort, asn: 64513, holdTime: 6, password: BIRD_PASSWORD }).start();
    await waitFor('Established with BIRD', () => h.state(BIRD) === 'Established', 20_000, h.log);
    expect(await birdProtocol()).toMatch(/BGP state:\s+Established/);
    await waitFor('BIRD\'s route', () => ourRoutes().includes('10.210.1.0/24'), 10_000, h.log);
    await waitFor('our route in BIRD', async () => (await bird.birdc('show route protocol tabby')).includes('10.110.0.0/26'));
  });

  it('outbound: with a wrong password the kernel drops our SYNs and the session never comes up', async () => {
    h.removePeer(BIRD);
    await waitFor('BIRD sees the session go', async () => !/BGP state:\s+Established/.test(await birdProtocol()));
    const failures = await tcpExt('TCPMD5Failure');
    h.addPeer({ address: BIRD, port: birdPort, asn: 64513, holdTime: 6, password: 'not-the-password' }).start();
    await waitFor('the kernel to drop a badly signed segment', async () => (await tcpExt('TCPMD5Failure')) > failures, 20_000, h.log);
    expect(h.state(BIRD)).not.toBe('Established');
    expect(await birdProtocol()).not.toMatch(/BGP state:\s+Established/);
    expect(ourRoutes()).not.toContain('10.210.1.0/24');
    // The right password again: up again.
    h.removePeer(BIRD);
    h.addPeer({ address: BIRD, port: birdPort, asn: 64513, holdTime: 6, password: BIRD_PASSWORD }).start();
    await waitFor('Established with BIRD again', () => h.state(BIRD) === 'Established', 20_000, h.log);
  });

  it('inbound: GoBGP connects to our keyed listener with its password and the session comes up', async () => {
    h.addPeer({ address: GOBGP, port: 179, asn: 64514, holdTime: 6, passive: true, password: GOBGP_PASSWORD }).start();
    await waitFor('Established with GoBGP', () => h.state(GOBGP) === 'Established', 30_000, h.log);
    await waitFor('GoBGP\'s route', () => ourRoutes().includes('10.211.1.0/24'), 10_000, h.log);
    const state = (await gobgp.neighbor(OURS))?.state?.session_state;
    expect(String(state).toLowerCase()).toMatch(/established|6/);
  });

  it('inbound: an unsigned connection from a keyed peer address is dropped by the kernel, never accepted', async () => {
    // A peer with a password, but whoever is at its address connects without one.
    h.addPeer({ address: STRANGER, port: 179, asn: 64515, passive: true, password: 'stranger-secret' }).start();
    const notFound = await tcpExt('TCPMD5NotFound');
    const s = connect({ host: OURS, port: ourPort, localAddress: STRANGER });
    let connected = false;
    s.on('connect', () => (connected = true));
    s.on('error', () => {});
    try {
      await waitFor('the kernel to drop the unsigned SYN', async () => (await tcpExt('TCPMD5NotFound')) > notFound);
      expect(connected).toBe(false);
      expect(h.state(STRANGER)).toBe('Active');
    } finally {
      s.destroy();
      h.removePeer(STRANGER);
    }
  });
});
