import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../fsm/fake-clock.js';
import type { BgpSessionEvents, BgpSessionOptions } from '../session/session.js';
import type { NegotiatedSession } from '../fsm/types.js';
import type { OutboundRoute } from '../rib/types.js';
import type { Prefix, UpdateMessage } from '../wire/index.js';
import { createLogger } from '../../log/logger.js';
import { DEFAULT_HOLD_TIME, DEFAULT_RESTART_TIME, type PeerConfig, type SpeakerConfig } from './config.js';
import { BgpSpeaker, SECRET_RECHECK_MS, type BgpSpeakerOptions, type SpeakerSession } from './speaker.js';
import type { SecretKeyRef, SecretLookup, SecretStore } from './secrets.js';
import type { TcpMd5 } from '../session/tcp-md5.js';
import type { BgpRouteMessage } from './route-classifier.js';

/** A session that only records what the speaker asks and emits what the test says. */
class FakeSession extends EventEmitter<BgpSessionEvents> implements SpeakerSession {
  state: SpeakerSession['state'] = 'Idle';
  started = 0;
  closed = 0;
  sent: Array<{ announce: OutboundRoute[]; withdraw: Prefix[] }> = [];

  constructor(readonly opts: BgpSessionOptions) {
    super();
  }

  start(): void {
    this.started++;
    this.state = this.opts.passive ? 'Active' : 'Connect';
  }

  close(): void {
    this.closed++;
    this.state = 'Idle';
  }

  sendRoutes(d: { announce: OutboundRoute[]; withdraw: Prefix[] }): number {
    this.sent.push({ announce: d.announce, withdraw: d.withdraw });
    return 1;
  }

  acceptConnection(): void {}

  establish(peerId = '9.9.9.9'): void {
    const negotiated: NegotiatedSession = {
      peerAs: this.opts.fsm.peerAs, peerId, ebgp: this.opts.fsm.peerAs !== this.opts.fsm.localAs, holdTime: 90, keepaliveTime: 30,
      fourOctetAs: true, routeRefresh: true, families: [{ afi: 1, safi: 1 }],
      peerOpen: { type: 'open', version: 4, myAs: this.opts.fsm.peerAs, holdTime: 90, bgpId: peerId, capabilities: [] },
    };
    this.state = 'Established';
    this.emit('state', { from: 'OpenConfirm', to: 'Established', reason: { code: 'keepalive-received' }, event: 'KeepAliveMsg', direction: 'outbound' });
    this.emit('established', { negotiated, localAddress: '10.0.0.2', remoteAddress: this.opts.peerAddress, direction: 'outbound' });
  }

  announce(prefixes: string[], nextHop: string, asPath: number[] = []): void {
    const message: UpdateMessage = {
      type: 'update', withdrawn: [], nlri: prefixes.map(toPrefix),
      attributes: { origin: 'igp', asPath: asPath.length ? [{ type: 'sequence', asns: asPath }] : [], nextHop, ...(asPath.length ? {} : { localPref: 100 }) },
    };
    this.emit('update', { message, outcome: 'ok', discarded: [], withdrawnDueToError: [] });
  }

  down(): void {
    this.state = 'Idle';
    this.emit('state', { from: 'Established', to: 'Idle', reason: { code: 'hold-timer-expired' }, event: 'HoldTimerExpires', direction: 'outbound' });
    this.emit('down', { reason: { code: 'hold-timer-expired' }, graceful: false, negotiated: {} as NegotiatedSession });
  }
}

const toPrefix = (s: string): Prefix => ({ prefix: s.split('/')[0] as string, length: Number(s.split('/')[1]) });

function peer(id: string, over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    id, address: id, port: 179, asNumber: 64512, peerType: 'node-to-node mesh', source: 'mesh', passive: false,
    holdTime: DEFAULT_HOLD_TIME, restartTime: DEFAULT_RESTART_TIME, routeReflectorClient: false, ...over,
  };
}

