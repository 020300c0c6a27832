import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import { convertResult, ipFamily, parseResult, type CniResult } from './result.js';
import { SUPPORTED_VERSIONS } from './versions.js';

/** What the agent answers for a pod: a host-side cali veth, eth0 in the pod, /32 and default route. */
const agentResult: CniResult = {
  interfaces: [
    { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1480 },
    { name: 'eth0', mac: '02:42:0a:41:00:07', sandbox: '/var/run/netns/pod', mtu: 1480 },
  ],
  ips: [
    { address: '10.65.0.7/32', gateway: '169.254.1.1', interface: 1 },
    { address: 'fd00:65::7/128', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', mtu: 1480, scope: 0 }],
  dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'] },
};

describe('convertResult', () => {
  it('prints 1.1.0 with every field', () => {
    const out = convertResult(agentResult, '1.1.0');
    expect(out.cniVersion).toBe('1.1.0');
    expect((out.interfaces as { mtu?: number }[])[0]?.mtu).toBe(1480);
    expect((out.routes as { mtu?: number }[])[0]?.mtu).toBe(1480);
  });

  it('drops 1.1-only fields for 1.0.0 and adds no ip version', () => {
    const out = convertResult(agentResult, '1.0.0');
    expect(out).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '02:42:0a:41:00:07', sandbox: '/var/run/netns/pod' },
      ],
      ips: [
        { interface: 1, address: '10.65.0.7/32', gateway: '169.254.1.1' },
        { interface: 1, address: 'fd00:65::7/128' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'] },
    });
  });

  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    it(`adds "version" to each ip for ${v}`, () => {
      const out = convertResult(agentResult, v);
      expect(out.cniVersion).toBe(v);
      expect(out.ips).toEqual([
        { version: '4', interface: 1, address: '10.65.0.7/32', gateway: '169.254.1.1' },
        { version: '6', interface: 1, address: 'fd00:65::7/128' },
      ]);
    });
  }

  it('leaves out empty lists and always has dns', () => {
    expect(convertResult({ interfaces: [], ips: [] }, '1.0.0')).toEqual({ cniVersion: '1.0.0', dns: {} });
  });

  it('refuses a version it does not speak', () => {
    expect(() => convertResult(agentResult, '0.2.0' as never)).toThrow(CniError);
  });
});

describe('parseResult', () => {
  it('rejects what is not a result, with code 6 and the place', () => {
    const bads: unknown[] = [
      null,
      [],
      { ips: {} },
      { ips: [{ address: '10.0.0.1' }] },
      { ips: [{ address: '300.0.0.1/32' }] },
      { ips: [{ address: '10.0.0.1/32', version: '6' }] },
      { ips: [{ address: '10.0.0.1/32', interface: 0 }] },
      { interfaces: [{ mac: 'x' }] },
      { routes: [{ gw: '1.1.1.1' }] },
      { dns: { nameservers: 'x' } },
    ];
    for (const b of bads) {
      let err: unknown;
      try {
        parseResult(b, 'prevResult');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(b)).toBeInstanceOf(CniError);
      expect((err as CniError).cniCode).toBe(6);
      expect((err as CniError).msg).toMatch(/^prevResult/);
    }
  });
});

describe('ipFamily', () => {
  it('tells 4 from 6 and rejects the rest', () => {
    expect(ipFamily('10.0.0.1/8')).toBe('4');
    expect(ipFamily('::/0')).toBe('6');
    expect(() => ipFamily('10.0.0.1/33')).toThrow();
    expect(() => ipFamily('fe80::1/129')).toThrow();
  });
});

// Round trip: whatever the agent answers, printing it for any version and reading it back
// gives the same 1.x result minus the fields that version cannot carry.
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(32)).map(([a, b, c, d, l]) => `${a}.${b}.${c}.${d}/${l}`);
const v6 = fc.tuple(fc.ipV6(), fc.nat(128)).map(([a, l]) => `${a}/${l}`);
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const optInt = fc.option(fc.nat(9000), { nil: undefined });
const resultArb: fc.Arbitrary<CniResult> = fc
  .array(fc.record({ name, mac: fc.option(fc.constant('ee:ee:ee:ee:ee:ee'), { nil: undefined }), mtu: optInt, sandbox: fc.option(fc.constant('/var/run/netns/p'), { nil: undefined }) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 3 })
  .chain((interfaces) =>
    fc.record({
      interfaces: fc.constant(interfaces),
      ips: fc.array(fc.record({ address: fc.oneof(v4, v6), gateway: fc.option(fc.constant('169.254.1.1'), { nil: undefined }), interface: fc.option(fc.nat(interfaces.length - 1), { nil: undefined }) }, { requiredKeys: ['address'] }), { minLength: 1, maxLength: 3 }),
      routes: fc.array(fc.record({ dst: v4, gw: fc.option(fc.constant('169.254.1.1'), { nil: undefined }), mtu: optInt, table: optInt }, { requiredKeys: ['dst'] }), { minLength: 1, maxLength: 3 }),
      dns: fc.record({ nameservers: fc.array(fc.constant('10.96.0.10'), { maxLength: 2 }) }),
    }),
  );

function strip11(r: CniResult): CniResult {
  return JSON.parse(
    JSON.stringify({
      ...r,
      interfaces: r.interfaces?.map(({ mtu: _m, socketPath: _s, pciID: _p, ...rest }) => rest),
      routes: r.routes?.map(({ dst, gw }) => (gw === undefined ? { dst } : { dst, gw })),
    }),
  ) as CniResult;
}

describe('convertResult ∘ parseResult', () => {
  it('round-trips for every version', () => {
    fc.assert(
      fc.property(resultArb, fc.constantFrom(...SUPPORTED_VERSIONS), (r, v) => {
        const clean = JSON.parse(JSON.stringify(r)) as CniResult;
        const back = parseResult(JSON.parse(JSON.stringify(convertResult(clean, v))));
        expect(back).toEqual(v === '1.1.0' ? clean : strip11(clean));
      }),
      { numRuns: 300 },
    );
  });
});
