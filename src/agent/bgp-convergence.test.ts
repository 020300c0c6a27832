import { describe, expect, it } from 'vitest';
import type { BgpStatus } from '../bgp/speaker/speaker.js';
import type { PeerStatus } from '../bgp/speaker/peer-status.js';
import type { LoopClock } from './apply-loop.js';
import { BgpConvergence } from './bgp-convergence.js';

/** Timers that fire only when the test advances time (all synchronous here). */
class StepClock implements LoopClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private id = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { at: this.t + ms, fn });
    return this.id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

const peer = (peerAddress: string, state: PeerStatus['state']): PeerStatus => ({ peerAddress, state, peerType: 'node-to-node mesh', since: '', info: '', asNumber: 64512, source: 'mesh', fsmState: state === 'up' ? 'Established' : 'Active' });

function setup(status: Pick<BgpStatus, 'enabled' | 'peers'>) {
  const clock = new StepClock();
  const calls: string[] = [];
  const c = new BgpConvergence({ status: () => status, clock, onConverged: (why) => calls.push(why), settleMs: 2000, maxWaitMs: 30_000, pollMs: 250 });
  c.start();
  return { clock, calls, c, status };
}

describe('BgpConvergence', () => {
  it('waits for the configuration, then for every peer to be up for the settle time, and decides once', () => {
    const { clock, calls, c, status } = setup({ enabled: false, peers: [] });
    clock.advance(5000);
    expect(calls).toEqual([]);
    status.enabled = true;
    status.peers = [peer('10.0.0.2', 'up'), peer('10.0.0.3', 'start')];
    clock.advance(5000);
    expect(calls).toEqual([]);
    status.peers = [peer('10.0.0.2', 'up'), peer('10.0.0.3', 'up')];
    clock.advance(1750);
    expect(calls).toEqual([]);
    // A flap restarts the settle time.
    status.peers = [peer('10.0.0.2', 'up'), peer('10.0.0.3', 'start')];
    clock.advance(250);
    status.peers = [peer('10.0.0.2', 'up'), peer('10.0.0.3', 'up')];
    clock.advance(1750);
    expect(calls).toEqual([]);
    // First seen all up at the poll after the change: 2000 ms after that one.
    clock.advance(500);
    expect(calls).toEqual(['all 2 BGP peer(s) established for 2000 ms']);
    expect(c.converged).toBe(true);
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(calls).toHaveLength(1);
  });

  it('no peers configured: converged after the settle time', () => {
    const { clock, calls } = setup({ enabled: true, peers: [] });
    clock.advance(2250);
    expect(calls).toEqual(['BGP is configured with no peers']);
  });

  it('a peer that never comes up does not hold it forever: gives up at maxWait and names it', () => {
    const { clock, calls } = setup({ enabled: true, peers: [peer('10.0.0.2', 'up'), peer('10.0.0.9', 'start')] });
    clock.advance(29_750);
    expect(calls).toEqual([]);
    clock.advance(250);
    expect(calls).toEqual(['gave up waiting after 30000 ms (not established: 10.0.0.9)']);
  });

  it('stop() cancels the wait', () => {
    const { clock, calls, c } = setup({ enabled: true, peers: [] });
    c.stop();
    clock.advance(60_000);
    expect(calls).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
