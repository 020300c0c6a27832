/**
 * Agent restarts under load: a long TCP stream runs between pods on two nodes while one
 * agent is stopped with SIGTERM and restarted, and the other is SIGKILLed and restarted.
 * The stream must deliver every byte, and afterwards routes, interfaces and allocations
 * must be exactly what the pods need (nothing leaked, nothing missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, routeProblems, streamDuring, uniqueLabName } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';

const name = uniqueLabName();
const names = new LabNames(name);
const MIN_BYTES = 200 * 1000 * 1000;

describe.skipIf(!isRoot)(needsRoot('tabby lab: agent restarts during a TCP transfer'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('a 200 MB stream between nodes survives a SIGTERM restart and a SIGKILL restart', async () => {
    const state = await mustReadState(names);
    const [src, dst] = [state.pods.find((p) => p.node === 'node1')!, state.pods.find((p) => p.node === 'node2')!];
    const r = await streamDuring(src, dst, { mbps: 400, minBytes: MIN_BYTES }, async () => {
      // Both restarts happen mid-transfer: the sender streams until this returns.
      const term = await lab(name, ['agent', 'restart', 'node1']);
      expect(term.stderr).toContain('node1: agent ready');
      expect(term.code).toBe(0);
      const kill = await lab(name, ['agent', 'restart', 'node2', '--kill']);
      expect(kill.stderr).toContain('(SIGKILL)');
      expect(kill.code).toBe(0);
    });
    expect(r.sender.exit).toBe(0);
    expect(r.sink.exit).toBe(0);
    expect(r.sender.error).toBeUndefined();
    expect(r.sender.bytes).toBeGreaterThanOrEqual(MIN_BYTES);
    expect(r.sink).toEqual({ exit: 0, bytes: r.sender.bytes });
  });

  it('after the restarts nothing is left over or missing', async () => {
    const state = await mustReadState(names);
    expect(routeProblems(state)).toEqual([]);
    const check = await lab(name, ['ctl', '--', 'ipam', 'check']);
    expect(check.stdout).toContain('no problems found');
    expect(check.stdout).toContain(`${state.pods.length} allocated addresses`);
    const status = await mustLab(name, ['status']);
    expect(status.stdout.match(/\d+ ready/g)).toHaveLength(2);
    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('2/2 pairs connected over TCP, 2/2 over UDP');
  });
});
