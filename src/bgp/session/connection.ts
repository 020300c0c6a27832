/**
 * One TCP connection attempt to a peer with its own FSM (RFC 4271 keeps one FSM per
 * connection; two exist only while a collision is being resolved). It turns socket bytes
 * into FSM events and carries out the FSM's actions on the socket and the clock.
 */
import {
  BgpWireError, ErrorCode, MessageReader, decodeMessage, encodeMessage,
  type BgpMessage, type CodecContext, type DecodedMessage, type OpenMessage,
} from '../wire/index.js';
import { step } from '../fsm/step.js';
import type { Clock } from '../fsm/clock.js';
import type { FsmAction, FsmContext, FsmEvent, FsmState, NegotiatedSession, TimerName, TransitionReason } from '../fsm/types.js';
import type { ConnectOptions, Connector, SessionSocket } from './socket.js';

export interface ConnectionHooks {
  /** Before an OPEN reaches the FSM: return false when collision resolution dumped this connection. */
  onOpen(c: Connection, open: OpenMessage): boolean;
  onTransition(c: Connection, from: FsmState, to: FsmState, reason: TransitionReason, event: FsmEvent): void;
  onAction(c: Connection, a: Extract<FsmAction, { type: 'established' | 'deliver-update' | 'deliver-route-refresh' | 'session-down' }>): void;
  onSent?(c: Connection, m: BgpMessage): void;
}

const TIMER_EVENTS: Record<TimerName, FsmEvent> = {
  'connect-retry': { type: 'ConnectRetryTimerExpires' },
  hold: { type: 'HoldTimerExpires' },
  keepalive: { type: 'KeepaliveTimerExpires' },
  'idle-hold': { type: 'IdleHoldTimerExpires' },
};

/** Frame bytes delivered per turn of the event loop (see #drain): a few full UPDATEs. */
const TURN_BYTES = 16 * 1024;

/** How long a closing socket may take to flush a final NOTIFICATION before it is destroyed. */
const LINGER_MS = 2_000;

export class Connection {
  state: FsmState;
  direction: 'inbound' | 'outbound' | undefined;
  socket: SessionSocket | undefined;
  #reader = new MessageReader();
  #timers = new Map<TimerName, () => void>();
  #codec: CodecContext = { fourOctetAs: false };
  #disposed = false;

  constructor(
    state: FsmState,
    private readonly ctx: FsmContext,
    private readonly clock: Clock,
    private readonly connector: Connector,
    private readonly target: ConnectOptions,
    private readonly hooks: ConnectionHooks,
  ) {
    this.state = state;
  }

  get negotiated(): NegotiatedSession | undefined {
    return this.state.negotiated;
  }

  /** Adopts a socket the peer opened to us and tells the FSM. */
  acceptSocket(socket: SessionSocket): void {
    this.#dropSocket();
    this.#attach(socket, 'inbound');
    this.dispatch({ type: 'TcpConnectionConfirmed' });
  }

