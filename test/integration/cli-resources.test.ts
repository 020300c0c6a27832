/**
 * The `tabby` CLI against a real etcd: apply/create/replace/delete/get, bad input that must
 * write nothing, calicoctl's environment variables, and the ipam commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdBackendFor, etcdctl, startEtcd, type EtcdServer } from '../support/etcd.js';
import { runTabby } from '../support/cli.js';
import { Ipam } from '../../src/ipam/allocator.js';
import { DatastorePoolSource } from '../../src/ipam/pools.js';

const POOL = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: cli-pool
spec:
  cidr: 10.77.0.0/24
  blockSize: 28
  ipipMode: Always
  natOutgoing: true
`;

const NODE_POLICY = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: shop
spec:
  order: 10
  selector: app == 'web'
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [80, "8000:8080"]
`;

describe('tabby CLI on a real etcd', () => {
  let etcd: EtcdServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    etcd = await startEtcd();
    env = { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints.join(',') };
  });
  afterAll(async () => {
    await etcd?.cleanup();
  });

  const keysUnder = async (prefix: string): Promise<string[]> =>
    (await etcdctl(etcd, 'get', '--prefix', '--keys-only', prefix)).split('\n').filter((l) => l.trim() !== '');

  it('applies a file, reports one line per resource, and is idempotent', async () => {
    const first = await runTabby(['apply', '-f', '-'], { env, stdin: `${POOL}---\n${NODE_POLICY}` });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('ippool/cli-pool created\nnetworkpolicy/shop/allow-web created\n');
    const again = await runTabby(['apply', '-f', '-'], { env, stdin: POOL });
    expect(again.stdout).toBe('ippool/cli-pool unchanged\n');
    expect(await keysUnder('/calico/resources/v3/projectcalico.org/')).toEqual([
      '/calico/resources/v3/projectcalico.org/ippools/cli-pool',
      '/calico/resources/v3/projectcalico.org/networkpolicies/shop/allow-web',
    ]);
  });

  it('stores the values in the layout a Calico user reads with etcdctl', async () => {
    const raw = JSON.parse(await etcdctl(etcd, 'get', '--print-value-only', '/calico/resources/v3/projectcalico.org/ippools/cli-pool'));
    expect(raw).toMatchObject({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'cli-pool' }, spec: { cidr: '10.77.0.0/24', blockSize: 28, ipipMode: 'Always' } });
    expect(raw.metadata.resourceVersion).toBeUndefined();
    expect(raw.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('prints calicoctl-style tables, YAML and JSON', async () => {
    const wide = await runTabby(['get', 'ippool', '-o', 'wide'], { env });
    expect(wide.code).toBe(0);
    const [header, row] = wide.stdout.trimEnd().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'SELECTOR']);
    expect(row?.split(/\s+/)).toEqual(['cli-pool', '10.77.0.0/24', 'true', 'Always', 'Never', 'false', 'all()']);
    const yaml = await runTabby(['get', 'policy', 'allow-web', '-n', 'shop', '-o', 'yaml'], { env });
    expect(yaml.stdout).toContain("selector: app == 'web'");
    expect(yaml.stdout).toMatch(/resourceVersion: "\d+"/);
    const all = await runTabby(['get', 'networkpolicy', '-A', '-o', 'json'], { env });
    expect(JSON.parse(all.stdout).items).toHaveLength(1);
    const none = await runTabby(['get', 'networkpolicy'], { env });
    expect(none.stdout.trim()).toBe('NAMESPACE   NAME');
  });

  it('writes nothing when any document in the file is invalid', async () => {
    const before = await keysUnder('/calico/');
    const bad = `${POOL.replace('cli-pool', 'second-pool').replace('10.77.0.0/24', '10.78.0.0/24')}---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: broken
spec:
  cidr: 10.79.0.1/24
  ipipMode: Sometimes
`;
    const res = await runTabby(['apply', '-f', '-'], { env, stdin: bad });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('<stdin> document 2');
    expect(res.stderr).toContain('spec.cidr: 10.79.0.1/24 is not masked: did you mean 10.79.0.0/24?');
    expect(res.stderr).toContain('spec.ipipMode');
    expect(await keysUnder('/calico/')).toEqual(before);
  });

  it('refuses overlapping pools, create of an existing resource and replace of a missing one', async () => {
    const overlap = await runTabby(['create', '-f', '-'], { env, stdin: POOL.replace('cli-pool', 'overlap').replace('10.77.0.0/24', '10.77.0.128/25') });
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toContain('overlaps IPPool cli-pool (10.77.0.0/24)');
    const exists = await runTabby(['create', '-f', '-'], { env, stdin: POOL });
    expect(exists.stderr).toContain('IPPool cli-pool already exists');
    const missing = await runTabby(['replace', '-f', '-'], { env, stdin: POOL.replace('cli-pool', 'ghost').replace('10.77.0.0/24', '10.90.0.0/24') });
    expect(missing.stderr).toContain('IPPool ghost does not exist');
    expect(await keysUnder('/calico/resources/v3/projectcalico.org/ippools/')).toEqual(['/calico/resources/v3/projectcalico.org/ippools/cli-pool']);
  });

  it('says clearly when etcd cannot be reached, and exits non-zero', async () => {
    const res = await runTabby(['get', 'ippool'], { env: { ETCD_ENDPOINTS: 'http://127.0.0.1:1' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: .*127\.0\.0\.1:1.*unreachable/m);
  });

  it('rejects an unknown kind and a kubernetes datastore with a way forward', async () => {
    const kind = await runTabby(['get', 'ippoool'], { env });
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain('unknown resource kind "ippoool"; known kinds: IPPool');
    const k8s = await runTabby(['get', 'ippool'], { env: { ...env, DATASTORE_TYPE: 'kubernetes' } });
    expect(k8s.code).toBe(1);
    expect(k8s.stderr).toContain('etcdv3');
  });

  it('shows, checks and releases IPAM state', async () => {
    const backend = etcdBackendFor(etcd);
    try {
      const ipam = new Ipam({ backend, pools: new DatastorePoolSource({ backend, defaultPool: false }) });
      const [a] = await ipam.autoAssign({ handle: 'k8s-pod-network.abc123', node: 'node-1', num: 1, attrs: { node: 'node-1' } });
      expect(a).toBeDefined();
      const ip = a!.address;
      const show = await runTabby(['ipam', 'show', '--show-blocks'], { env });
      expect(show.stdout).toMatch(/IP Pool\s+10\.77\.0\.0\/24\s+256\s+1 \(0%\)/);
      expect(show.stdout).toMatch(/10\.77\.0\.0\/28\s+node-1\s+cli-pool\s+16\s+1 \(6%\)/);
      const who = await runTabby(['ipam', 'show', '--ip', ip], { env });
      expect(who.stdout).toContain(`${ip} is in use`);
      expect(who.stdout).toContain('k8s-pod-network.abc123');
      // No WorkloadEndpoint holds it: check reports the leak and exits 1.
      const check = await runTabby(['ipam', 'check'], { env });
      expect(check.code).toBe(1);
      expect(check.stdout).toContain('allocation-without-endpoint');
      const skip = await runTabby(['ipam', 'check', '--skip-endpoints'], { env });
      expect(skip.code).toBe(0);
      const rel = await runTabby(['ipam', 'release', '--ip', ip], { env });
      expect(rel.stdout).toBe(`released ${ip}\n`);
      const again = await runTabby(['ipam', 'release', '--ip', ip], { env });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('not allocated');
      const free = await runTabby(['ipam', 'show', '--ip', ip], { env });
      expect(free.stdout).toContain(`${ip} is free`);
    } finally {
      await backend.close();
    }
  });
});
