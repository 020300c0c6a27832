/**
 * A pool with room for a handful of pods: the pod that does not fit gets CNI error 101
 * with a message saying so, and its failed ADD leaves nothing behind (no namespace, no
 * interface, no route, no allocation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { footprint, lab, mustLab, routeProblems, uniqueLabName } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';

const name = uniqueLabName();
const names = new LabNames(name);
const MAX_TRIES = 8;

describe.skipIf(!isRoot)(needsRoot('tabby lab: pool exhausted'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '1', '--pods-per-node', '0', '--pool-cidr', '10.66.0.0/30', '--block-size', '30', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('the pod that does not fit fails with CNI code 101 and leaves nothing behind', async () => {
    let failure: { pod: string; stderr: string; code: number } | undefined;
    let added = 0;
    for (let i = 1; i <= MAX_TRIES && !failure; i++) {
      const r = await lab(name, ['pod', 'add', `p${i}`]);
      if (r.code === 0) added++;
      else failure = { pod: `p${i}`, stderr: r.stderr, code: r.code };
    }
    expect(failure, `all ${MAX_TRIES} pods fit in a /30 pool`).toBeDefined();
    expect(added).toBeGreaterThanOrEqual(1);
    expect(added).toBeLessThanOrEqual(4);
    expect(failure!.code).toBe(1);
    expect(failure!.stderr).toMatch(/failed with code 101: .*(full|exhausted|no free)/i);

    const state = await mustReadState(names);
    expect(state.pods).toHaveLength(added);
    expect(footprint(name).netns).not.toContain(names.podNetns(failure!.pod));
    expect(routeProblems(state)).toEqual([]); // exactly one cali interface and route per pod that exists
    const check = await lab(name, ['ctl', '--', 'ipam', 'check']);
    expect(check.stdout).toContain(`${added} allocated addresses`);
    expect(check.stdout).toContain('no problems found');
  });

  it('after a pod is deleted its address can be used again', async () => {
    const state = await mustReadState(names);
    await mustLab(name, ['pod', 'del', state.pods[0]!.name]);
    const again = await mustLab(name, ['pod', 'add', 'again']);
    expect(again.stdout).toContain(`pod again on node1: ${state.pods[0]!.ip}`);
  });
});
