/**
 * The BGP FSM as a pure function (RFC 4271 §8.2.2): step(state, event, ctx) returns the
 * next state, the actions the session must carry out in order, and a typed reason. One
 * function per state, in the manner of GoBGP's fsm.go. Timers and sockets live in the
 * session; this file only says when to start or stop them.
 *
 * Deviations from the RFC text, on purpose:
 * - A failed outbound connection in Connect/Active waits in Active for ConnectRetryTimer
 *   (the RFC drops to Idle); this keeps listening for the peer while retrying.
 * - Every error path that lands in Idle while enabled schedules an automatic restart on
 *   the idle-hold timer with exponential backoff and jitter (RFC 4271 §8.1.1 damping).
 */
import { buildOpen, checkOpenForSession, ErrorCode, type BgpMessage, type BgpWireError } from '../wire/index.js';
import { DEFAULT_IDLE_HOLD, restartDelayMs } from './backoff.js';
import { negotiateSession } from './negotiate.js';
import type { FsmAction, FsmContext, FsmEvent, FsmState, StepResult, TimerName, TransitionReason } from './types.js';

/** RFC 6608 FSM error subcodes: unexpected message in OpenSent / OpenConfirm / Established. */
const FsmSubcode = { OpenSent: 1, OpenConfirm: 2, Established: 3 } as const;
/** RFC 4486 Cease subcodes. */
export const CeaseSubcode = { AdministrativeShutdown: 2, ConnectionRejected: 5, ConnectionCollisionResolution: 7 } as const;

const ALL_TIMERS: TimerName[] = ['connect-retry', 'hold', 'keepalive', 'idle-hold'];

/**
 * ConnectRetryTimer with jitter (RFC 4271 §10: 75% to 100% of the configured value), so
 * two speakers that failed together do not retry in lockstep and collide again.
 */
function connectRetryTimer(ctx: FsmContext): FsmAction {
  const r = Math.min(Math.max(ctx.random(), 0), 1);
  return { type: 'start-timer', timer: 'connect-retry', ms: Math.round(ctx.config.connectRetryTime * 1000 * (0.75 + 0.25 * r)) };
}
const DEFAULT_OPEN_HOLD = 240;

const notif = (code: number, subcode: number, data: Buffer = Buffer.alloc(0)): BgpMessage => ({ type: 'notification', code, subcode, data });
const stay = (state: FsmState, detail: string): StepResult => ({ next: state, actions: [], reason: { code: 'ignored', detail } });

export function step(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  switch (state.name) {
    case 'Idle':
      return idle(state, event, ctx);
    case 'Connect':
      return connect(state, event, ctx);
    case 'Active':
      return active(state, event, ctx);
    case 'OpenSent':
      return openSent(state, event, ctx);
    case 'OpenConfirm':
      return openConfirm(state, event, ctx);
    case 'Established':
      return established(state, event, ctx);
  }
}

/** Leaves for Idle. `failure` counts towards the backoff and schedules the automatic restart. */
function toIdle(state: FsmState, ctx: FsmContext, opts: {
  reason: TransitionReason;
  send?: BgpMessage;
  failure: boolean;
  disable?: boolean;
}): StepResult {
  const actions: FsmAction[] = [];
  if (opts.send) actions.push({ type: 'send', message: opts.send });
  actions.push({ type: 'drop-connection' });
  for (const t of ALL_TIMERS) actions.push({ type: 'stop-timer', timer: t });
  if (state.name === 'Established') {
    // RFC 4724: only a plain TCP failure (no NOTIFICATION, no stop) lets the peer restart gracefully.
    const graceful = state.negotiated?.gracefulRestart !== undefined && opts.reason.code === 'tcp-failed';
    actions.push({ type: 'session-down', reason: opts.reason, graceful });
  }
  const enabled = state.enabled && !opts.disable;
  const counter = opts.disable ? 0 : opts.failure ? state.connectRetryCounter + 1 : state.connectRetryCounter;
  if (enabled) {
    const ms = opts.failure ? restartDelayMs(counter, ctx.config.idleHoldMs ?? DEFAULT_IDLE_HOLD, ctx.random) : 0;
    actions.push({ type: 'start-timer', timer: 'idle-hold', ms });
  }
  const next: FsmState = { name: 'Idle', connectRetryCounter: counter, passive: state.passive, enabled };
  return { next, actions, reason: opts.reason };
}

