/**
 * BgpSession: one configured peer. It owns the connection(s) to the peer, runs the FSM on
 * each, resolves collisions (RFC 4271 §6.8), and publishes what happens as typed events.
 * It knows nothing of the RIB: the speaker feeds `update` events to the RIB and the RIB's
 * Adj-RIB-Out deltas back through sendRoutes().
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, endOfRib, encodeMessage, type DecodedMessage, type OpenMessage, type Prefix, type UpdateMessage } from '../wire/index.js';
import { collisionWinner } from '../fsm/collision.js';
import { systemClock, type Clock } from '../fsm/clock.js';
import { CeaseSubcode } from '../fsm/step.js';
import { initialFsmState, type FsmConfig, type FsmEvent, type FsmState, type FsmStateName, type NegotiatedSession, type TransitionReason } from '../fsm/types.js';
import type { Family, OutboundRoute } from '../rib/types.js';
import { Connection, type ConnectionHooks } from './connection.js';
import { normalizeAddress, tcpConnector, type ConnectOptions, type Connector, type SessionSocket } from './socket.js';
import { packUpdates } from './update-packer.js';

export interface BgpSessionOptions {
  peerAddress: string;
  /** Port to connect to (default 179). */
  peerPort?: number;
  /** Source address for outbound connections. */
  localAddress?: string;
  fsm: FsmConfig;
  /** Only wait for the peer to connect (passive TCP establishment). */
  passive?: boolean;
  /**
   * TCP-MD5 password for outbound connections (the connector signs them). Inbound ones are
   * keyed by the listener (BgpListener.setPasswords).
   */
  password?: string;
  clock?: Clock;
  random?: () => number;
  connector?: Connector;
}

export interface StateChange {
  from: FsmStateName;
  to: FsmStateName;
  reason: TransitionReason;
  event: FsmEvent['type'];
  direction: 'inbound' | 'outbound' | undefined;
}

export interface EstablishedInfo {
  negotiated: NegotiatedSession;
  localAddress: string;
  remoteAddress: string;
  direction: 'inbound' | 'outbound';
}

export interface DownInfo {
  reason: TransitionReason;
  /** The peer may be restarting gracefully: keep its routes stale (RFC 4724). */
  graceful: boolean;
  negotiated: NegotiatedSession;
}

export interface BgpSessionEvents {
  state: [StateChange];
  established: [EstablishedInfo];
  update: [DecodedMessage & { message: UpdateMessage }];
  'route-refresh': [{ afi: number; safi: number; subtype: number }];
  down: [DownInfo];
  /** A connection was refused or dumped without affecting the session (collision, unknown state). */
  rejected: [{ direction: 'inbound' | 'outbound'; reason: string }];
}

export class BgpSession extends EventEmitter<BgpSessionEvents> {
  readonly peerAddress: string;
  readonly config: FsmConfig;
  readonly #opts: BgpSessionOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #connector: Connector;
  #main: Connection;
  #candidate: Connection | undefined;

  constructor(opts: BgpSessionOptions) {
    super();
    this.peerAddress = opts.peerAddress;
    this.config = opts.fsm;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#connector = opts.connector ?? tcpConnector;
    this.#main = this.#newConnection(initialFsmState());
  }

  get state(): FsmStateName {
    return this.#main.state.name;
  }

  get negotiated(): NegotiatedSession | undefined {
    return this.#main.state.name === 'Established' ? this.#main.negotiated : undefined;
  }

  /** ManualStart (passive when configured so). */
  start(): void {
    this.#main.dispatch({ type: 'ManualStart', passive: this.#opts.passive ?? false });
  }

  /** ManualStop: Cease/Administrative Shutdown to the peer, no automatic restart. */
  stop(): void {
    this.#candidate?.dispatch({ type: 'ManualStop' });
    this.#candidate?.dispose();
    this.#candidate = undefined;
    this.#main.dispatch({ type: 'ManualStop' });
  }

  /** Stops and releases every timer and socket; the session cannot be used afterwards. */
  close(): void {
    this.stop();
    this.#main.dispose();
  }

