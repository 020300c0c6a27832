import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { meshPassive } from '../fsm/collision.js';
import type { FsmConfig } from '../fsm/types.js';
import { BgpWireError, decodeMessage, splitMessages, type BgpMessage } from '../wire/index.js';
import { BgpListener } from './listener.js';
import { BgpSession } from './session.js';

// Real TCP, loopback only: two tabby sessions talk to each other through listeners.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const config = (localId: string): FsmConfig => ({
  localAs: 64512, localId, peerAs: 64512, holdTime: 30, connectRetryTime: 1,
  capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }], idleHoldMs: { initial: 50, max: 200 },
});

async function node(address: string, peers: () => Map<string, BgpSession>): Promise<BgpListener> {
  const l = new BgpListener({ host: address, port: 0, sessionFor: (a) => peers().get(a) });
  await l.listen();
  cleanups.push(() => l.close());
  return l;
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('BgpListener and BgpSession over loopback TCP', () => {
  it('a mesh pair establishes with exactly one side connecting, and carries routes', async () => {
    const A = '127.0.0.1';
    const B = '127.0.0.2';
    const aPeers = new Map<string, BgpSession>();
    const bPeers = new Map<string, BgpSession>();
    const la = await node(A, () => aPeers);
    const lb = await node(B, () => bPeers);
    const a = new BgpSession({ peerAddress: B, peerPort: lb.port, localAddress: A, fsm: config('10.0.0.1'), passive: meshPassive(A, B) });
    const b = new BgpSession({ peerAddress: A, peerPort: la.port, localAddress: B, fsm: config('10.0.0.2'), passive: meshPassive(B, A) });
    cleanups.push(() => a.close(), () => b.close());
    aPeers.set(B, a);
    bPeers.set(A, b);
    const received: BgpMessage[] = [];
    a.on('update', (u) => received.push(u.message));
    const directions: string[] = [];
    a.on('established', (e) => directions.push(`a:${e.direction}`));
    b.on('established', (e) => directions.push(`b:${e.direction}`));
    a.start();
    b.start();
    await until(() => a.state === 'Established' && b.state === 'Established', 'both Established');
    expect(directions.sort()).toEqual(['a:inbound', 'b:outbound']);
    expect(a.negotiated).toMatchObject({ peerId: '10.0.0.2', ebgp: false, holdTime: 30, keepaliveTime: 10, routeRefresh: true });
    b.sendRoutes({ announce: [{ prefix: { prefix: '10.9.0.0', length: 26 }, attributes: { origin: 'igp', asPath: [], nextHop: '10.0.0.2', localPref: 100 } }], withdraw: [], endOfRib: [{ afi: 1, safi: 1 }] });
    await until(() => received.length === 2, 'route and End-of-RIB');
    expect(received[0]).toMatchObject({ nlri: [{ prefix: '10.9.0.0', length: 26 }] });
  });

  it('when both sides connect, collision resolution leaves one connection (the higher id\'s)', async () => {
    const A = '127.0.0.1';
    const B = '127.0.0.2';
    const aPeers = new Map<string, BgpSession>();
    const bPeers = new Map<string, BgpSession>();
    const la = await node(A, () => aPeers);
    const lb = await node(B, () => bPeers);
    const a = new BgpSession({ peerAddress: B, peerPort: lb.port, localAddress: A, fsm: config('10.0.0.1') });
    const b = new BgpSession({ peerAddress: A, peerPort: la.port, localAddress: B, fsm: config('10.0.0.2') });
    cleanups.push(() => a.close(), () => b.close());
    aPeers.set(B, a);
    bPeers.set(A, b);
    const directions: string[] = [];
    a.on('established', (e) => directions.push(`a:${e.direction}`));
    b.on('established', (e) => directions.push(`b:${e.direction}`));
    if (process.env.H8DEBUG) {
      for (const [n, s] of [['a', a], ['b', b]] as const) {
        s.on('state', (c) => console.log(n, c.direction, c.from, '->', c.to, c.reason.code, c.reason.detail ?? '', c.event));
        s.on('rejected', (r) => console.log(n, 'rejected', r.direction, r.reason));
      }
    }
    a.start();
    b.start();
    await until(() => a.state === 'Established' && b.state === 'Established', 'both Established');
    // Whatever the race, the surviving connection is the one B (higher id) opened.
    expect(directions.sort()).toEqual(['a:inbound', 'b:outbound']);
  });

  it('answers an unknown peer with Cease/Connection Rejected', async () => {
    const l = await node('127.0.0.1', () => new Map());
    const rejected: string[] = [];
    l.on('rejected', (r) => rejected.push(r.remoteAddress));
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect({ host: '127.0.0.1', port: l.port, localAddress: '127.0.0.3' });
      s.on('data', (c) => chunks.push(c));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const [frame] = splitMessages(got).frames;
    const d = decodeMessage(frame!, { fourOctetAs: false });
    expect(d instanceof BgpWireError ? d : d.message).toMatchObject({ type: 'notification', code: 6, subcode: 5 });
    expect(rejected).toEqual(['127.0.0.3']);
  });
});
