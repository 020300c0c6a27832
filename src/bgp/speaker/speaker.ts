/**
 * BgpSpeaker: one node's BGP. It is told the whole configuration (a SpeakerConfig from
 * bgpConfigFor) whenever it may have changed, and changes only what differs:
 *
 * - identity (router id, AS, cluster id, listen address/port) changed: everything restarts
 *   (the RIB is built around them);
 * - a peer added, removed, or changed in a way its session depends on (AS, port, passive,
 *   hold/restart time, reflector client): only that session is reset;
 * - a peer whose only change is its label (peer type, source): nothing happens on the wire;
 * - exports changed: originate / withdraw just those prefixes;
 * - pools or node addresses changed: learned routes are classified again;
 * - a peer's password (read from its Secret on every pass, and every SECRET_RECHECK_MS
 *   while any peer has one) changed: that session is reset with the new key. A peer whose
 *   password cannot be read gets no session at all (never an unsigned one): its status
 *   says why, and it starts once the Secret is readable.
 *
 * Inside, it is the glue docs/design/bgp.md describes: session events -> Rib.apply ->
 * RibChanges.out -> session.sendRoutes, and RibChanges.best -> route messages (onRoutes).
 * Clock, sockets and sessions are injected so units run without the network.
 */
import { BgpListener } from '../session/listener.js';
import { BgpSession, type BgpSessionEvents, type BgpSessionOptions } from '../session/session.js';
import { tcpConnector, type Connector } from '../session/socket.js';
import { md5Connector, type TcpMd5 } from '../session/tcp-md5.js';
import { Rib } from '../rib/rib.js';
import { prefixAfi, prefixKey } from '../rib/prefix-key.js';
import type { Path, RibChanges, RibEvent } from '../rib/types.js';
import { systemClock, type Clock } from '../fsm/clock.js';
import { AFI_IPV4, type Capability, type Prefix } from '../wire/index.js';
import { createLogger, type Logger } from '../../log/logger.js';
import type { LogSeverity, PeerConfig, RoutingContext, SpeakerConfig } from './config.js';
import { PeerStatusTracker, type PeerStatus } from './peer-status.js';
import { RouteClassifier, type BgpRouteMessage, type BgpRouteUpdate } from './route-classifier.js';
import { NO_PASSWORD, PeerPasswords, listenerKeys, passwordDigest, type PasswordState, type RunningPassword } from './peer-passwords.js';
import type { SecretStore } from './secrets.js';

/** What the speaker needs of a session (BgpSession, or a fake in unit tests). */
export interface SpeakerSession {
  readonly state: BgpSession['state'];
  on<K extends keyof BgpSessionEvents>(event: K, fn: (...args: BgpSessionEvents[K]) => void): unknown;
  removeAllListeners(): unknown;
  start(): void;
  close(): void;
  sendRoutes: BgpSession['sendRoutes'];
  acceptConnection: BgpSession['acceptConnection'];
}

export interface BgpSpeakerOptions {
  /** Protocol timers (sessions, graceful-restart stale timers). */
  clock?: Clock;
  /** Wall clock (epoch ms) for the status `since` column. */
  now?: () => number;
  random?: () => number;
  /** Outbound TCP (default: plain TCP, and TCP-MD5 through `tcpMd5` when given). */
  connector?: Connector;
  /** The kernel's TCP-MD5 (BGP passwords); without it, peers with a password are not started. */
  tcpMd5?: TcpMd5;
  /** Where passwords are read (BGPPeer `password`, BGPConfiguration `nodeMeshPassword`). */
  secrets?: SecretStore;
  logger?: Logger;
  /** Learned routes for the dataplane, in the order they changed. */
  onRoutes?: (msgs: BgpRouteMessage[]) => void;
  /** Listen here instead of what bindMode says (0.0.0.0, or the node address for NodeIP). */
  listenHost?: string;
  /** false: no listener at all (unit tests, or outbound-only use). Default true. */
  listen?: boolean;
  /** Seconds between outbound connection attempts (default 5). */
  connectRetrySeconds?: number;
  idleHoldMs?: { initial: number; max: number };
  sessionFactory?: (opts: BgpSessionOptions) => SpeakerSession;
  /** Configurations wait for this (the agent's warm-up): no session starts before it settles. */
  startAfter?: Promise<unknown>;
}