function config(peers: PeerConfig[], over: Partial<SpeakerConfig> = {}): SpeakerConfig {
  return {
    nodeName: 'n2', enabled: true, routerId: '10.0.0.2', localAddress: '10.0.0.2', asNumber: 64512, listenPort: 179, bindMode: 'None',
    meshEnabled: true, peers, exports: ['192.168.0.64/26'], notes: [],
    routing: { pools: [{ name: 'p', cidr: '192.168.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' }], nodesByAddress: { '10.0.0.1': 'n1', '10.0.0.3': 'n3' }, subnetsByAddress: {} },
    ...over,
  };
}

function harness(o: Pick<BgpSpeakerOptions, 'startAfter' | 'secrets' | 'tcpMd5' | 'logger'> = {}) {
  const clock = new FakeClock(0);
  let wall = Date.UTC(2026, 0, 1, 12, 0, 0);
  const sessions: FakeSession[] = [];
  const routes: BgpRouteMessage[] = [];
  const speaker = new BgpSpeaker({
    clock, now: () => wall, listen: false, logger: createLogger({ level: 'silent' }),
    sessionFactory: (o) => {
      const s = new FakeSession(o);
      sessions.push(s);
      return s;
    },
    onRoutes: (m) => routes.push(...m),
    ...o,
  });
  const live = (address: string) => sessions.filter((s) => s.opts.peerAddress === address && s.closed === 0);
  return { clock, speaker, sessions, routes, live, tick: (ms: number) => (wall += ms) };
}