function withNotification(reason: Omit<TransitionReason, 'notification'>, m: BgpMessage, direction: 'sent' | 'received'): TransitionReason {
  if (m.type !== 'notification') return reason;
  return { ...reason, notification: { direction, code: m.code, subcode: m.subcode } };
}

function errorNotification(e: BgpWireError): BgpMessage {
  return notif(e.bgpCode, e.bgpSubcode, e.data);
}

function manualStop(state: FsmState, ctx: FsmContext): StepResult {
  const sendCease = state.name === 'OpenSent' || state.name === 'OpenConfirm' || state.name === 'Established';
  const cease = notif(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown);
  const reason = sendCease ? withNotification({ code: 'manual-stop' }, cease, 'sent') : { code: 'manual-stop' as const };
  return toIdle(state, ctx, { reason, ...(sendCease ? { send: cease } : {}), failure: false, disable: true });
}

/** The peer's NOTIFICATION ends the connection from any state with one. */
function notificationReceived(state: FsmState, ctx: FsmContext, e: Extract<FsmEvent, { type: 'NotifMsg' }>): StepResult {
  const m = e.notification;
  return toIdle(state, ctx, { reason: withNotification({ code: 'notification-received' }, m, 'received'), failure: true });
}

function wireError(state: FsmState, ctx: FsmContext, code: TransitionReason['code'], err: BgpWireError): StepResult {
  const m = errorNotification(err);
  return toIdle(state, ctx, { reason: withNotification({ code, detail: err.message }, m, 'sent'), send: m, failure: true });
}

function fsmError(state: FsmState, ctx: FsmContext, event: FsmEvent, subcode: number): StepResult {
  const m = notif(ErrorCode.FiniteStateMachine, subcode);
  return toIdle(state, ctx, { reason: withNotification({ code: 'fsm-error', detail: `${event.type} in ${state.name}` }, m, 'sent'), send: m, failure: true });
}

function sendOpen(state: FsmState, ctx: FsmContext, reason: TransitionReason): StepResult {
  const c = ctx.config;
  const open = buildOpen({ asn: c.localAs, holdTime: c.holdTime, bgpId: c.localId, capabilities: c.capabilities });
  return {
    next: { ...state, name: 'OpenSent' },
    actions: [
      { type: 'stop-timer', timer: 'connect-retry' },
      { type: 'send', message: open },
      { type: 'start-timer', timer: 'hold', ms: (c.openHoldTime ?? DEFAULT_OPEN_HOLD) * 1000 },
    ],
    reason,
  };
}

function start(state: FsmState, ctx: FsmContext, passive: boolean, resetCounter: boolean): StepResult {
  const base: FsmState = { ...state, passive, enabled: true, connectRetryCounter: resetCounter ? 0 : state.connectRetryCounter };
  const retry = connectRetryTimer(ctx);
  const idleStop: FsmAction = { type: 'stop-timer', timer: 'idle-hold' };
  if (passive) return { next: { ...base, name: 'Active' }, actions: [idleStop, retry], reason: { code: 'started', detail: 'passive' } };
  return { next: { ...base, name: 'Connect' }, actions: [idleStop, retry, { type: 'connect' }], reason: { code: 'started' } };
}

function idle(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  switch (event.type) {
    case 'ManualStart':
      return start(state, ctx, event.passive ?? false, true);
    case 'AutomaticStart':
      return start(state, ctx, event.passive ?? state.passive, false);
    case 'IdleHoldTimerExpires':
      return state.enabled ? start(state, ctx, state.passive, false) : stay(state, 'stopped');
    case 'TcpConnectionConfirmed':
      // RFC 4271: connections are refused in Idle.
      return { next: state, actions: [{ type: 'drop-connection' }], reason: { code: 'ignored', detail: 'connection refused in Idle' } };
    default:
      return stay(state, `${event.type} in Idle`);
  }
}

