import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fsm/fake-clock.js';
import type { FsmConfig } from '../fsm/types.js';
import { BgpWireError, buildOpen, decodeMessage, encodeMessage, splitMessages, type BgpMessage, type Capability } from '../wire/index.js';
import { BgpSession, type BgpSessionEvents } from './session.js';
import type { ConnectOptions, SessionSocket } from './socket.js';

/** An in-memory socket: what the session writes is collected; the test plays the peer. */
class FakeSocket extends EventEmitter implements SessionSocket {
  written: Buffer[] = [];
  ended = false;
  destroyed = false;
  constructor(readonly remoteAddress = '10.0.0.2', readonly localAddress = '10.0.0.1') {
    super();
  }
  write(d: Buffer): boolean {
    this.written.push(Buffer.from(d));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Messages the session sent, decoded (4-octet ASNs once OPENs are through; fine for these tests). */
  messages(): BgpMessage[] {
    const { frames } = splitMessages(Buffer.concat(this.written));
    return frames.map((f) => {
      const d = decodeMessage(f, { fourOctetAs: true });
      if (d instanceof BgpWireError) throw d;
      return d.message;
    });
  }
  types(): string[] {
    return this.messages().map((m) => (m.type === 'notification' ? `notification:${m.code}/${m.subcode}` : m.type));
  }
  feed(m: BgpMessage): void {
    this.emit('data', encodeMessage(m, { fourOctetAs: true }));
  }
}

const caps: Capability[] = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' },
  { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 60, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] }];
const fsm: FsmConfig = { localAs: 64512, localId: '10.0.0.1', peerAs: 64512, holdTime: 9, connectRetryTime: 5, capabilities: caps };
const peerOpen = (bgpId = '10.0.0.2', holdTime = 9): BgpMessage => buildOpen({ asn: 64512, holdTime, bgpId, capabilities: caps });

let sessions: BgpSession[] = [];
afterEach(() => {
  for (const s of sessions) s.close();
  sessions = [];
});

function setup(o: { passive?: boolean; localId?: string } = {}) {
  const clock = new FakeClock();
  const outbound: FakeSocket[] = [];
  const connector = (_: ConnectOptions): SessionSocket => {
    const s = new FakeSocket();
    outbound.push(s);
    return s;
  };
  const session = new BgpSession({ peerAddress: '10.0.0.2', fsm: { ...fsm, localId: o.localId ?? fsm.localId }, clock, connector, random: () => 0.5, ...(o.passive ? { passive: true } : {}) });
  sessions.push(session);
  const events: Array<{ name: keyof BgpSessionEvents; arg: unknown }> = [];
  for (const name of ['state', 'established', 'update', 'route-refresh', 'down', 'rejected'] as const) {
    session.on(name, (arg: unknown) => events.push({ name, arg }));
  }
  return { clock, outbound, session, events };
}

function establish() {
  const t = setup();
  t.session.start();
  const sock = t.outbound[0]!;
  sock.emit('connect');
  sock.feed(peerOpen());
  sock.feed({ type: 'keepalive' });
  return { ...t, sock };
}