  /** A connection the listener accepted from this peer's address. */
  acceptConnection(socket: SessionSocket): void {
    const main = this.#main;
    const name = main.state.name;
    if (!main.state.enabled) return this.#refuse(socket, 'session is stopped');
    const outboundPending = name === 'Connect' && main.socket !== undefined;
    if (name === 'OpenSent' || name === 'OpenConfirm' || outboundPending) {
      // A second connection: run it alongside until one of them sees the peer's OPEN. (Our own
      // attempt may still be in progress: dropping it here would let both sides drop theirs.)
      if (this.#candidate) return this.#refuse(socket, 'a second connection is already being resolved');
      this.#candidate = this.#newConnection(this.#fresh(main.state));
      this.#candidate.acceptSocket(socket);
      return;
    }
    if (name === 'Established' && !main.negotiated?.gracefulRestart) {
      return this.#refuse(socket, 'already established', CeaseSubcode.ConnectionCollisionResolution);
    }
    if (name === 'Established') {
      // RFC 4724 §4.2: a restarting peer reconnects before we saw the old connection die.
      main.dispatch({ type: 'TcpConnectionFails', detail: 'peer opened a new connection (graceful restart)' });
    }
    if (name === 'Active' || name === 'Connect') {
      main.acceptSocket(socket);
      return;
    }
    // Idle while enabled (backing off) or just dropped: a fresh FSM takes the connection.
    const next = this.#newConnection(this.#fresh(main.state));
    main.dispose();
    this.#main = next;
    next.acceptSocket(socket);
  }

  /** Sends an Adj-RIB-Out delta: packed UPDATEs, then End-of-RIB markers if asked. */
  sendRoutes(delta: { announce: OutboundRoute[]; withdraw: Prefix[]; endOfRib?: Family[] }): number {
    const n = this.negotiated;
    if (!n) return 0;
    const msgs = packUpdates(delta, { fourOctetAs: n.fourOctetAs, ebgp: n.ebgp });
    for (const f of delta.endOfRib ?? []) msgs.push(endOfRib(f.afi, f.safi));
    for (const m of msgs) this.#main.send(m);
    return msgs.length;
  }

  /** Asks the peer to send its routes again (RFC 2918); false if it did not negotiate route refresh. */
  requestRouteRefresh(afi = 1, safi = 1): boolean {
    const n = this.negotiated;
    if (!n?.routeRefresh) return false;
    this.#main.send({ type: 'route-refresh', afi, safi, subtype: 0 });
    return true;
  }

  /** An FSM state for a connection that starts from an accepted socket. */
  #fresh(prev: FsmState): FsmState {
    return { name: 'Active', connectRetryCounter: prev.connectRetryCounter, passive: this.#opts.passive ?? false, enabled: true };
  }

  #refuse(socket: SessionSocket, reason: string, subcode: number = CeaseSubcode.ConnectionRejected): void {
    socket.on('error', () => {});
    socket.write(encodeMessage({ type: 'notification', code: ErrorCode.Cease, subcode, data: Buffer.alloc(0) }, { fourOctetAs: false }));
    socket.end();
    this.#clock.setTimer(2_000, () => socket.destroy());
    this.emit('rejected', { direction: 'inbound', reason });
  }

  #newConnection(state: FsmState): Connection {
    const hooks: ConnectionHooks = {
      onOpen: (c, open) => this.#resolveCollision(c, open),
      onTransition: (c, from, to, reason, event) => {
        if (c !== this.#main) {
          // The candidate only matters once it wins; if it fails it is simply discarded.
          if (c === this.#candidate && to.name === 'Idle') this.#discardCandidate(c, reason);
          return;
        }
        this.emit('state', { from: from.name, to: to.name, reason, event: event.type, direction: c.direction });
      },
      onAction: (c, a) => {
        if (c !== this.#main) return;
        switch (a.type) {
          case 'established':
            this.emit('established', {
              negotiated: a.negotiated,
              localAddress: normalizeAddress(c.socket?.localAddress),
              remoteAddress: normalizeAddress(c.socket?.remoteAddress),
              direction: c.direction ?? 'outbound',
            });
            return;
          case 'deliver-update':
            this.emit('update', a.decoded as DecodedMessage & { message: UpdateMessage });
            return;
          case 'deliver-route-refresh':
            this.emit('route-refresh', { afi: a.afi, safi: a.safi, subtype: a.subtype });
            return;
          case 'session-down':
            this.emit('down', { reason: a.reason, graceful: a.graceful, negotiated: c.negotiated! });
            return;
        }
      },
    };
    const o = this.#opts;
    const target: ConnectOptions = { host: this.peerAddress, port: o.peerPort ?? 179, ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.password !== undefined ? { password: o.password } : {}) };
    return new Connection(state, { config: this.config, random: this.#random }, this.#clock, this.#connector, target, hooks);
  }

  #discardCandidate(c: Connection, reason: TransitionReason): void {
    if (this.#candidate !== c) return;
    this.#candidate = undefined;
    c.dispose();
    this.emit('rejected', { direction: c.direction ?? 'inbound', reason: reason.detail ?? reason.code });
  }

  /**
   * RFC 4271 §6.8: an OPEN arrived on `c` while the other connection is also past TCP
   * setup. The connection opened by the higher BGP identifier survives; the other gets
   * Cease/Connection Collision Resolution. Returns whether `c` survives.
   */
  #resolveCollision(c: Connection, open: OpenMessage): boolean {
    const other = c === this.#main ? this.#candidate : this.#main;
    if (!other || other.disposed) return true;
    const otherName = other.state.name;
    if (otherName !== 'OpenSent' && otherName !== 'OpenConfirm') {
      // The other connection already failed: this one simply carries on as the session's.
      if (c === this.#candidate) {
        this.#promote(c);
        other.dispose();
      }
      return true;
    }
    const keep = collisionWinner(this.config.localId, open.bgpId);
    const loser = c.direction === keep ? other : c;
    const winner = loser === c ? other : c;
    if (loser === this.#main) this.#promote(winner);
    this.#candidate = undefined;
    // The loser is neither main nor candidate any more, so its transition is not published.
    loser.dispatch({ type: 'OpenCollisionDump' });
    loser.dispose();
    this.emit('rejected', { direction: loser.direction ?? 'inbound', reason: `collision with BGP identifier ${open.bgpId}: kept the ${keep} connection` });
    return loser !== c;
  }

  #promote(c: Connection): void {
    this.#candidate = undefined;
    this.#main = c;
  }
}