/** Connect and Active share most of their rules; they differ in what a retry does. */
function connecting(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  switch (event.type) {
    case 'ManualStop':
      return manualStop(state, ctx);
    case 'ManualStart':
    case 'AutomaticStart':
      return stay(state, 'already started');
    case 'ConnectRetryTimerExpires': {
      const retry = connectRetryTimer(ctx);
      if (state.passive) return { next: state, actions: [retry], reason: { code: 'connect-retry', detail: 'passive: keep waiting' } };
      return {
        next: { ...state, name: 'Connect' },
        actions: [{ type: 'drop-connection' }, retry, { type: 'connect' }],
        reason: { code: 'connect-retry' },
      };
    }
    case 'TcpConnectionAcknowledged':
    case 'TcpConnectionConfirmed':
      return sendOpen(state, ctx, { code: 'tcp-established', detail: event.type === 'TcpConnectionAcknowledged' ? 'outbound' : 'inbound' });
    case 'TcpConnectionFails':
      return {
        next: { ...state, name: 'Active', connectRetryCounter: state.connectRetryCounter + 1 },
        actions: [{ type: 'drop-connection' }],
        reason: { code: 'tcp-failed', ...(event.detail ? { detail: event.detail } : {}) },
      };
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return wireError(state, ctx, event.type === 'BGPHeaderErr' ? 'header-error' : 'open-error', event.error);
    case 'NotifMsg':
      return notificationReceived(state, ctx, event);
    default:
      // A message or timer that cannot happen before the TCP connection is up.
      return toIdle(state, ctx, { reason: { code: 'fsm-error', detail: `${event.type} in ${state.name}` }, failure: true });
  }
}

const connect = connecting;
const active = connecting;

function openSent(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  switch (event.type) {
    case 'ManualStop':
      return manualStop(state, ctx);
    case 'ManualStart':
    case 'AutomaticStart':
    case 'IdleHoldTimerExpires':
    case 'ConnectRetryTimerExpires':
      return stay(state, `${event.type} in OpenSent`);
    case 'HoldTimerExpires':
      return holdExpired(state, ctx);
    case 'TcpConnectionFails':
      // RFC 4271: close, restart the ConnectRetryTimer and listen in Active.
      return {
        next: { ...state, name: 'Active', connectRetryCounter: state.connectRetryCounter + 1 },
        actions: [
          { type: 'drop-connection' },
          { type: 'stop-timer', timer: 'hold' },
          connectRetryTimer(ctx),
        ],
        reason: { code: 'tcp-failed', ...(event.detail ? { detail: event.detail } : {}) },
      };
    case 'BGPOpen': {
      const c = ctx.config;
      const err = checkOpenForSession(event.open, { peerAs: c.peerAs, localAs: c.localAs, localBgpId: c.localId });
      if (err) return wireError(state, ctx, 'open-error', err);
      const negotiated = negotiateSession(c, event.open);
      const actions: FsmAction[] = [{ type: 'send', message: { type: 'keepalive' } }];
      if (negotiated.holdTime > 0) {
        actions.push({ type: 'start-timer', timer: 'keepalive', ms: negotiated.keepaliveTime * 1000 });
        actions.push({ type: 'start-timer', timer: 'hold', ms: negotiated.holdTime * 1000 });
      } else {
        actions.push({ type: 'stop-timer', timer: 'hold' });
      }
      return { next: { ...state, name: 'OpenConfirm', negotiated }, actions, reason: { code: 'open-received', detail: `peer ${negotiated.peerId} AS ${negotiated.peerAs}` } };
    }
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return wireError(state, ctx, event.type === 'BGPHeaderErr' ? 'header-error' : 'open-error', event.error);
    case 'OpenCollisionDump':
      return collisionDump(state, ctx);
    case 'NotifMsg':
      return notificationReceived(state, ctx, event);
    default:
      return fsmError(state, ctx, event, FsmSubcode.OpenSent);
  }
}