describe('BgpSession over a fake connection', () => {
  it('connects, exchanges OPEN and KEEPALIVE, and reports established', () => {
    const { session, sock, events } = establish();
    expect(session.state).toBe('Established');
    expect(sock.types()).toEqual(['open', 'keepalive']);
    const est = events.find((e) => e.name === 'established')!.arg as BgpSessionEvents['established'][0];
    expect(est).toMatchObject({ localAddress: '10.0.0.1', remoteAddress: '10.0.0.2', direction: 'outbound', negotiated: { holdTime: 9, keepaliveTime: 3, ebgp: false } });
    expect(events.filter((e) => e.name === 'state').map((e) => (e.arg as { to: string }).to)).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
  });
  it('sends keepalives on its timer and resets the hold timer on received ones', () => {
    const { session, sock, clock } = establish();
    clock.advance(3000);
    expect(sock.types()).toEqual(['open', 'keepalive', 'keepalive']);
    clock.advance(5000);
    sock.feed({ type: 'keepalive' });
    clock.advance(5000); // 10 s since establishment, but only 5 since the last keepalive
    expect(session.state).toBe('Established');
  });
  it('detects a silent peer by hold timer expiry', () => {
    const { session, sock, clock, events } = establish();
    clock.advance(9000);
    expect(session.state).toBe('Idle');
    expect(sock.types()).toContain('notification:4/0');
    expect(sock.ended).toBe(true);
    expect(events.find((e) => e.name === 'down')!.arg).toMatchObject({ graceful: false, reason: { code: 'hold-timer-expired' } });
    // ...and restarts automatically after the backoff
    clock.advance(1000);
    expect(session.state).toBe('Connect');
  });
  it('a dropped TCP connection with graceful restart negotiated is a graceful down', () => {
    const { sock, events } = establish();
    sock.emit('close');
    expect(events.find((e) => e.name === 'down')!.arg).toMatchObject({ graceful: true, reason: { code: 'tcp-failed' } });
  });
  it('delivers UPDATEs and ROUTE-REFRESH requests', () => {
    const { sock, events } = establish();
    sock.feed({ type: 'update', withdrawn: [], nlri: [{ prefix: '10.2.0.0', length: 26 }], attributes: { origin: 'igp', asPath: [], nextHop: '10.0.0.2', localPref: 100 } });
    sock.feed({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    const u = events.find((e) => e.name === 'update')!.arg as BgpSessionEvents['update'][0];
    expect(u.message.nlri).toEqual([{ prefix: '10.2.0.0', length: 26 }]);
    expect(events.find((e) => e.name === 'route-refresh')!.arg).toEqual({ afi: 1, safi: 1, subtype: 0 });
  });
  it('answers a malformed UPDATE with its NOTIFICATION', () => {
    const { session, sock } = establish();
    // Withdrawn Routes Length overrunning the message: 3/1.
    const bad = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 23, 2, 0, 200, 0, 0])]);
    sock.emit('data', bad);
    expect(sock.types()).toContain('notification:3/1');
    expect(session.state).toBe('Idle');
  });
  it('sends routes packed, then End-of-RIB', () => {
    const { session, sock } = establish();
    const n = session.sendRoutes({ announce: [{ prefix: { prefix: '10.1.0.0', length: 26 }, attributes: { origin: 'igp', asPath: [], nextHop: '10.0.0.1', localPref: 100 } }], withdraw: [], endOfRib: [{ afi: 1, safi: 1 }] });
    expect(n).toBe(2);
    const ms = sock.messages().slice(2);
    expect(ms[0]).toMatchObject({ type: 'update', nlri: [{ prefix: '10.1.0.0', length: 26 }] });
    expect(ms[1]).toEqual({ type: 'update', withdrawn: [], nlri: [], attributes: {} });
    expect(session.requestRouteRefresh()).toBe(true);
    expect(sock.types().at(-1)).toBe('route-refresh');
  });
  it('on a 2-octet AS session, large ASNs go out as AS_TRANS with AS4_PATH', () => {
    const t = setup();
    t.session.start();
    const sock = t.outbound[0]!;
    sock.emit('connect');
    sock.feed({ type: 'open', version: 4, myAs: 64512, holdTime: 9, bgpId: '10.0.0.2', capabilities: caps });
    sock.feed({ type: 'keepalive' });
    expect(t.session.negotiated?.fourOctetAs).toBe(false);
    t.session.sendRoutes({ announce: [{ prefix: { prefix: '10.1.0.0', length: 26 }, attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [4200000000] }], nextHop: '10.0.0.1', localPref: 100 } }], withdraw: [] });
    const { frames } = splitMessages(Buffer.concat(sock.written));
    const d = decodeMessage(frames.at(-1)!, { fourOctetAs: false });
    expect(d instanceof BgpWireError ? d : d.message).toMatchObject({ type: 'update', attributes: { asPath: [{ type: 'sequence', asns: [23456] }], as4Path: [{ type: 'sequence', asns: [4200000000] }] } });
  });
  it('ManualStop sends Cease/Administrative Shutdown and stays down', () => {
    const { session, sock, clock } = establish();
    session.stop();
    expect(sock.types().at(-1)).toBe('notification:6/2');
    clock.advance(600_000);
    expect(session.state).toBe('Idle');
  });
  it('retries a refused connection on the ConnectRetryTimer', () => {
    const { session, outbound, clock } = setup();
    session.start();
    outbound[0]!.emit('error', new Error('ECONNREFUSED'));
    outbound[0]!.emit('close');
    expect(session.state).toBe('Active');
    clock.advance(5000);
    expect(outbound).toHaveLength(2);
    expect(session.state).toBe('Connect');
  });
});

