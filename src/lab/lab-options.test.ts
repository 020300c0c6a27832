import { describe, expect, it } from 'vitest';
import { legacyIpipProblem } from './lab.js';

describe('legacyIpipProblem', () => {
  it('refuses legacy + IPIP Always only when the kernel has no ipip module, saying what to do', () => {
    expect(legacyIpipProblem('legacy', 'Always', false)).toMatch(/needs the kernel's ipip module.*use --dataplane bpf .* or --ipip never/);
    expect(legacyIpipProblem('legacy', 'Always', true)).toBeUndefined();
    expect(legacyIpipProblem('legacy', 'CrossSubnet', false)).toBeUndefined();
    expect(legacyIpipProblem('bpf', 'Always', false)).toBeUndefined();
    expect(legacyIpipProblem('auto', 'Always', false)).toBeUndefined();
  });
});