describe('BgpSpeaker', () => {
  it('starts no session before startAfter settles (the agent\'s warm-up), then starts them, also when it failed', async () => {
    let release!: () => void;
    const h = harness({ startAfter: new Promise<void>((r) => (release = r)) });
    const applied = h.speaker.update(config([peer('10.0.0.1')]));
    await new Promise((r) => setTimeout(r, 10));
    expect(h.sessions).toHaveLength(0);
    expect(h.speaker.status().reason).toMatch(/waiting for the agent's BGP warm-up/);
    release();
    await applied;
    expect(h.sessions.map((s) => s.started)).toEqual([1]);
    await h.speaker.close();

    const failed = harness({ startAfter: Promise.reject(new Error('warm-up failed')) });
    await failed.speaker.update(config([peer('10.0.0.1')]));
    expect(failed.sessions.map((s) => s.started)).toEqual([1]);
    await failed.speaker.close();
  });

  it('starts one session per configured peer, with the FSM settings from the config', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1', { passive: true }), peer('192.0.2.1', { asNumber: 65000, peerType: 'global', holdTime: 30, port: 1179, id: '192.0.2.1:1179' })]));
    expect(h.sessions.map((s) => [s.opts.peerAddress, s.opts.peerPort, s.opts.passive, s.opts.fsm.peerAs, s.opts.fsm.holdTime, s.opts.localAddress, s.started])).toEqual([
      ['10.0.0.1', 179, true, 64512, 90, '10.0.0.2', 1],
      ['192.0.2.1', 1179, false, 65000, 30, '10.0.0.2', 1],
    ]);
    expect(h.sessions[0]?.opts.fsm.capabilities).toContainEqual(expect.objectContaining({ kind: 'graceful-restart', restartTime: 120 }));
    expect(h.speaker.status().peers.map((p) => [p.peerAddress, p.peerType, p.state, p.info])).toEqual([
      ['10.0.0.1', 'node-to-node mesh', 'start', 'Idle'],
      ['192.0.2.1:1179', 'global', 'start', 'Idle'],
    ]);
    await h.speaker.close();
    expect(h.sessions.every((s) => s.closed === 1)).toBe(true);
  });

  it('changing one BGPPeer resets only that session; a changed label resets nothing', async () => {
    const h = harness();
    const mesh = [peer('10.0.0.1'), peer('10.0.0.3')];
    await h.speaker.update(config([...mesh, peer('192.0.2.1', { asNumber: 65000, peerType: 'global', source: 'bgppeer/tor' })]));
    const [a, b, tor] = h.sessions;
    a?.establish();
    await h.speaker.update(config([...mesh, peer('192.0.2.1', { asNumber: 65001, peerType: 'global', source: 'bgppeer/tor' })]));
    expect([a?.closed, b?.closed, tor?.closed]).toEqual([0, 0, 1]);
    expect(h.live('192.0.2.1').map((s) => s.opts.fsm.peerAs)).toEqual([65001]);
    // 10.0.0.3 is now configured by a BGPPeer with the same session parameters: only its label changes.
    await h.speaker.update(config([mesh[0] as PeerConfig, peer('10.0.0.3', { peerType: 'node specific', source: 'bgppeer/x' }), peer('192.0.2.1', { asNumber: 65001, peerType: 'global' })]));
    expect(b?.closed).toBe(0);
    expect(h.sessions).toHaveLength(4);
    expect(h.speaker.status().peers.find((p) => p.peerAddress === '10.0.0.3')).toMatchObject({ peerType: 'node specific', source: 'bgppeer/x' });
    expect(h.speaker.status().peers.find((p) => p.peerAddress === '10.0.0.1')).toMatchObject({ state: 'up', info: 'Established' });
    await h.speaker.close();
  });

  it('disabling the mesh drops the mesh sessions and keeps the route reflector session', async () => {
    const h = harness();
    const rr = peer('10.0.0.1', { peerType: 'node specific', source: 'bgppeer/rr' });
    await h.speaker.update(config([rr, peer('10.0.0.3'), peer('10.0.0.4')]));
    const rrSession = h.live('10.0.0.1')[0];
    rrSession?.establish();
    await h.speaker.update(config([rr], { meshEnabled: false }));
    expect(h.sessions.filter((s) => s.closed > 0).map((s) => s.opts.peerAddress)).toEqual(['10.0.0.3', '10.0.0.4']);
    expect(rrSession?.closed).toBe(0);
    expect(h.speaker.status().peers.map((p) => p.peerAddress)).toEqual(['10.0.0.1']);
    await h.speaker.close();
  });

  it('becoming a reflector client resets that session, since the RIB treats the peer differently', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1'), peer('10.0.0.3')]));
    await h.speaker.update(config([peer('10.0.0.1', { routeReflectorClient: true }), peer('10.0.0.3')], { clusterId: '224.0.0.1' }));
    // The cluster id is part of the RIB's identity: everything restarts.
    expect(h.sessions.filter((s) => s.closed > 0)).toHaveLength(2);
    expect(h.live('10.0.0.1')).toHaveLength(1);
    await h.speaker.update(config([peer('10.0.0.1'), peer('10.0.0.3')], { clusterId: '224.0.0.1' }));
    expect(h.sessions.filter((s) => s.closed > 0).map((s) => s.opts.peerAddress)).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.1']);
    await h.speaker.close();
  });

  it('exports our blocks to a peer once it is established, and changes as exports change', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1')]));
    const s = h.sessions[0] as FakeSession;
    expect(s.sent).toEqual([]);
    s.establish();
    expect(s.sent.flatMap((d) => d.announce.map((r) => [`${r.prefix.prefix}/${r.prefix.length}`, r.attributes.nextHop]))).toEqual([['192.168.0.64/26', '10.0.0.2']]);
    await h.speaker.update(config([peer('10.0.0.1')], { exports: ['192.168.0.5/32'] }));
    const last = s.sent.slice(-2);
    expect(last.flatMap((d) => d.withdraw)).toEqual([toPrefix('192.168.0.64/26')]);
    expect(last.flatMap((d) => d.announce.map((r) => r.prefix))).toEqual([toPrefix('192.168.0.5/32')]);
    expect(h.speaker.status().exported).toBe(1);
    await h.speaker.close();
  });

  it('turns learned best paths into typed route updates and removes them when the peer goes', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1'), peer('192.0.2.1', { asNumber: 65000, peerType: 'global' })]));
    const [n1, tor] = h.sessions as [FakeSession, FakeSession];
    n1.establish();
    tor.establish('192.0.2.1');
    n1.announce(['192.168.0.0/26', '192.168.0.70/32'], '10.0.0.1');
    tor.announce(['198.51.100.0/24'], '192.0.2.1', [65000]);
    expect(h.routes).toEqual([
      { type: 'RouteUpdate', dst: '192.168.0.0/26', routeType: 'remote-block', nextHop: '10.0.0.1', dstNode: 'n1', encap: 'none' },
      { type: 'RouteUpdate', dst: '192.168.0.70/32', routeType: 'remote-workload', nextHop: '10.0.0.1', dstNode: 'n1', encap: 'none' },
      { type: 'RouteUpdate', dst: '198.51.100.0/24', routeType: 'bgp', nextHop: '192.0.2.1', encap: 'none' },
    ]);
    // The ToR's route is passed on to the mesh peer (eBGP-learned, next hop kept).
    expect(n1.sent.flatMap((d) => d.announce.map((r) => `${r.prefix.prefix}/${r.prefix.length} via ${r.attributes.nextHop}`))).toContain('198.51.100.0/24 via 192.0.2.1');
    h.routes.length = 0;
    // A pool that now says IPIP changes the encapsulation of the routes already learned.
    await h.speaker.update(config([peer('10.0.0.1'), peer('192.0.2.1', { asNumber: 65000, peerType: 'global' })], {
      routing: { pools: [{ name: 'p', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never' }], nodesByAddress: { '10.0.0.1': 'n1' }, subnetsByAddress: {} },
    }));
    expect(h.routes.map((r) => (r.type === 'RouteUpdate' ? `${r.dst} ${r.encap}` : r.dst))).toEqual(['192.168.0.0/26 ipip', '192.168.0.70/32 ipip']);
    h.routes.length = 0;
    n1.down();
    expect(h.routes).toEqual([{ type: 'RouteRemove', dst: '192.168.0.0/26' }, { type: 'RouteRemove', dst: '192.168.0.70/32' }]);
    expect(h.speaker.importedCount).toBe(1);
    h.routes.length = 0;
    await h.speaker.update(config([peer('10.0.0.1')]));
    expect(h.routes).toEqual([{ type: 'RouteRemove', dst: '198.51.100.0/24' }]);
    // Shutting down leaves the dataplane alone (the next agent's speaker takes over).
    n1.establish();
    n1.announce(['192.168.0.0/26'], '10.0.0.1');
    h.routes.length = 0;
    await h.speaker.close();
    expect(h.routes).toEqual([]);
  });

  it('reports state, since and the last error per peer', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1')]));
    const s = h.sessions[0] as FakeSession;
    h.tick(5_000);
    s.emit('state', { from: 'Connect', to: 'Active', reason: { code: 'tcp-failed', detail: 'connect ECONNREFUSED 10.0.0.1:179' }, event: 'TcpConnectionFails', direction: 'outbound' });
    expect(h.speaker.status().peers[0]).toMatchObject({ state: 'start', info: 'Active Connect: connection refused', since: '2026-01-01T12:00:00.000Z' });
    h.tick(5_000);
    s.establish();
    expect(h.speaker.status().peers[0]).toMatchObject({ state: 'up', info: 'Established', since: '2026-01-01T12:00:10.000Z' });
    s.down();
    expect(h.speaker.status().peers[0]).toMatchObject({ state: 'start', info: 'Idle Hold timer expired' });
    expect(h.speaker.status()).toMatchObject({ enabled: true, routerId: '10.0.0.2', asNumber: 64512, meshEnabled: true, ipv6Peers: [] });
    await h.speaker.close();
  });

  it('a disabled configuration stops everything and says why', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1')]));
    await h.speaker.update({ ...config([]), enabled: false, disabledReason: 'Node n2 has no spec.bgp.ipv4Address' });
    expect(h.sessions[0]?.closed).toBe(1);
    expect(h.speaker.status()).toMatchObject({ enabled: false, reason: 'Node n2 has no spec.bgp.ipv4Address', peers: [] });
    await h.speaker.close();
  });

  it('keeps a gracefully restarting peer\'s routes until its restart time runs out (injected clock)', async () => {
    const h = harness();
    await h.speaker.update(config([peer('10.0.0.1')]));
    const s = h.sessions[0] as FakeSession;
    const negotiated: NegotiatedSession = {
      peerAs: 64512, peerId: '10.0.0.1', ebgp: false, holdTime: 90, keepaliveTime: 30, fourOctetAs: true, routeRefresh: true, families: [{ afi: 1, safi: 1 }],
      gracefulRestart: { restartTime: 30, restarting: false, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] },
      peerOpen: { type: 'open', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.1', capabilities: [] },
    };
    s.emit('established', { negotiated, localAddress: '10.0.0.2', remoteAddress: '10.0.0.1', direction: 'outbound' });
    s.announce(['192.168.0.0/26'], '10.0.0.1');
    s.emit('down', { reason: { code: 'tcp-failed' }, graceful: true, negotiated });
    expect(h.speaker.importedCount).toBe(1);
    h.clock.advance(29_000);
    expect(h.speaker.importedCount).toBe(1);
    h.clock.advance(1_000);
    expect(h.speaker.importedCount).toBe(0);
    await h.speaker.close();
  });

  it('reports a listener that cannot bind and retries it on the clock', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const clock = new FakeClock(0);
    const speaker = new BgpSpeaker({ clock, listenHost: '127.0.0.1', logger: createLogger({ level: 'silent' }), sessionFactory: (o) => new FakeSession(o) });
    const cfg = config([], { listenPort: port });
    try {
      await speaker.update(cfg);
      expect(speaker.status().listenError).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      await new Promise<void>((r) => blocker.close(() => r()));
      clock.advance(10_000);
      await speaker.update(cfg); // queued behind the retry
      expect(speaker.status().listenError).toBeUndefined();
    } finally {
      await speaker.close();
      if (blocker.listening) blocker.close();
    }
  });
});