function openConfirm(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  switch (event.type) {
    case 'ManualStop':
      return manualStop(state, ctx);
    case 'ManualStart':
    case 'AutomaticStart':
    case 'IdleHoldTimerExpires':
    case 'ConnectRetryTimerExpires':
      return stay(state, `${event.type} in OpenConfirm`);
    case 'HoldTimerExpires':
      return holdExpired(state, ctx);
    case 'KeepaliveTimerExpires':
      return keepaliveDue(state, ctx);
    case 'TcpConnectionFails':
      return toIdle(state, ctx, { reason: { code: 'tcp-failed', ...(event.detail ? { detail: event.detail } : {}) }, failure: true });
    case 'KeepAliveMsg': {
      const n = state.negotiated!;
      const actions: FsmAction[] = [];
      if (n.holdTime > 0) actions.push({ type: 'start-timer', timer: 'hold', ms: n.holdTime * 1000 });
      actions.push({ type: 'established', negotiated: n });
      return { next: { ...state, name: 'Established', connectRetryCounter: 0 }, actions, reason: { code: 'keepalive-received' } };
    }
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return wireError(state, ctx, event.type === 'BGPHeaderErr' ? 'header-error' : 'open-error', event.error);
    case 'OpenCollisionDump':
      return collisionDump(state, ctx);
    case 'NotifMsg':
      return notificationReceived(state, ctx, event);
    default:
      return fsmError(state, ctx, event, FsmSubcode.OpenConfirm);
  }
}

function established(state: FsmState, event: FsmEvent, ctx: FsmContext): StepResult {
  const n = state.negotiated!;
  const holdRestart: FsmAction[] = n.holdTime > 0 ? [{ type: 'start-timer', timer: 'hold', ms: n.holdTime * 1000 }] : [];
  switch (event.type) {
    case 'ManualStop':
      return manualStop(state, ctx);
    case 'ManualStart':
    case 'AutomaticStart':
    case 'IdleHoldTimerExpires':
    case 'ConnectRetryTimerExpires':
      return stay(state, `${event.type} in Established`);
    case 'HoldTimerExpires':
      return holdExpired(state, ctx);
    case 'KeepaliveTimerExpires':
      return keepaliveDue(state, ctx);
    case 'KeepAliveMsg':
      return { next: state, actions: holdRestart, reason: { code: 'keepalive-received' } };
    case 'UpdateMsg':
      return { next: state, actions: [...holdRestart, { type: 'deliver-update', decoded: event.decoded }], reason: { code: 'update-received' } };
    case 'RouteRefreshMsg':
      return {
        next: state,
        actions: [...holdRestart, { type: 'deliver-route-refresh', afi: event.afi, safi: event.safi, subtype: event.subtype }],
        reason: { code: 'route-refresh-received' },
      };
    case 'UpdateMsgErr':
      return wireError(state, ctx, 'update-error', event.error);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return wireError(state, ctx, event.type === 'BGPHeaderErr' ? 'header-error' : 'open-error', event.error);
    case 'TcpConnectionFails':
      return toIdle(state, ctx, { reason: { code: 'tcp-failed', ...(event.detail ? { detail: event.detail } : {}) }, failure: true });
    case 'NotifMsg':
      return notificationReceived(state, ctx, event);
    case 'OpenCollisionDump':
      return collisionDump(state, ctx);
    default:
      return fsmError(state, ctx, event, FsmSubcode.Established);
  }
}

function holdExpired(state: FsmState, ctx: FsmContext): StepResult {
  const m = notif(ErrorCode.HoldTimerExpired, 0);
  return toIdle(state, ctx, { reason: withNotification({ code: 'hold-timer-expired' }, m, 'sent'), send: m, failure: true });
}

function keepaliveDue(state: FsmState, _ctx: FsmContext): StepResult {
  const n = state.negotiated!;
  return {
    next: state,
    actions: [{ type: 'send', message: { type: 'keepalive' } }, { type: 'start-timer', timer: 'keepalive', ms: n.keepaliveTime * 1000 }],
    reason: { code: 'keepalive-sent' },
  };
}

function collisionDump(state: FsmState, ctx: FsmContext): StepResult {
  const m = notif(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution);
  // Losing a collision is not a failure of the peer: no backoff, and the surviving
  // connection carries on, so this one does not restart by itself.
  return toIdle(state, ctx, { reason: withNotification({ code: 'collision-lost' }, m, 'sent'), send: m, failure: false, disable: true });
}
