import { describe, expect, it } from 'vitest';
import type { WiredWorkload, WorkloadInterfaceSpec, WorkloadWiring } from '../dataplane/linux/workload-wiring.js';
import { withWorkloadMtu, workloadMtuFor } from './workload-mtu.js';

describe('workloadMtuFor', () => {
  it('is 1480 when any pool may use IPIP, else the kernel default', () => {
    expect(workloadMtuFor([])).toBeUndefined();
    expect(workloadMtuFor([{ ipipMode: 'Never' }])).toBeUndefined();
    expect(workloadMtuFor([{ ipipMode: 'Never' }, { ipipMode: 'CrossSubnet' }])).toBe(1480);
    expect(workloadMtuFor([{ ipipMode: 'Always' }], 9000)).toBe(8980);
  });
});

describe('withWorkloadMtu', () => {
  const specs: WorkloadInterfaceSpec[] = [];
  const inner: WorkloadWiring = {
    wire: async (s) => {
      specs.push(s);
      return {} as WiredWorkload;
    },
    unwire: async () => undefined,
    listHostInterfaces: async () => [],
    hostInterface: async () => undefined,
  };
  const base = { netnsPath: '/run/netns/x', containerIfName: 'eth0', hostIfName: 'cali0', addresses: ['10.0.0.1/32'] };

  it('fills in the current MTU, leaves it out when there is none, and never overrides an explicit one', async () => {
    let mtu: number | undefined = 1480;
    const w = withWorkloadMtu(inner, () => mtu);
    await w.wire(base);
    await w.wire({ ...base, mtu: 9000 });
    mtu = undefined;
    await w.wire(base);
    expect(specs.map((s) => s.mtu)).toEqual([1480, 9000, undefined]);
    expect('mtu' in specs[2]!).toBe(false);
  });
});
