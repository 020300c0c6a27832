import { describe, expect, it } from 'vitest';
import type { ApplyReport, Dataplane } from '../dataplane/driver.js';
import type { DataplaneMessage, WorkloadEndpointUpdate } from '../dataplane/messages.js';
import { ApplyLoop, EndpointNotProgrammedError, type LoopClock } from './apply-loop.js';

/** Timers that fire only when the test advances time. */
class ManualClock implements LoopClock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private id = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.id;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t).sort((a, b) => a - b);
  }
  /** Advances to `ms` later, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

class FakeDataplane implements Dataplane {
  sent: DataplaneMessage[][] = [];
  applies = 0;
  resyncs = 0;
  inSync = false;
  next: Partial<ApplyReport> = {};
  send(msgs: DataplaneMessage[]): void {
    this.sent.push(msgs);
    if (msgs.some((m) => m.type === 'InSync')) this.inSync = true;
  }
  async apply(): Promise<ApplyReport> {
    this.applies++;
    return { inSync: this.inSync, failures: [], ...this.next };
  }
  requestResync(): void {
    this.resyncs++;
  }
}

class Queue {
  items: DataplaneMessage[] = [];
  flush(): DataplaneMessage[] {
    return this.items.splice(0);
  }
}

const wep = (iface: string, net: string): WorkloadEndpointUpdate => ({
  type: 'WorkloadEndpointUpdate',
  id: { orchestrator: 'k8s', workload: 'ns/p', endpoint: 'eth0' },
  ifaceName: iface,
  ipv4Nets: [net],
  labels: {},
  profileIds: [],
});

function setup() {
  const clock = new ManualClock();
  const dp = new FakeDataplane();
  const q = new Queue();
  const loop = new ApplyLoop({ source: q, dataplane: dp, clock, retryInitialMs: 100, retryMaxMs: 400, resyncIntervalMs: 90_000 });
  loop.start();
  return { clock, dp, q, loop };
}

describe('ApplyLoop', () => {
  it('coalesces kicks into one cycle and reports the first apply after InSync', async () => {
    const { clock, dp, q, loop } = setup();
    q.items.push({ type: 'InSync' });
    loop.kick();
    loop.kick();
    loop.kick();
    await clock.advance(0);
    expect(dp.applies).toBe(1);
    expect(loop.firstApplyDone).toBe(true);
    await loop.stop();
  });

  it('retries failures with doubling backoff capped at the maximum, and stops retrying once clean', async () => {
    const { clock, dp, q, loop } = setup();
    q.items.push({ type: 'InSync' });
    dp.next = { failures: [{ manager: 'routes', item: 'route 10.0.0.1/32', code: 'X', message: 'x' }] };
    loop.kick();
    await clock.advance(0);
    expect(dp.applies).toBe(1);
    expect(clock.pending()).toEqual([100, 90_000]);
    await clock.advance(100);
    expect(clock.pending()[0]).toBe(200);
    await clock.advance(200);
    await clock.advance(400);
    expect(clock.pending()[0]).toBe(400); // capped
    dp.next = {};
    await clock.advance(400);
    expect(dp.applies).toBe(5);
    expect(clock.pending().length).toBe(1); // only the resync timer is left
    await loop.stop();
  });

  it('asks the dataplane to resync periodically', async () => {
    const { clock, dp, loop } = setup();
    await clock.advance(90_000);
    expect(dp.resyncs).toBe(1);
    expect(dp.applies).toBe(1);
    await clock.advance(90_000);
    expect(dp.resyncs).toBe(2);
    await loop.stop();
  });

  it('waitForEndpoint resolves after the apply that programs it, and only in the expected shape', async () => {
    const { clock, q, loop } = setup();
    const expect1 = { ifaceName: 'cali1', ipv4Nets: ['10.0.0.1/32'] };
    let done = false;
    const p = loop.waitForEndpoint('k8s/ns/p/eth0', 5000, expect1).then(() => (done = true));
    q.items.push(wep('cali0', '10.0.0.9/32'), { type: 'InSync' });
    loop.kick();
    await clock.advance(0);
    expect(done).toBe(false); // same endpoint, old shape
    q.items.push(wep('cali1', '10.0.0.1/32'));
    loop.kick();
    await clock.advance(0);
    await p;
    expect(done).toBe(true);
    await loop.stop();
  });

  it('waitForEndpoint times out naming the failure that blocks the endpoint', async () => {
    const { clock, dp, q, loop } = setup();
    dp.next = { failures: [{ manager: 'routes', item: 'route 10.0.0.1/32', code: 'ROUTE_REPLACE_FAILED', message: 'cannot program 10.0.0.1/32 dev cali1' }] };
    q.items.push(wep('cali1', '10.0.0.1/32'), { type: 'InSync' });
    const p = loop.waitForEndpoint('k8s/ns/p/eth0', 1000);
    loop.kick();
    const caught = p.catch((e: unknown) => e);
    await clock.advance(1000);
    const err = await caught;
    expect(err).toBeInstanceOf(EndpointNotProgrammedError);
    expect((err as Error).message).toContain('cannot program 10.0.0.1/32 dev cali1');
    await loop.stop();
  });
});