/** Secrets as a test sets them: `name/key` -> password; anything else is missing. */
class FakeSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  reads = 0;

  async read(ref: SecretKeyRef): Promise<SecretLookup> {
    this.reads++;
    const v = this.values.get(`${ref.name}/${ref.key}`);
    const what = `secret "${ref.name}" key "${ref.key}"`;
    return v === undefined ? { found: false, missing: true, reason: `${what} not found`, detail: `${what} not found: /s/${ref.name}/${ref.key} does not exist` } : { found: true, value: v };
  }
}

/** The kernel's TCP-MD5 as calls recorded (no socket is ever made through it here: sessions are fakes). */
class FakeMd5 implements TcpMd5 {
  readonly keys: Array<[number, string, string | undefined]> = [];
  socket(): number {
    throw new Error('no sockets in unit tests');
  }
  setKey(fd: number, peer: string, password: string | undefined): void {
    this.keys.push([fd, peer, password]);
  }
}

describe('BgpSpeaker passwords (TCP-MD5)', () => {
  const tor = (over: Partial<PeerConfig> = {}) => peer('192.0.2.1', { asNumber: 65000, peerType: 'global', source: 'bgppeer/tor', password: { name: 'bgp', key: 'tor' }, ...over });

  it('gives a peer with a password a signed session, and others none', async () => {
    const secrets = new FakeSecrets();
    secrets.values.set('bgp/tor', 's3cret');
    const h = harness({ secrets, tcpMd5: new FakeMd5() });
    await h.speaker.update(config([peer('10.0.0.1'), tor()]));
    expect(h.sessions.map((s) => [s.opts.peerAddress, s.opts.password, s.started])).toEqual([
      ['10.0.0.1', undefined, 1],
      ['192.0.2.1', 's3cret', 1],
    ]);
    await h.speaker.close();
  });

  it('starts no session while the password cannot be read, says why, and starts once it can (read again on the clock)', async () => {
    const secrets = new FakeSecrets();
    const h = harness({ secrets, tcpMd5: new FakeMd5() });
    await h.speaker.update(config([peer('10.0.0.1'), tor()]));
    expect(h.sessions.map((s) => s.opts.peerAddress)).toEqual(['10.0.0.1']);
    expect(h.speaker.status().peers.find((p) => p.peerAddress === '192.0.2.1')).toMatchObject({
      peerType: 'global', state: 'start', fsmState: 'Idle', info: 'Idle Password unavailable: secret "bgp" key "tor" not found',
    });
    secrets.values.set('bgp/tor', 'late');
    h.clock.advance(SECRET_RECHECK_MS);
    await vi.waitFor(() => expect(h.live('192.0.2.1').map((s) => s.opts.password)).toEqual(['late']));
    expect(h.speaker.status().peers.find((p) => p.peerAddress === '192.0.2.1')?.info).toBe('Idle');
    await h.speaker.close();
  });

  it('a changed password resets that session only; an unreadable one keeps the running session on the last password', async () => {
    const secrets = new FakeSecrets();
    secrets.values.set('bgp/tor', 'one');
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const h = harness({ secrets, tcpMd5: new FakeMd5(), logger });
    await h.speaker.update(config([peer('10.0.0.1'), tor()]));
    const [mesh, first] = h.sessions as [FakeSession, FakeSession];
    first.establish('192.0.2.1');
    secrets.values.set('bgp/tor', 'two');
    h.clock.advance(SECRET_RECHECK_MS);
    await vi.waitFor(() => expect(first.closed).toBe(1));
    expect(h.live('192.0.2.1').map((s) => s.opts.password)).toEqual(['two']);
    expect(mesh.closed).toBe(0);
    // The Secret goes away: the session goes on.
    secrets.values.delete('bgp/tor');
    const reads = secrets.reads;
    h.clock.advance(SECRET_RECHECK_MS);
    await vi.waitFor(() => expect(secrets.reads).toBeGreaterThan(reads));
    await h.speaker.update(config([peer('10.0.0.1'), tor()]));
    expect(h.live('192.0.2.1').map((s) => s.opts.password)).toEqual(['two']);
    expect(warnings.join('\n')).toMatch(/192\.0\.2\.1: password unavailable: secret "bgp" key "tor" not found: \/s\/bgp\/tor does not exist; the session goes on with the password read before/);
    // Pointed at another Secret key that cannot be read: no session at all.
    await h.speaker.update(config([peer('10.0.0.1'), tor({ password: { name: 'bgp', key: 'other' } })]));
    expect(h.live('192.0.2.1')).toEqual([]);
    await h.speaker.close();
  });

  it('an optional Secret that is missing means no password; without TCP-MD5 support a password holds the peer', async () => {
    const optional = harness({ secrets: new FakeSecrets(), tcpMd5: new FakeMd5() });
    await optional.speaker.update(config([tor({ password: { name: 'bgp', key: 'tor', optional: true } })]));
    expect(optional.sessions.map((s) => [s.opts.peerAddress, s.opts.password])).toEqual([['192.0.2.1', undefined]]);
    await optional.speaker.close();

    const secrets = new FakeSecrets();
    secrets.values.set('bgp/tor', 'x');
    const noMd5 = harness({ secrets });
    await noMd5.speaker.update(config([tor()]));
    expect(noMd5.sessions).toEqual([]);
    expect(noMd5.speaker.status().peers[0]?.info).toBe('Idle Password unavailable: this speaker runs without TCP-MD5 support');
    await noMd5.speaker.close();
  });

  it('keys the listener for each peer with a password before its session starts, and unkeys it when the peer goes', async () => {
    const secrets = new FakeSecrets();
    secrets.values.set('bgp/tor', 'k1');
    const md5 = new FakeMd5();
    const speaker = new BgpSpeaker({ clock: new FakeClock(0), listenHost: '127.0.0.1', logger: createLogger({ level: 'silent' }), secrets, tcpMd5: md5, sessionFactory: (o) => new FakeSession(o) });
    try {
      await speaker.update(config([peer('10.0.0.1'), tor()], { listenPort: 0 }));
      expect(md5.keys.map(([, p, k]) => [p, k])).toEqual([['192.0.2.1', 'k1']]);
      expect(md5.keys[0]?.[0]).toBeGreaterThan(2);
      await speaker.update(config([peer('10.0.0.1')], { listenPort: 0 }));
      expect(md5.keys.map(([, p, k]) => [p, k])).toEqual([['192.0.2.1', 'k1'], ['192.0.2.1', undefined]]);
    } finally {
      await speaker.close();
    }
  });
});