export interface BgpStatus {
  nodeName: string;
  enabled: boolean;
  /** Why not enabled. */
  reason?: string;
  routerId?: string;
  asNumber?: number;
  listenPort?: number;
  clusterId?: string;
  meshEnabled?: boolean;
  /** Set when the listener could not be opened (peers can then only be reached outbound). */
  listenError?: string;
  /** Sorted by address. */
  peers: PeerStatus[];
  /** Always empty for now: the speaker is IPv4 only. */
  ipv6Peers: PeerStatus[];
  /** Prefixes we originate, and how many learned routes are in use. */
  exported: number;
  imported: number;
}

interface PeerEntry {
  cfg: PeerConfig;
  key: string;
  session: SpeakerSession;
  tracker: PeerStatusTracker;
  /** In the RIB (peer-up applied, no peer-down since). */
  up: boolean;
  /** From the OPENs: whether AS4_PATH must be merged (2-octet peers). */
  fourOctetAs: boolean;
  /** The password the session signs with, and the Secret key it came from. */
  password?: RunningPassword;
}

/** How often a listener that could not bind tries again. */
const LISTEN_RETRY_MS = 10_000;

/** How often passwords are read again (a rotated Secret takes effect within this). */
export const SECRET_RECHECK_MS = 10_000;

/** A configured peer that gets no session (its password cannot be read), listed in the status. */
interface HeldPeer {
  cfg: PeerConfig;
  reason: string;
  tracker: PeerStatusTracker;
}

const LEVELS: Record<LogSeverity, string> = { Debug: 'debug', Info: 'info', Warning: 'warn', Error: 'error', Fatal: 'fatal' };

export class BgpSpeaker {
  readonly #opts: BgpSpeakerOptions;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #peers = new Map<string, PeerEntry>();
  readonly #held = new Map<string, HeldPeer>();
  readonly #passwords: PeerPasswords;
  readonly #exports = new Set<string>();
  /**
   * How many learned routes the dataplane holds. Which ones is not kept here: it is the
   * Loc-RIB's IPv4 best paths learned from a peer (see learnedNextHop), each sent as
   * classify(dst, next hop); a full table would otherwise be held twice.
   */
  #imported = 0;
  readonly #staleTimers = new Map<string, () => void>();
  /** Warnings already logged (configuration notes, unreadable passwords): each once. */
  readonly #warned = new Set<string>();
  #config: SpeakerConfig | undefined;
  #identity: string | undefined;
  #routing = '';
  #classifier: RouteClassifier = new RouteClassifier({ pools: [], nodesByAddress: {}, subnetsByAddress: {} });
  #rib: Rib | undefined;
  #listener: BgpListener | undefined;
  #listenError: string | undefined;
  #listenRetry: (() => void) | undefined;
  /** Peer address -> password: the TCP-MD5 keys the listener must carry. */
  #listenerKeys = new Map<string, string>();
  #secretRecheck: (() => void) | undefined;
  #queue: Promise<void>;
  /** startAfter has not settled yet. */
  #waiting: boolean;
  #closed = false;

