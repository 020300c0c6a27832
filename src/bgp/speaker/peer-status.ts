/**
 * The status of one peer as `tabby node status` shows it, in calicoctl's words: STATE is
 * `up` once Established, `start` while trying (a peer no longer configured is not listed); INFO is the FSM state,
 * followed by the last error while not Established ("Active Connect: connection refused",
 * "Idle Hold timer expired", "Established").
 */
import { notificationName } from '../wire/index.js';
import type { FsmStateName, TransitionReason } from '../fsm/types.js';
import type { PeerType } from './config.js';

export type PeerState = 'up' | 'start';

export interface PeerStatus {
  peerAddress: string;
  peerType: PeerType;
  state: PeerState;
  /** When `state` last changed (ISO 8601). */
  since: string;
  info: string;
  /** Extra detail for -o json. */
  asNumber: number;
  source: string;
  fsmState: FsmStateName;
  lastError?: string;
}

/** The last error worth showing for a transition, or undefined if it was not one. */
export function errorText(reason: TransitionReason): string | undefined {
  const n = reason.notification;
  const notif = n ? `${n.direction === 'received' ? 'Received' : 'Sent'}: ${notificationName(n.code, n.subcode)}` : undefined;
  switch (reason.code) {
    case 'tcp-failed':
      return socketError(reason.detail);
    case 'hold-timer-expired':
      return 'Hold timer expired';
    case 'notification-received':
    case 'open-error':
    case 'header-error':
    case 'update-error':
    case 'fsm-error':
      return notif ?? (reason.detail ? `Error: ${reason.detail}` : undefined);
    default:
      return undefined;
  }
}

function socketError(detail: string | undefined): string {
  const d = detail ?? '';
  if (/ECONNREFUSED/.test(d)) return 'Connect: connection refused';
  if (/EHOSTUNREACH|ENETUNREACH/.test(d)) return 'Connect: no route to host';
  if (/ETIMEDOUT/.test(d)) return 'Connect: timed out';
  if (/EADDRNOTAVAIL/.test(d)) return 'Connect: source address not available on this host';
  if (/ECONNRESET/.test(d)) return 'Socket: connection reset';
  if (d === 'connection closed') return 'Socket: connection closed';
  return d ? `Socket: ${d}` : 'Socket: error';
}

/** Tracks one session's transitions into a PeerStatus. */
export class PeerStatusTracker {
  #fsm: FsmStateName = 'Idle';
  #state: PeerState = 'start';
  #since: number;
  #lastError: string | undefined;

  constructor(
    private readonly now: () => number,
    private readonly describe: { peerAddress: string; peerType: PeerType; asNumber: number; source: string },
  ) {
    this.#since = now();
  }

  onState(to: FsmStateName, reason: TransitionReason): void {
    this.#fsm = to;
    const err = errorText(reason);
    if (err) this.#lastError = err;
    if (to === 'Established') this.#lastError = undefined;
    this.#set(to === 'Established' ? 'up' : 'start');
  }

  /** No session for now, for this reason (shown after "Idle", as an error is). */
  hold(reason: string): void {
    this.#fsm = 'Idle';
    this.#lastError = reason;
    this.#set('start');
  }

  /** The same session under a new label (peer type changed, nothing else). */
  relabel(peerType: PeerType, source: string): void {
    this.describe.peerType = peerType;
    this.describe.source = source;
  }

  status(): PeerStatus {
    const info = this.#fsm === 'Established' ? 'Established' : this.#lastError ? `${this.#fsm} ${this.#lastError}` : this.#fsm;
    return {
      ...this.describe,
      state: this.#state,
      since: new Date(this.#since).toISOString(),
      info,
      fsmState: this.#fsm,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  #set(s: PeerState): void {
    if (s === this.#state) return;
    this.#state = s;
    this.#since = this.now();
  }
}
