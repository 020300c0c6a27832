/**
 * The bpf dataplane in a 3-node lab: every pod pair connects over TCP and UDP with the pool
 * in ipipMode Always, and the underlay carries only IPIP (protocol 4) between node
 * addresses; after switching the pool to Never, the same matrix holds and the underlay
 * carries bare pod addresses and no protocol 4. Judged by real packets on the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, uniqueLabName } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { captureUnderlay, dumpRoutes, eventually, type DumpedRoute } from './fixtures/lab-bpf.js';

const name = uniqueLabName();
const names = new LabNames(name);
const POOL = '10.65.0.0/16';

function poolYaml(ipipMode: 'Always' | 'Never'): string {
  return `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: lab-pool\nspec:\n  cidr: ${POOL}\n  blockSize: 26\n  ipipMode: ${ipipMode}\n  vxlanMode: Never\n  natOutgoing: false\n`;
}

/** Runs the full probe matrix while capturing the underlay; returns the probe output and the capture. */
async function probeWithCapture(state: LabState): Promise<{ probe: string; ipip: string[]; bare: string[] }> {
  const cap = await captureUnderlay(state);
  try {
    const probe = await lab(name, ['probe', '--ascii']);
    await cap.stop();
    const nodeAddrs = state.nodes.map((n) => n.address.split('/')[0]!);
    const ipip = cap.lines('ip proto 4');
    // Every IPIP packet is node address -> node address on the outside.
    for (const l of ipip) {
      const m = /IP (\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): /.exec(l);
      expect(m, l).not.toBeNull();
      expect(nodeAddrs).toContain(m![1]);
      expect(nodeAddrs).toContain(m![2]);
    }
    return { probe: probe.stdout + probe.stderr, ipip, bare: cap.lines(`ip and not ip proto 4 and net ${POOL}`) };
  } finally {
    cap.remove();
  }
}

describe.skipIf(!isRoot)(needsRoot('tabby lab, bpf dataplane: IPIP Always and Never across 3 nodes'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '3', '--pods-per-node', '2', '--dataplane', 'bpf', '--ipip', 'always', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('ipipMode Always: 30/30 pairs over TCP and UDP; the underlay shows only IPIP between node addresses', async () => {
    const state = await mustReadState(names);
    expect(state.dataplane).toBe('bpf');
    const r = await probeWithCapture(state);
    expect(r.probe).toContain('30/30 pairs connected over TCP, 30/30 over UDP');
    expect(r.ipip.length).toBeGreaterThan(0);
    expect(r.bare).toEqual([]);
  });

  it('ipipMode Never: the same matrix; bare pod addresses on the underlay and no protocol 4', async () => {
    const state = await mustReadState(names);
    const applied = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: poolYaml('Never') });
    expect(applied.code, applied.stderr).toBe(0);
    // Wait until every node's routes map has dropped the ipip flag (the agents follow the pool).
    for (const node of state.nodes) {
      let routes: DumpedRoute[] = [];
      await eventually(`${node.name} to drop ipip from its routes`, async () => {
        routes = await dumpRoutes(node);
        return routes.some((x) => x.type === 'remote') && routes.every((x) => !x.ipip);
      }, 30_000, () => JSON.stringify(routes));
    }
    const r = await probeWithCapture(state);
    expect(r.probe).toContain('30/30 pairs connected over TCP, 30/30 over UDP');
    expect(r.ipip).toEqual([]);
    expect(r.bare.length).toBeGreaterThan(0);
  });
});
