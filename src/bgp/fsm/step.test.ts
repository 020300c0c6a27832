import { describe, expect, it } from 'vitest';
import { BgpWireError, buildOpen, type Capability, type DecodedMessage, type OpenMessage } from '../wire/index.js';
import { step } from './step.js';
import { initialFsmState, type FsmAction, type FsmContext, type FsmEvent, type FsmState, type StepResult } from './types.js';

const caps: Capability[] = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' },
  { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] }];
const ctx: FsmContext = {
  config: { localAs: 64512, localId: '10.0.0.1', peerAs: 64513, holdTime: 90, connectRetryTime: 5, capabilities: caps, idleHoldMs: { initial: 1000, max: 8000 } },
  random: () => 0.5,
};
const peerOpen = (o: Partial<{ asn: number; holdTime: number; bgpId: string; capabilities: Capability[] }> = {}): OpenMessage =>
  buildOpen({ asn: o.asn ?? 64513, holdTime: o.holdTime ?? 30, bgpId: o.bgpId ?? '10.0.0.2', capabilities: o.capabilities ?? caps });

/** Runs events from `state`, returning every result. */
function run(state: FsmState, ...events: FsmEvent[]): StepResult[] {
  const out: StepResult[] = [];
  let s = state;
  for (const e of events) {
    const r = step(s, e, ctx);
    out.push(r);
    s = r.next;
  }
  return out;
}
const last = (rs: StepResult[]): StepResult => rs[rs.length - 1]!;
const kinds = (a: FsmAction[]): string[] => a.map((x) => (x.type === 'send' ? `send:${x.message.type}` : x.type === 'start-timer' || x.type === 'stop-timer' ? `${x.type}:${x.timer}` : x.type));
const sent = (a: FsmAction[]): FsmAction[] => a.filter((x) => x.type === 'send');
const notifOf = (a: FsmAction[]): [number, number] | undefined => {
  for (const x of a) if (x.type === 'send' && x.message.type === 'notification') return [x.message.code, x.message.subcode];
  return undefined;
};

const idle = initialFsmState();
const established = (): FsmState => last(run(idle, { type: 'ManualStart' }, { type: 'TcpConnectionAcknowledged' }, { type: 'BGPOpen', open: peerOpen() }, { type: 'KeepAliveMsg' })).next;
const emptyUpdate: DecodedMessage = { message: { type: 'update', withdrawn: [], attributes: {}, nlri: [] }, outcome: 'ok', discarded: [], withdrawnDueToError: [] };

describe('Idle', () => {
  it('ManualStart connects and starts the ConnectRetryTimer', () => {
    const r = step(idle, { type: 'ManualStart' }, ctx);
    expect(r.next.name).toBe('Connect');
    expect(kinds(r.actions)).toEqual(['stop-timer:idle-hold', 'start-timer:connect-retry', 'connect']);
    // 5 s with jitter 75%..100%: random() = 0.5 gives 87.5%.
    expect(r.actions).toContainEqual({ type: 'start-timer', timer: 'connect-retry', ms: 4375 });
  });
  it('passive start waits in Active without connecting', () => {
    const r = step(idle, { type: 'AutomaticStart', passive: true }, ctx);
    expect(r.next.name).toBe('Active');
    expect(kinds(r.actions)).not.toContain('connect');
  });
  it('refuses connections while stopped', () => {
    const r = step(idle, { type: 'TcpConnectionConfirmed' }, ctx);
    expect(r.next.name).toBe('Idle');
    expect(kinds(r.actions)).toEqual(['drop-connection']);
  });
  it('ignores the idle-hold timer once manually stopped', () => {
    expect(step(idle, { type: 'IdleHoldTimerExpires' }, ctx).next.name).toBe('Idle');
  });
});