describe('inbound connections and collisions', () => {
  it('a passive session takes the peer connection', () => {
    const { session, outbound } = setup({ passive: true });
    session.start();
    expect(outbound).toHaveLength(0);
    const inbound = new FakeSocket();
    session.acceptConnection(inbound);
    expect(inbound.types()).toEqual(['open']);
    inbound.feed(peerOpen());
    inbound.feed({ type: 'keepalive' });
    expect(session.state).toBe('Established');
  });
  it('a stopped session refuses with Cease/Connection Rejected', () => {
    const { session, events } = setup();
    const inbound = new FakeSocket();
    session.acceptConnection(inbound);
    expect(inbound.types()).toEqual(['notification:6/5']);
    expect(events.some((e) => e.name === 'rejected')).toBe(true);
  });
  it('collision: the peer has the higher identifier, so its (inbound) connection survives', () => {
    const { session, outbound, events } = setup({ localId: '10.0.0.1' });
    session.start();
    const out = outbound[0]!;
    out.emit('connect'); // OpenSent on the outbound connection
    const inbound = new FakeSocket();
    session.acceptConnection(inbound);
    expect(inbound.types()).toEqual(['open']);
    inbound.feed(peerOpen('10.0.0.2'));
    expect(out.types()).toEqual(['open', 'notification:6/7']);
    expect(out.ended).toBe(true);
    inbound.feed({ type: 'keepalive' });
    expect(session.state).toBe('Established');
    expect((events.find((e) => e.name === 'established')!.arg as { direction: string }).direction).toBe('inbound');
  });
  it('collision: we have the higher identifier, so our (outbound) connection survives', () => {
    const { session, outbound } = setup({ localId: '10.0.0.9' });
    session.start();
    const out = outbound[0]!;
    out.emit('connect');
    const inbound = new FakeSocket();
    session.acceptConnection(inbound);
    inbound.feed(peerOpen('10.0.0.2'));
    expect(inbound.types()).toEqual(['open', 'notification:6/7']);
    out.feed(peerOpen('10.0.0.2'));
    out.feed({ type: 'keepalive' });
    expect(session.state).toBe('Established');
    expect(out.types()).toEqual(['open', 'keepalive']);
  });
  it('an established session without graceful restart rejects a new connection', () => {
    const t = setup();
    t.session.start();
    const sock = t.outbound[0]!;
    sock.emit('connect');
    sock.feed(buildOpen({ asn: 64512, holdTime: 9, bgpId: '10.0.0.2', capabilities: [] }));
    sock.feed({ type: 'keepalive' });
    const inbound = new FakeSocket();
    t.session.acceptConnection(inbound);
    expect(inbound.types()).toEqual(['notification:6/7']);
    expect(t.session.state).toBe('Established');
  });
  it('with graceful restart, a reconnecting peer replaces the old connection', () => {
    const { session, events } = establish();
    const inbound = new FakeSocket();
    session.acceptConnection(inbound);
    expect(events.find((e) => e.name === 'down')!.arg).toMatchObject({ graceful: true });
    inbound.feed(peerOpen());
    inbound.feed({ type: 'keepalive' });
    expect(session.state).toBe('Established');
  });
});