  dispatch(event: FsmEvent): void {
    if (this.#disposed) return;
    const from = this.state;
    const r = step(from, event, this.ctx);
    this.state = r.next;
    if (r.next.negotiated && r.next.negotiated !== from.negotiated) {
      this.#codec = { fourOctetAs: r.next.negotiated.fourOctetAs, ebgp: r.next.negotiated.ebgp };
    }
    if (from.name !== r.next.name) this.hooks.onTransition(this, from, r.next, r.reason, event);
    for (const a of r.actions) this.#run(a);
  }

  /**
   * Sends a message on an established connection (UPDATEs, ROUTE-REFRESH). UPDATEs must
   * already be in this session's AS form (packUpdates does that via wireAttributes).
   */
  send(m: BgpMessage): void {
    if (!this.socket) return;
    this.socket.write(encodeMessage(m, this.#codec));
    this.hooks.onSent?.(this, m);
    // Anything we send counts as a keepalive (RFC 4271 §4.4).
    if (this.state.name === 'Established' && this.state.negotiated && this.state.negotiated.holdTime > 0) {
      this.#startTimer('keepalive', this.state.negotiated.keepaliveTime * 1000);
    }
  }

  /** Stops everything without telling the FSM (the connection is being discarded). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    this.#dropSocket();
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #run(a: FsmAction): void {
    switch (a.type) {
      case 'connect': {
        this.#dropSocket();
        const s = this.connector(this.target);
        this.#attach(s, 'outbound');
        s.on('connect', () => {
          if (this.socket === s) this.dispatch({ type: 'TcpConnectionAcknowledged' });
        });
        return;
      }
      case 'send':
        if (!this.socket) return;
        this.socket.write(encodeMessage(a.message, this.#codec));
        this.hooks.onSent?.(this, a.message);
        return;
      case 'drop-connection':
        this.#dropSocket();
        return;
      case 'start-timer':
        this.#startTimer(a.timer, a.ms);
        return;
      case 'stop-timer':
        this.#timers.get(a.timer)?.();
        this.#timers.delete(a.timer);
        return;
      default:
        this.hooks.onAction(this, a);
    }
  }

  #startTimer(timer: TimerName, ms: number): void {
    this.#timers.get(timer)?.();
    this.#timers.set(timer, this.clock.setTimer(ms, () => {
      this.#timers.delete(timer);
      this.dispatch(TIMER_EVENTS[timer]);
    }));
  }

  #attach(socket: SessionSocket, direction: 'inbound' | 'outbound'): void {
    this.socket = socket;
    this.direction = direction;
    this.#reader = new MessageReader();
    this.#codec = { fourOctetAs: false };
    let failed = false;
    const fail = (detail: string): void => {
      if (failed || this.socket !== socket) return;
      failed = true;
      this.dispatch({ type: 'TcpConnectionFails', detail });
    };
    socket.on('data', (chunk) => {
      if (this.socket === socket) this.#onData(chunk, socket);
    });
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => fail('connection closed'));
  }

  #dropSocket(): void {
    const s = this.socket;
    if (!s) return;
    this.socket = undefined;
    s.removeAllListeners();
    s.on('error', () => {}); // late errors of a socket we gave up on are expected
    s.end();
    this.clock.setTimer(LINGER_MS, () => s.destroy());
  }

  #onData(chunk: Buffer, socket: SessionSocket): void {
    const { frames, error } = this.#reader.push(chunk);
    if (frames.length === 0 && !error) return;
    if (socket.pause && socket.resume) socket.pause();
    this.#drain(socket, frames, 0, error);
  }

  /**
   * Delivers frames[from..] up to a budget of bytes per turn of the event loop, then yields
   * and goes on in the next turn; the socket stays paused until the chunk is done. A read
   * brings up to 64 KiB (14,000 prefixes of a full table), and the agent programs what
   * arrived only when the loop gets round to it: small turns let the first routes reach the
   * kernel after a few UPDATEs instead of a whole chunk, and keep the kernel's work (on a
   * worker thread) overlapping with decoding the rest. A header error ends the chunk. A
   * socket that cannot pause (a test's fake) gets its whole chunk at once.
   */
  #drain(socket: SessionSocket, frames: readonly Buffer[], from: number, error: BgpWireError | undefined): void {
    const pausable = socket.pause !== undefined && socket.resume !== undefined;
    const budget = pausable ? TURN_BYTES : Infinity;
    let i = from;
    let bytes = 0;
    for (; i < frames.length && bytes < budget; i++) {
      if (this.socket !== socket) return;
      const f = frames[i]!;
      bytes += f.length;
      this.#deliver(decodeMessage(f, this.#codec));
    }
    if (this.socket !== socket) return;
    if (i < frames.length) {
      setImmediate(() => this.#drain(socket, frames, i, error));
      return;
    }
    if (error) {
      this.dispatch({ type: 'BGPHeaderErr', error });
      return;
    }
    if (pausable) {
      setImmediate(() => {
        if (this.socket === socket) socket.resume?.();
      });
    }
  }

  #deliver(d: DecodedMessage | BgpWireError): void {
    if (d instanceof BgpWireError) {
      if (d.bgpCode === ErrorCode.OpenMessage) this.dispatch({ type: 'BGPOpenMsgErr', error: d });
      else if (d.bgpCode === ErrorCode.UpdateMessage) this.dispatch({ type: 'UpdateMsgErr', error: d });
      else this.dispatch({ type: 'BGPHeaderErr', error: d });
      return;
    }
    const m = d.message;
    switch (m.type) {
      case 'open':
        if (this.hooks.onOpen(this, m)) this.dispatch({ type: 'BGPOpen', open: m });
        return;
      case 'update':
        this.dispatch({ type: 'UpdateMsg', decoded: d });
        return;
      case 'keepalive':
        this.dispatch({ type: 'KeepAliveMsg' });
        return;
      case 'notification':
        this.dispatch({ type: 'NotifMsg', notification: m });
        return;
      case 'route-refresh':
        this.dispatch({ type: 'RouteRefreshMsg', afi: m.afi, safi: m.safi, subtype: m.subtype });
        return;
    }
  }
}