describe('Connect and Active', () => {
  const connecting = step(idle, { type: 'ManualStart' }, ctx).next;
  it('sends OPEN when the TCP connection comes up', () => {
    const r = step(connecting, { type: 'TcpConnectionAcknowledged' }, ctx);
    expect(r.next.name).toBe('OpenSent');
    expect(kinds(r.actions)).toEqual(['stop-timer:connect-retry', 'send:open', 'start-timer:hold']);
    expect(r.actions[2]).toEqual({ type: 'start-timer', timer: 'hold', ms: 240_000 });
    const open = (r.actions[1] as Extract<FsmAction, { type: 'send' }>).message as OpenMessage;
    expect(open.holdTime).toBe(90);
    expect(open.capabilities.map((c) => c.kind)).toContain('four-octet-as');
  });
  it('a failed connection waits in Active and retries on the timer', () => {
    const [a, b] = run(connecting, { type: 'TcpConnectionFails' }, { type: 'ConnectRetryTimerExpires' });
    expect(a!.next.name).toBe('Active');
    expect(a!.next.connectRetryCounter).toBe(1);
    expect(b!.next.name).toBe('Connect');
    expect(kinds(b!.actions)).toEqual(['drop-connection', 'start-timer:connect-retry', 'connect']);
  });
  it('a passive Active only restarts its timer', () => {
    const passive = step(idle, { type: 'ManualStart', passive: true }, ctx).next;
    const r = step(passive, { type: 'ConnectRetryTimerExpires' }, ctx);
    expect(r.next.name).toBe('Active');
    expect(kinds(r.actions)).toEqual(['start-timer:connect-retry']);
    expect(step(passive, { type: 'TcpConnectionConfirmed' }, ctx).next.name).toBe('OpenSent');
  });
  it('ManualStop returns to Idle without restarting', () => {
    const r = step(connecting, { type: 'ManualStop' }, ctx);
    expect(r.next).toMatchObject({ name: 'Idle', enabled: false, connectRetryCounter: 0 });
    expect(kinds(r.actions)).not.toContain('start-timer:idle-hold');
    expect(notifOf(r.actions)).toBeUndefined();
  });
  it('an unexpected message goes to Idle and schedules a backed-off restart', () => {
    const r = step(connecting, { type: 'KeepAliveMsg' }, ctx);
    expect(r.next.name).toBe('Idle');
    expect(r.reason.code).toBe('fsm-error');
    expect(r.actions).toContainEqual({ type: 'start-timer', timer: 'idle-hold', ms: 1000 });
  });
});

describe('OpenSent', () => {
  const openSent = last(run(idle, { type: 'ManualStart' }, { type: 'TcpConnectionAcknowledged' })).next;
  it('a valid OPEN negotiates and answers with KEEPALIVE', () => {
    const r = step(openSent, { type: 'BGPOpen', open: peerOpen({ holdTime: 30 }) }, ctx);
    expect(r.next.name).toBe('OpenConfirm');
    expect(kinds(r.actions)).toEqual(['send:keepalive', 'start-timer:keepalive', 'start-timer:hold']);
    expect(r.actions).toContainEqual({ type: 'start-timer', timer: 'keepalive', ms: 10_000 });
    expect(r.actions).toContainEqual({ type: 'start-timer', timer: 'hold', ms: 30_000 });
    expect(r.next.negotiated).toMatchObject({ holdTime: 30, keepaliveTime: 10, peerAs: 64513, ebgp: true, fourOctetAs: true, routeRefresh: true });
    expect(r.next.negotiated?.gracefulRestart).toMatchObject({ restartTime: 120 });
  });
  it('hold time 0 on either side disables keepalives and the hold timer', () => {
    const r = step(openSent, { type: 'BGPOpen', open: peerOpen({ holdTime: 0 }) }, ctx);
    expect(kinds(r.actions)).toEqual(['send:keepalive', 'stop-timer:hold']);
    expect(r.next.negotiated).toMatchObject({ holdTime: 0, keepaliveTime: 0 });
  });
  it('a peer in the wrong AS gets Bad Peer AS', () => {
    const r = step(openSent, { type: 'BGPOpen', open: peerOpen({ asn: 65000 }) }, ctx);
    expect(r.next.name).toBe('Idle');
    expect(notifOf(r.actions)).toEqual([2, 2]);
    expect(r.reason).toMatchObject({ code: 'open-error', notification: { direction: 'sent', code: 2, subcode: 2 } });
  });
  it('an OPEN error from the codec is sent back', () => {
    const r = step(openSent, { type: 'BGPOpenMsgErr', error: new BgpWireError(2, 6, 'bad hold') }, ctx);
    expect(notifOf(r.actions)).toEqual([2, 6]);
    expect(r.next.connectRetryCounter).toBe(1);
  });
  it('hold timer expiry sends 4/0', () => {
    const r = step(openSent, { type: 'HoldTimerExpires' }, ctx);
    expect(notifOf(r.actions)).toEqual([4, 0]);
    expect(r.next.name).toBe('Idle');
  });
  it('TCP failure falls back to Active', () => {
    const r = step(openSent, { type: 'TcpConnectionFails' }, ctx);
    expect(r.next.name).toBe('Active');
    expect(kinds(r.actions)).toContain('start-timer:connect-retry');
  });
  it('a KEEPALIVE before OPEN is an FSM error (RFC 6608 subcode 1)', () => {
    expect(notifOf(step(openSent, { type: 'KeepAliveMsg' }, ctx).actions)).toEqual([5, 1]);
  });
  it('losing a collision sends Cease 7 and does not restart', () => {
    const r = step(openSent, { type: 'OpenCollisionDump' }, ctx);
    expect(notifOf(r.actions)).toEqual([6, 7]);
    expect(r.next.enabled).toBe(false);
  });
  it('ManualStop sends Cease administrative shutdown', () => {
    expect(notifOf(step(openSent, { type: 'ManualStop' }, ctx).actions)).toEqual([6, 2]);
  });
});

