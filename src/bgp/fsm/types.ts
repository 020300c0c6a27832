/**
 * The BGP finite state machine's vocabulary (RFC 4271 §8): states, the events that drive
 * them, the actions a transition asks the session to carry out, and why it happened.
 */
import type { BgpMessage, BgpWireError, Capability, DecodedMessage, GracefulRestartFamily, NotificationMessage, OpenMessage } from '../wire/index.js';

export type FsmStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'connect-retry' | 'hold' | 'keepalive' | 'idle-hold';

/** RFC 4271 §8.1 events (the subset we use, plus ROUTE-REFRESH which RFC 2918 adds). */
export type FsmEvent =
  | { type: 'ManualStart'; passive?: boolean }
  | { type: 'AutomaticStart'; passive?: boolean }
  | { type: 'ManualStop' }
  | { type: 'ConnectRetryTimerExpires' }
  | { type: 'HoldTimerExpires' }
  | { type: 'KeepaliveTimerExpires' }
  /** Our damping timer after an error ran out: restart automatically (RFC 4271 §8.1.1 IdleHoldTimer). */
  | { type: 'IdleHoldTimerExpires' }
  /** The connection we initiated is up (RFC: Tcp_CR_Acked). */
  | { type: 'TcpConnectionAcknowledged' }
  /** A connection the peer initiated was accepted. */
  | { type: 'TcpConnectionConfirmed' }
  | { type: 'TcpConnectionFails'; detail?: string }
  | { type: 'BGPOpen'; open: OpenMessage }
  | { type: 'BGPHeaderErr'; error: BgpWireError }
  | { type: 'BGPOpenMsgErr'; error: BgpWireError }
  | { type: 'NotifMsg'; notification: NotificationMessage }
  | { type: 'KeepAliveMsg' }
  | { type: 'UpdateMsg'; decoded: DecodedMessage }
  | { type: 'UpdateMsgErr'; error: BgpWireError }
  | { type: 'RouteRefreshMsg'; afi: number; safi: number; subtype: number }
  /** RFC 4271 event 23: this connection lost collision resolution (§6.8). */
  | { type: 'OpenCollisionDump' };

/** What a transition asks the session to do, in order. */
export type FsmAction =
  | { type: 'connect' }
  | { type: 'send'; message: BgpMessage }
  | { type: 'drop-connection' }
  | { type: 'start-timer'; timer: TimerName; ms: number }
  | { type: 'stop-timer'; timer: TimerName }
  | { type: 'established'; negotiated: NegotiatedSession }
  | { type: 'deliver-update'; decoded: DecodedMessage }
  | { type: 'deliver-route-refresh'; afi: number; safi: number; subtype: number }
  /** We left Established: release the peer's routes (or keep them stale, see `graceful`). */
  | { type: 'session-down'; reason: TransitionReason; graceful: boolean };

/** Why a transition happened: a stable code, and the NOTIFICATION involved if any. */
export interface TransitionReason {
  code:
    | 'started' | 'manual-stop' | 'connect-retry' | 'tcp-established' | 'tcp-failed'
    | 'open-received' | 'open-error' | 'header-error' | 'update-error' | 'keepalive-received'
    | 'update-received' | 'route-refresh-received' | 'hold-timer-expired' | 'keepalive-sent'
    | 'notification-received' | 'fsm-error' | 'collision-lost' | 'ignored';
  detail?: string;
  /** The NOTIFICATION we sent or received, when the transition involves one. */
  notification?: { direction: 'sent' | 'received'; code: number; subcode: number };
}

export interface StepResult {
  next: FsmState;
  actions: FsmAction[];
  reason: TransitionReason;
}

/** Facts agreed once both OPENs are known (RFC 4271 §4.2, RFC 5492, RFC 6793, RFC 4724). */
export interface NegotiatedSession {
  peerAs: number;
  peerId: string;
  ebgp: boolean;
  /** Seconds; 0 means neither keepalives nor hold timer. */
  holdTime: number;
  keepaliveTime: number;
  fourOctetAs: boolean;
  routeRefresh: boolean;
  /** AFI/SAFI pairs both sides can carry (IPv4 unicast when neither side sends MP capabilities). */
  families: Array<{ afi: number; safi: number }>;
  /** Set when both sides advertised graceful restart: how the peer wants to be helped. */
  gracefulRestart?: { restartTime: number; restarting: boolean; families: GracefulRestartFamily[] };
  peerOpen: OpenMessage;
}

export interface FsmState {
  name: FsmStateName;
  /** RFC 4271 ConnectRetryCounter: consecutive failures, drives the restart backoff. */
  connectRetryCounter: number;
  /** Passive TCP establishment: wait in Active for the peer to connect. */
  passive: boolean;
  /** False after ManualStop: no automatic restart. */
  enabled: boolean;
  negotiated?: NegotiatedSession;
}

export interface FsmConfig {
  localAs: number;
  localId: string;
  peerAs: number;
  /** Proposed hold time in seconds (0, or at least 3). RFC suggests 90. */
  holdTime: number;
  /** Seconds between outbound connection attempts. RFC suggests 120. */
  connectRetryTime: number;
  /** Hold timer while waiting for the peer's OPEN (RFC suggests 4 minutes). */
  openHoldTime?: number;
  /** Capabilities we advertise (four-octet-as is added by buildOpen). */
  capabilities: Capability[];
  /** Automatic restart after an error: first delay and cap, in ms. */
  idleHoldMs?: { initial: number; max: number };
}

export interface FsmContext {
  config: FsmConfig;
  /** Uniform in [0, 1): jitter for restart backoff; inject a fixed one in tests. */
  random: () => number;
}

export const initialFsmState = (): FsmState => ({ name: 'Idle', connectRetryCounter: 0, passive: false, enabled: false });