  constructor(opts: BgpSpeakerOptions = {}) {
    this.#opts = opts;
    this.#waiting = opts.startAfter !== undefined;
    const release = (): void => {
      this.#waiting = false;
    };
    this.#queue = opts.startAfter ? opts.startAfter.then(release, release) : Promise.resolve();
    this.#clock = opts.clock ?? systemClock;
    this.#now = opts.now ?? Date.now;
    this.#log = (opts.logger ?? createLogger({ component: 'bgp' })).child({ component: 'bgp' });
    this.#passwords = new PeerPasswords({
      secrets: opts.secrets,
      canSign: opts.tcpMd5 !== undefined,
      warn: (key, message, peer) => this.#warnOnce(key, { op: 'bgp-password', peer }, message),
    });
  }

  /** Applies a configuration; calls are serialised, each resolves once it has been applied. */
  update(next: SpeakerConfig): Promise<void> {
    const run = this.#queue.then(() => (this.#closed ? undefined : this.#reconcile(next)));
    this.#queue = run.catch((err: unknown) => this.#log.error({ op: 'bgp-update', err }, `applying the BGP configuration failed: ${(err as Error).message}`));
    return run;
  }

  status(): BgpStatus {
    const c = this.#config;
    const peers = [...this.#peers.values(), ...this.#held.values()].map((p) => p.tracker.status()).sort((a, b) => (a.peerAddress < b.peerAddress ? -1 : a.peerAddress > b.peerAddress ? 1 : 0));
    const base = { nodeName: c?.nodeName ?? '', peers, ipv6Peers: [], exported: this.#exports.size, imported: this.#imported };
    if (!c && this.#waiting) return { ...base, enabled: false, reason: 'starting: waiting for the agent\'s BGP warm-up (--bgp-warm-up) to finish' };
    if (!c || !c.enabled) return { ...base, enabled: false, reason: c?.disabledReason ?? 'no configuration yet (waiting for the datastore)' };
    return {
      ...base,
      enabled: true,
      routerId: c.routerId,
      asNumber: c.asNumber,
      listenPort: c.listenPort,
      meshEnabled: c.meshEnabled,
      ...(c.clusterId ? { clusterId: c.clusterId } : {}),
      ...(this.#listenError ? { listenError: this.#listenError } : {}),
    };
  }

  /** The learned routes currently handed to the dataplane. */
  routes(): BgpRouteUpdate[] {
    return this.#learned().map(([dst, nextHop]) => this.#classifier.classify(dst, nextHop));
  }

  get importedCount(): number {
    return this.#imported;
  }

  /** [dst, next hop] of every learned route in the dataplane. */
  #learned(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const r of this.#rib?.locRib() ?? []) {
      const nh = learnedNextHop(r.prefix, r.best);
      if (nh) out.push([prefixKey(r.prefix), nh]);
    }
    return out;
  }

  /**
   * Stops every session (Cease to established peers) and closes the listener. Learned routes
   * are NOT withdrawn from the dataplane: like the agent's other state they stay while no
   * agent runs, and the next speaker's routes replace them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#teardown(false);
  }

  async #reconcile(next: SpeakerConfig): Promise<void> {
    for (const note of next.notes) this.#warnOnce(note, { op: 'bgp-config' }, note);
    if (next.logSeverity) this.#log.level = LEVELS[next.logSeverity];
    if (!next.enabled) {
      if (this.#config?.enabled !== false) this.#log.info({ op: 'bgp-config' }, `BGP is off on this node: ${next.disabledReason ?? 'disabled'}`);
      await this.#teardown();
      this.#config = next;
      return;
    }
    const identity = JSON.stringify([next.routerId, next.localAddress, next.asNumber, next.clusterId ?? '', next.listenPort, this.#listenHost(next)]);
    if (identity !== this.#identity) {
      if (this.#identity !== undefined) this.#log.info({ op: 'bgp-config' }, 'router id, AS number, cluster id or listen address changed: restarting every session');
      await this.#teardown();
      this.#rib = new Rib({ localAs: next.asNumber, routerId: next.routerId, ...(next.clusterId ? { clusterId: next.clusterId } : {}) });
      this.#identity = identity;
      await this.#openListener(next);
    }
    this.#config = next;
    this.#setRouting(next.routing);

    const passwords = await this.#passwords.read(next.peers, (id) => this.#peers.get(id)?.password);
    const wanted = new Map(next.peers.map((p) => [p.id, p]));
    for (const [id, entry] of [...this.#peers]) {
      const want = wanted.get(id);
      const pw = passwords.get(id);
      if (!want || !pw || pw.kind === 'unavailable' || sessionKey(want, pw) !== entry.key) {
        this.#removePeer(id, !want ? 'no longer configured' : pw?.kind === 'unavailable' ? 'its password cannot be read' : 'its configuration changed');
      }
    }
    for (const [id, held] of [...this.#held]) {
      const pw = passwords.get(id);
      if (!wanted.has(id) || pw?.kind !== 'unavailable' || pw.reason !== held.reason) this.#held.delete(id);
    }
    // Keys go on the listener before a session exists to accept the peer's connections.
    this.#listenerKeys = listenerKeys(next.peers, passwords);
    for (const f of this.#listener?.setPasswords(this.#listenerKeys) ?? []) {
      this.#log.error({ op: 'bgp-password', peer: f.peer }, `cannot require TCP-MD5 from ${f.peer} on the listener (its connections to us are refused): ${f.error.message}`);
    }
    for (const cfg of next.peers) {
      const pw = passwords.get(cfg.id) ?? NO_PASSWORD;
      if (pw.kind === 'unavailable') {
        this.#holdPeer(cfg, pw.reason, pw.detail);
        continue;
      }
      const entry = this.#peers.get(cfg.id);
      if (!entry) this.#addPeer(cfg, next, pw);
      else if (entry.cfg.peerType !== cfg.peerType || entry.cfg.source !== cfg.source) {
        entry.cfg = cfg;
        entry.tracker.relabel(cfg.peerType, cfg.source);
      }
    }
    this.#scheduleSecretRecheck(next);

    const rib = this.#rib as Rib;
    const exports = new Set(next.exports);
    for (const p of [...this.#exports]) {
      if (exports.has(p)) continue;
      this.#exports.delete(p);
      this.#dispatch(rib.withdrawLocal(toPrefix(p)));
    }
    for (const p of next.exports) {
      if (this.#exports.has(p)) continue;
      this.#exports.add(p);
      this.#dispatch(rib.originate(toPrefix(p), { origin: 'igp' }));
    }
  }

  #listenHost(c: SpeakerConfig): string {
    return this.#opts.listenHost ?? (c.bindMode === 'NodeIP' ? c.localAddress : '0.0.0.0');
  }

  async #openListener(c: SpeakerConfig): Promise<void> {
    if (this.#opts.listen === false) return;
    const host = this.#listenHost(c);
    const l = new BgpListener({ host, port: c.listenPort, sessionFor: (a) => this.#sessionFor(a), ...(this.#opts.tcpMd5 ? { md5: this.#opts.tcpMd5 } : {}) });
    l.setPasswords(this.#listenerKeys);
    l.on('rejected', (r) => this.#log.info({ op: 'bgp-accept', peer: r.remoteAddress }, `refused a BGP connection from ${r.remoteAddress}: ${r.reason}`));
    l.on('error', (err) => this.#log.warn({ op: 'bgp-listen', err }, `BGP listener error: ${err.message}`));
    try {
      await l.listen();
      this.#listener = l;
      if (this.#listenError) this.#log.info({ op: 'bgp-listen' }, 'the BGP listener could be opened after all');
      this.#listenError = undefined;
      this.#log.info({ op: 'bgp-listen', address: `${host}:${c.listenPort}` }, `listening for BGP on ${host}:${c.listenPort}`);
    } catch (err) {
      const first = this.#listenError === undefined;
      this.#listenError = `cannot listen on ${host}:${c.listenPort}: ${(err as Error).message}`;
      if (first) this.#log.error({ op: 'bgp-listen' }, `${this.#listenError}; peers can only be reached by connecting out until it can (is another BGP daemon running on this port?); retrying every ${LISTEN_RETRY_MS / 1000} s`);
      // Retry on the protocol clock, through the update queue so it never races a reconcile.
      const identity = this.#identity;
      this.#listenRetry = this.#clock.setTimer(LISTEN_RETRY_MS, () => {
        this.#listenRetry = undefined;
        this.#queue = this.#queue.then(async () => {
          if (!this.#closed && !this.#listener && this.#identity === identity && this.#config?.enabled) await this.#openListener(c);
        });
      });
    }
  }

  #sessionFor(address: string): BgpSession | undefined {
    for (const p of this.#peers.values()) if (p.cfg.address === address) return p.session as BgpSession;
    return undefined;
  }

  #addPeer(cfg: PeerConfig, c: SpeakerConfig, pw: PasswordState): void {
    const capabilities: Capability[] = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'graceful-restart', restarting: false, notification: false, restartTime: cfg.restartTime, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] },
    ];
    const o = this.#opts;
    const sessionOpts: BgpSessionOptions = {
      peerAddress: cfg.address,
      peerPort: cfg.port,
      localAddress: c.localAddress,
      passive: cfg.passive,
      fsm: {
        localAs: c.asNumber,
        localId: c.routerId,
        peerAs: cfg.asNumber,
        holdTime: cfg.holdTime,
        connectRetryTime: o.connectRetrySeconds ?? 5,
        capabilities,
        ...(o.idleHoldMs ? { idleHoldMs: o.idleHoldMs } : {}),
      },
      clock: this.#clock,
      ...(o.random ? { random: o.random } : {}),
      connector: o.connector ?? (o.tcpMd5 ? md5Connector(o.tcpMd5) : tcpConnector),
      ...(pw.kind === 'value' ? { password: pw.value } : {}),
    };
    const factory: (x: BgpSessionOptions) => SpeakerSession = o.sessionFactory ?? ((x) => new BgpSession(x));
    const session = factory(sessionOpts);
    const tracker = new PeerStatusTracker(this.#now, { peerAddress: cfg.id, peerType: cfg.peerType, asNumber: cfg.asNumber, source: cfg.source });
    const entry: PeerEntry = { cfg, key: sessionKey(cfg, pw), session, tracker, up: false, fourOctetAs: true };
    if (pw.kind === 'value' && cfg.password) entry.password = { value: pw.value, ref: cfg.password };
    this.#peers.set(cfg.id, entry);
    const live = (): boolean => this.#peers.get(cfg.id) === entry;
    const log = this.#log.child({ peer: cfg.id });

    session.on('state', (ch) => {
      if (!live()) return;
      tracker.onState(ch.to, ch.reason);
      if (ch.from !== ch.to) log.info({ op: 'bgp-state', from: ch.from, to: ch.to, reason: ch.reason.code }, `${cfg.id}: ${ch.from} -> ${ch.to} (${ch.reason.code}${ch.reason.detail ? `: ${ch.reason.detail}` : ''})`);
    });
    session.on('established', (e) => {
      if (!live()) return;
      entry.up = true;
      const n = e.negotiated;
      entry.fourOctetAs = n.fourOctetAs;
      this.#apply({
        type: 'peer-up',
        peer: {
          id: cfg.id,
          address: cfg.address,
          asn: n.peerAs,
          routerId: n.peerId,
          localAddress: c.localAddress,
          families: n.families,
          ...(cfg.routeReflectorClient ? { routeReflectorClient: true } : {}),
          ...(n.gracefulRestart ? { gracefulRestart: { restartTime: n.gracefulRestart.restartTime, families: n.gracefulRestart.families } } : {}),
        },
      });
    });
    session.on('update', (u) => {
      if (!live() || !entry.up) return;
      this.#apply({ type: 'update', peerId: cfg.id, update: u.message, withdrawnDueToError: u.withdrawnDueToError, fourOctetAs: entry.fourOctetAs });
    });
    session.on('route-refresh', (r) => {
      if (live() && entry.up && r.subtype === 0) this.#apply({ type: 'route-refresh', peerId: cfg.id, afi: r.afi, safi: r.safi });
    });
    session.on('down', (d) => {
      if (!live() || !entry.up) return;
      entry.up = false;
      log.info({ op: 'bgp-down', graceful: d.graceful }, `${cfg.id}: session down (${d.reason.code})${d.graceful ? ', keeping its routes while it restarts' : ''}`);
      this.#apply({ type: 'peer-down', peerId: cfg.id, graceful: d.graceful });
    });
    const signed = pw.kind === 'value';
    log.info({ op: 'bgp-peer', peerType: cfg.peerType, asNumber: cfg.asNumber, passive: cfg.passive, rrClient: cfg.routeReflectorClient, tcpMd5: signed }, `peering with ${cfg.id} AS ${cfg.asNumber} (${cfg.peerType}${cfg.routeReflectorClient ? ', route reflector client' : ''}${signed ? ', TCP-MD5' : ''})`);
    session.start();
  }

  /** Lists a peer that gets no session until its password can be read; says why once. */
  #holdPeer(cfg: PeerConfig, reason: string, detail: string): void {
    const held = this.#held.get(cfg.id);
    if (held) {
      held.cfg = cfg;
      held.tracker.relabel(cfg.peerType, cfg.source);
      return;
    }
    const tracker = new PeerStatusTracker(this.#now, { peerAddress: cfg.id, peerType: cfg.peerType, asNumber: cfg.asNumber, source: cfg.source });
    tracker.hold(reason);
    this.#held.set(cfg.id, { cfg, reason, tracker });
    this.#log.warn({ op: 'bgp-password', peer: cfg.id }, `not peering with ${cfg.id} until its password can be read: ${detail}`);
  }

  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#log.warn(fields, message);
  }

  /** While a peer has a password, reads the Secrets again every so often (through the update queue, with the newest configuration). */
  #scheduleSecretRecheck(c: SpeakerConfig): void {
    this.#secretRecheck?.();
    this.#secretRecheck = undefined;
    if (this.#closed || !c.peers.some((p) => p.password)) return;
    this.#secretRecheck = this.#clock.setTimer(SECRET_RECHECK_MS, () => {
      this.#secretRecheck = undefined;
      const run = this.#queue.then(() => (this.#closed || !this.#config ? undefined : this.#reconcile(this.#config)));
      this.#queue = run.catch((err: unknown) => this.#log.error({ op: 'bgp-update', err }, `re-reading BGP passwords failed: ${(err as Error).message}`));
    });
  }

  #removePeer(id: string, why: string): void {
    this.#held.delete(id);
    const entry = this.#peers.get(id);
    if (!entry) return;
    this.#peers.delete(id);
    this.#log.info({ op: 'bgp-peer', peer: id }, `stopping the session with ${id}: ${why}`);
    entry.session.removeAllListeners();
    entry.session.close();
    this.#staleTimers.get(id)?.();
    this.#staleTimers.delete(id);
    if (entry.up && this.#rib) this.#apply({ type: 'peer-down', peerId: id, graceful: false });
  }

  /** Everything down; `withdrawRoutes` tells the dataplane the learned routes are gone (not on shutdown). */
  async #teardown(withdrawRoutes = true): Promise<void> {
    // Without a RIB, stopping the sessions below changes no routes (and emits none).
    if (!withdrawRoutes) this.#rib = undefined;
    for (const id of [...this.#peers.keys()]) this.#removePeer(id, 'BGP restarts or stops');
    this.#held.clear();
    this.#secretRecheck?.();
    this.#secretRecheck = undefined;
    for (const cancel of this.#staleTimers.values()) cancel();
    this.#staleTimers.clear();
    this.#listenRetry?.();
    this.#listenRetry = undefined;
    this.#listenError = undefined;
    const l = this.#listener;
    this.#listener = undefined;
    await l?.close();
    // Normally nothing is left once every peer is down; whatever is goes with the RIB.
    const removed: BgpRouteMessage[] = this.#learned().map(([dst]) => ({ type: 'RouteRemove', dst }));
    this.#rib = undefined;
    this.#identity = undefined;
    this.#exports.clear();
    this.#imported = 0;
    if (withdrawRoutes && removed.length > 0) this.#opts.onRoutes?.(removed);
  }

  #setRouting(r: RoutingContext): void {
    const key = JSON.stringify(r);
    if (key === this.#routing) return;
    this.#routing = key;
    const before = this.#classifier;
    this.#classifier = new RouteClassifier(r);
    const changed: BgpRouteMessage[] = [];
    for (const [dst, nextHop] of this.#learned()) {
      const m = this.#classifier.classify(dst, nextHop);
      if (!sameRoute(m, before.classify(dst, nextHop))) changed.push(m);
    }
    if (changed.length > 0) this.#opts.onRoutes?.(changed);
  }

  #apply(e: RibEvent): void {
    if (this.#rib) this.#dispatch(this.#rib.apply(e));
  }

  #dispatch(ch: RibChanges): void {
    for (const d of ch.out) this.#peers.get(d.peerId)?.session.sendRoutes(d);
    for (const s of ch.swept) this.#log.info({ op: 'bgp-gr', peer: s.peerId }, `swept ${s.count} stale routes of ${s.peerId}`);
    if (ch.staleTimer) {
      const { peerId, restartTime } = ch.staleTimer;
      this.#staleTimers.get(peerId)?.();
      const cancel = this.#clock.setTimer(restartTime * 1000, () => {
        this.#staleTimers.delete(peerId);
        this.#apply({ type: 'stale-timer-expired', peerId });
      });
      this.#staleTimers.set(peerId, cancel);
    }
    if (ch.best.length === 0) return;
    const msgs: BgpRouteMessage[] = [];
    for (let i = 0; i < ch.best.length; i++) {
      const c = ch.best[i]!;
      const nh = learnedNextHop(c.prefix, c.best);
      const was = learnedNextHop(c.prefix, ch.replaced[i] ?? null);
      // Same next hop, same classifier: the same message as last time.
      if (nh === was) continue;
      if (nh) {
        if (!was) this.#imported++;
        msgs.push(this.#classifier.classify(prefixKey(c.prefix), nh, c.prefix));
      } else {
        this.#imported--;
        msgs.push({ type: 'RouteRemove', dst: prefixKey(c.prefix) });
      }
    }
    if (msgs.length > 0) this.#opts.onRoutes?.(msgs);
  }
}

/** What a session is built from; a change resets it. */
function sessionKey(p: PeerConfig, pw: PasswordState): string {
  return JSON.stringify([p.address, p.port, p.asNumber, p.passive, p.holdTime, p.restartTime, p.routeReflectorClient, passwordDigest(pw)]);
}

/** The next hop the dataplane gets for a best path: learned IPv4 paths only (like the dataplane), never our own. */
function learnedNextHop(prefix: Prefix, best: Omit<Path, 'prefix'> | null): string | undefined {
  if (!best || best.source.kind !== 'peer' || prefixAfi(prefix) !== AFI_IPV4) return undefined;
  return best.attributes.nextHop;
}

function sameRoute(a: BgpRouteUpdate, b: BgpRouteUpdate): boolean {
  return a.routeType === b.routeType && a.nextHop === b.nextHop && a.encap === b.encap && a.dstNode === b.dstNode && a.sameSubnet === b.sameSubnet;
}

function toPrefix(cidr: string): Prefix {
  const [prefix, len] = cidr.split('/');
  return { prefix: prefix as string, length: Number(len) };
}