describe('OpenConfirm', () => {
  const openConfirm = last(run(idle, { type: 'ManualStart' }, { type: 'TcpConnectionAcknowledged' }, { type: 'BGPOpen', open: peerOpen() })).next;
  it('KEEPALIVE establishes the session', () => {
    const r = step(openConfirm, { type: 'KeepAliveMsg' }, ctx);
    expect(r.next.name).toBe('Established');
    expect(kinds(r.actions)).toEqual(['start-timer:hold', 'established']);
  });
  it('sends KEEPALIVE when its timer fires', () => {
    const r = step(openConfirm, { type: 'KeepaliveTimerExpires' }, ctx);
    expect(r.next.name).toBe('OpenConfirm');
    expect(kinds(r.actions)).toEqual(['send:keepalive', 'start-timer:keepalive']);
  });
  it('a NOTIFICATION closes without answering', () => {
    const r = step(openConfirm, { type: 'NotifMsg', notification: { type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) } }, ctx);
    expect(r.next.name).toBe('Idle');
    expect(sent(r.actions)).toEqual([]);
    expect(r.reason.notification).toEqual({ direction: 'received', code: 6, subcode: 2 });
  });
  it('an UPDATE is an FSM error (subcode 2)', () => {
    expect(notifOf(step(openConfirm, { type: 'UpdateMsg', decoded: emptyUpdate }, ctx).actions)).toEqual([5, 2]);
  });
});

describe('Established', () => {
  it('KEEPALIVE and UPDATE restart the hold timer; UPDATE is delivered', () => {
    const s = established();
    expect(kinds(step(s, { type: 'KeepAliveMsg' }, ctx).actions)).toEqual(['start-timer:hold']);
    expect(kinds(step(s, { type: 'UpdateMsg', decoded: emptyUpdate }, ctx).actions)).toEqual(['start-timer:hold', 'deliver-update']);
    expect(kinds(step(s, { type: 'RouteRefreshMsg', afi: 1, safi: 1, subtype: 0 }, ctx).actions)).toEqual(['start-timer:hold', 'deliver-route-refresh']);
  });
  it('a TCP failure with graceful restart negotiated is a graceful session-down', () => {
    const r = step(established(), { type: 'TcpConnectionFails' }, ctx);
    expect(r.actions).toContainEqual(expect.objectContaining({ type: 'session-down', graceful: true }));
    expect(r.next).toMatchObject({ name: 'Idle', enabled: true, connectRetryCounter: 1 });
  });
  it('hold timer expiry sends 4/0 and is not graceful', () => {
    const r = step(established(), { type: 'HoldTimerExpires' }, ctx);
    expect(notifOf(r.actions)).toEqual([4, 0]);
    expect(r.actions).toContainEqual(expect.objectContaining({ type: 'session-down', graceful: false }));
  });
  it('an UPDATE error is sent back and resets', () => {
    const r = step(established(), { type: 'UpdateMsgErr', error: new BgpWireError(3, 1, 'bad list') }, ctx);
    expect(notifOf(r.actions)).toEqual([3, 1]);
    expect(r.next.name).toBe('Idle');
  });
  it('an OPEN is an FSM error (subcode 3)', () => {
    expect(notifOf(step(established(), { type: 'BGPOpen', open: peerOpen() }, ctx).actions)).toEqual([5, 3]);
  });
  it('without graceful restart on both sides the session-down is not graceful', () => {
    const noGr: FsmContext = { ...ctx, config: { ...ctx.config, capabilities: caps.filter((c) => c.kind !== 'graceful-restart') } };
    let s = initialFsmState();
    for (const e of [{ type: 'ManualStart' }, { type: 'TcpConnectionAcknowledged' }, { type: 'BGPOpen', open: peerOpen() }, { type: 'KeepAliveMsg' }] as FsmEvent[]) s = step(s, e, noGr).next;
    expect(s.negotiated?.gracefulRestart).toBeUndefined();
    const r = step(s, { type: 'TcpConnectionFails' }, noGr);
    expect(r.actions).toContainEqual(expect.objectContaining({ type: 'session-down', graceful: false }));
  });
  it('repeated failures back off exponentially up to the cap, and Established resets the count', () => {
    let s = step(idle, { type: 'ManualStart' }, ctx).next;
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      // Connect -> OpenSent -> (peer never answers) hold timer -> Idle, a failure each time.
      s = step(s, { type: 'TcpConnectionAcknowledged' }, ctx).next;
      const r = step(s, { type: 'HoldTimerExpires' }, ctx);
      const t = r.actions.find((a) => a.type === 'start-timer' && a.timer === 'idle-hold') as Extract<FsmAction, { type: 'start-timer' }>;
      delays.push(t.ms);
      s = step(r.next, { type: 'IdleHoldTimerExpires' }, ctx).next;
      expect(s.name).toBe('Connect');
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(s.connectRetryCounter).toBe(5);
    s = step(step(step(s, { type: 'TcpConnectionAcknowledged' }, ctx).next, { type: 'BGPOpen', open: peerOpen() }, ctx).next, { type: 'KeepAliveMsg' }, ctx).next;
    expect(s).toMatchObject({ name: 'Established', connectRetryCounter: 0 });
  });
});
