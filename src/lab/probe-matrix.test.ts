import { describe, expect, it } from 'vitest';
import { buildMatrix, renderMatrix, summaryLine, type ProbeTargetResult } from './probe-matrix.js';

const pods = [
  { name: 'a', node: 'node1', ip: '10.0.0.1' },
  { name: 'b', node: 'node1', ip: '10.0.0.2' },
  { name: 'c', node: 'node2', ip: '10.0.0.3' },
];

function okTo(...names: string[]): ProbeTargetResult[] {
  return names.map((n) => ({ target: n, ip: pods.find((p) => p.name === n)!.ip, tcp: true, udp: true }));
}

describe('probe matrix', () => {
  it('counts every ordered pair except a pod with itself', () => {
    const m = buildMatrix(7777, pods, new Map([['a', okTo('b', 'c')], ['b', okTo('a', 'c')], ['c', okTo('a', 'b')]]));
    expect(m.pairs).toBe(6);
    expect(m.ok).toBe(true);
    expect(summaryLine(m)).toBe('6/6 pairs connected over TCP, 6/6 over UDP');
    const text = renderMatrix(m, { ascii: true });
    expect(text.split('\n').slice(0, 4)).toEqual(['FROM \\ TO  a   b   c', 'a          -   ok  ok', 'b          ok  -   ok', 'c          ok  ok  -']);
    expect(renderMatrix(m)).toContain('a          ·  ✓  ✓\n');
  });

  it('marks a missing report as failed, and names the reason of each failure', () => {
    const cToA: ProbeTargetResult = { target: 'a', ip: '10.0.0.1', tcp: false, udp: true, tcpError: 'connect ECONNREFUSED' };
    const m = buildMatrix(7777, pods, new Map([['a', okTo('b', 'c')], ['c', [cToA, ...okTo('b')]]]));
    expect(m.ok).toBe(false);
    expect(m.tcpConnected).toBe(3);
    expect(m.udpConnected).toBe(4);
    const text = renderMatrix(m, { ascii: true });
    expect(text).toContain('b          FAIL       -   FAIL\nc          FAIL(tcp)  ok  -\n');
    expect(text).toContain('b -> a (10.0.0.1): tcp: not probed; udp: not probed');
    expect(text).toContain('c -> a (10.0.0.1): tcp: connect ECONNREFUSED');
  });

  it('judges only the protocol asked for', () => {
    const cToA: ProbeTargetResult = { target: 'a', ip: '10.0.0.1', tcp: true, udp: false, udpError: 'no echo' };
    const all = new Map([['a', okTo('b', 'c')], ['b', okTo('a', 'c')], ['c', [cToA, ...okTo('b')]]]);
    expect(buildMatrix(1, pods, all, { tcp: true, udp: false }).ok).toBe(true);
    expect(buildMatrix(1, pods, all, { tcp: false, udp: true }).ok).toBe(false);
    expect(buildMatrix(1, pods, all).ok).toBe(false);
  });
});
