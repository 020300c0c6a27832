import { describe, expect, it } from 'vitest';
import { buildOpen } from '../wire/index.js';
import { restartDelayMs } from './backoff.js';
import { collisionWinner, meshPassive } from './collision.js';
import { negotiateHoldTime, negotiateSession } from './negotiate.js';
import { FakeClock } from './fake-clock.js';

describe('negotiation', () => {
  it('hold time is the minimum; keepalive a third of it', () => {
    expect(negotiateHoldTime(90, 30)).toEqual({ holdTime: 30, keepaliveTime: 10 });
    expect(negotiateHoldTime(3, 90)).toEqual({ holdTime: 3, keepaliveTime: 1 });
    expect(negotiateHoldTime(0, 90)).toEqual({ holdTime: 0, keepaliveTime: 0 });
  });
  it('families are the intersection; no MP capability means IPv4 unicast', () => {
    const config = { localAs: 1, localId: '1.1.1.1', peerAs: 1, holdTime: 90, connectRetryTime: 5,
      capabilities: [{ kind: 'multiprotocol' as const, afi: 1, safi: 1 }, { kind: 'multiprotocol' as const, afi: 2, safi: 1 }] };
    const n = negotiateSession(config, buildOpen({ asn: 1, holdTime: 90, bgpId: '2.2.2.2', capabilities: [] }));
    expect(n.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(n.ebgp).toBe(false);
    expect(n.routeRefresh).toBe(false);
    expect(n.gracefulRestart).toBeUndefined();
  });
});

describe('collision and mesh direction', () => {
  it('the connection opened by the higher identifier survives', () => {
    expect(collisionWinner('10.0.0.2', '10.0.0.1')).toBe('outbound');
    expect(collisionWinner('10.0.0.1', '10.0.0.2')).toBe('inbound');
    // numeric, not textual, comparison
    expect(collisionWinner('9.0.0.1', '10.0.0.1')).toBe('inbound');
  });
  it('the lower address of a mesh pair is passive', () => {
    expect(meshPassive('10.0.0.1', '10.0.0.2')).toBe(true);
    expect(meshPassive('10.0.0.2', '10.0.0.1')).toBe(false);
    expect(meshPassive('9.0.0.1', '10.0.0.1')).toBe(true);
  });
});

describe('restart backoff', () => {
  it('doubles, caps and jitters within ±25%', () => {
    const o = { initial: 1000, max: 10_000 };
    expect([1, 2, 3, 4, 5, 9].map((n) => restartDelayMs(n, o, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(restartDelayMs(1, o, () => 0)).toBe(750);
    expect(restartDelayMs(1, o, () => 0.9999999)).toBeLessThanOrEqual(1250);
    expect(restartDelayMs(100, o, () => 1)).toBeLessThanOrEqual(12_500);
  });
});

describe('FakeClock', () => {
  it('fires due timers in order and honours cancel', () => {
    const c = new FakeClock();
    const seen: string[] = [];
    c.setTimer(20, () => seen.push('b'));
    const cancel = c.setTimer(15, () => seen.push('x'));
    c.setTimer(10, () => { seen.push('a'); c.setTimer(5, () => seen.push('a2')); });
    cancel();
    c.advance(19);
    expect(seen).toEqual(['a', 'a2']);
    c.advance(1);
    expect(seen).toEqual(['a', 'a2', 'b']);
    expect(c.now()).toBe(20);
    expect(c.pendingCount).toBe(0);
  });
});
