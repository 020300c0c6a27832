import { describe, expect, it } from 'vitest';
import {
  allKinds,
  assertValid,
  fromStored,
  kindInfo,
  kindInfoOf,
  parseDocuments,
  ResourceValidationError,
  storageKeyParts,
  toJSON,
  toStored,
  toYAML,
  UnknownKindError,
  validateResource,
  withDefaults,
  type IPPool,
  type Resource,
} from './index.js';

const one = (text: string): Resource => {
  const { resources, issues } = parseDocuments(text, 't.yaml');
  expect(issues).toEqual([]);
  expect(resources).toHaveLength(1);
  return resources[0] as Resource;
};

describe('defaults', () => {
  it('fills IPPool defaults (IPv4 and IPv6)', () => {
    const v4 = one('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16}\n');
    expect(v4.spec).toEqual({
      cidr: '10.0.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    });
    const v6 = one('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: "fd00::/48"}\n');
    expect((v6 as IPPool).spec.blockSize).toBe(122);
  });

  it('normalises the pool CIDR text', () => {
    const p = one('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: "FD00:0:0::/48"}\n');
    expect(p.spec).toMatchObject({ cidr: 'fd00::/48' });
  });

  it('keeps values that were given', () => {
    const p = one('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16, blockSize: 24, ipipMode: CrossSubnet, natOutgoing: true}\n');
    expect(p.spec).toMatchObject({ blockSize: 24, ipipMode: 'CrossSubnet', natOutgoing: true });
  });

  it('fills BGPConfiguration defaults for "default" only', () => {
    const d = one('apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\n');
    expect(d.spec).toEqual({ asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179, logSeverityScreen: 'Info' });
    const n = one('apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n1}\nspec: {listenPort: 1179}\n');
    expect(n.spec).toEqual({ listenPort: 1179 });
  });

  it('converts AS numbers written as strings or asdot', () => {
    const d = one('apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: "1.10"}\n');
    expect(d.spec).toMatchObject({ asNumber: 65546 });
  });

  it('defaults the namespace of namespaced kinds and policy tier/types', () => {
    const np = one('apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  egress: [{action: Allow}]\n');
    expect(np.metadata.namespace).toBe('default');
    expect(np.spec).toMatchObject({ tier: 'default', types: ['Egress'] });
    const both = one('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  ingress: [{action: Deny}]\n  egress: [{action: Allow}]\n');
    expect(both.spec).toMatchObject({ types: ['Ingress', 'Egress'] });
    const none = one('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {}\n');
    expect(none.spec).toMatchObject({ types: ['Ingress'] });
  });

  it('normalises protocol names and numeric port strings', () => {
    const g = one('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  ingress: [{action: Allow, protocol: tcp, destination: {ports: ["80", "90:90", "1:2"]}}]\n');
    expect(g.spec).toMatchObject({ ingress: [{ protocol: 'TCP', destination: { ports: [80, 90, '1:2'] } }] });
  });

  it('defaults k8s NetworkPolicy policyTypes and port protocols', () => {
    const k = one('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k}\nspec:\n  podSelector: {}\n  egress: [{ports: [{port: 53}]}]\n');
    expect(k.metadata.namespace).toBe('default');
    expect(k.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }] });
  });

  it('withDefaults is idempotent and does not mutate its input', () => {
    const r = validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.0.0.0/16' } });
    const input = JSON.parse(JSON.stringify(r)) as Resource;
    expect(withDefaults(r)).toEqual(r);
    expect(r).toEqual(input);
  });
});

const MANIFEST = `# pools and policy
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
  labels:
    app.kubernetes.io/part-of: tabby
spec:
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: security.allow-dns
spec:
  tier: security
  order: 100
  selector: "projectcalico.org/namespace == 'kube-system' && k8s-app in {'kube-dns'}"
  types: [Egress]
  egress:
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
        nets: [10.96.0.10/32]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: prod
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: web}
`;

describe('YAML and JSON', () => {
  it('round-trips YAML -> resources -> YAML -> resources', () => {
    const first = assertValid(parseDocuments(MANIFEST, 'm.yaml'));
    expect(first.map((r) => `${r.apiVersion}/${r.kind}`)).toEqual([
      'projectcalico.org/v3/IPPool',
      'projectcalico.org/v3/GlobalNetworkPolicy',
      'networking.k8s.io/v1/NetworkPolicy',
      'v1/Namespace',
    ]);
    const yaml = toYAML(first);
    const second = assertValid(parseDocuments(yaml, 'again.yaml'));
    expect(second).toEqual(first);
    expect(toYAML(second)).toBe(yaml);
  });

  it('writes keys in a stable order', () => {
    const y = toYAML(assertValid(parseDocuments(MANIFEST, 'm.yaml'))[0] as Resource);
    expect(y.split('\n').slice(0, 4)).toEqual(['apiVersion: projectcalico.org/v3', 'kind: IPPool', 'metadata:', '  name: pool-a']);
  });

  it('reads JSON documents and JSON Lists', () => {
    const rs = assertValid(parseDocuments(MANIFEST, 'm.yaml'));
    const single = parseDocuments(toJSON(rs[0] as Resource), 'x.json');
    expect(single.resources).toEqual([rs[0]]);
    const list = parseDocuments(toJSON(rs), 'x.json');
    expect(list.issues).toEqual([]);
    expect(list.resources).toEqual(rs);
    expect(JSON.parse(toJSON(rs))).toMatchObject({ apiVersion: 'v1', kind: 'List' });
  });

  it('reads a YAML kind: List and names the failing item and its line', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: projectcalico.org/v3',
      '    kind: IPPool',
      '    metadata: {name: good}',
      '    spec: {cidr: 10.1.0.0/16}',
      '  - apiVersion: projectcalico.org/v3',
      '    kind: IPPool',
      '    metadata: {name: bad}',
      '    spec:',
      '      cidr: 10.2.0.0/16',
      '      blockSize: 40',
    ].join('\n');
    const { resources, issues } = parseDocuments(text, 'list.yaml');
    expect(resources.map((r) => r.metadata.name)).toEqual(['good']);
    expect(issues).toEqual([
      expect.objectContaining({ document: 'list.yaml document 1 item 2', path: 'spec.blockSize', line: 13, resource: 'IPPool/bad' }),
    ]);
  });

  it('points a missing field at its parent and an unknown field at itself', () => {
    const text = 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec:\n  peerIP: 10.0.0.1\n  asnumber: 1\n';
    const { issues } = parseDocuments(text, 'p.yaml');
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['spec.asnumber', 6],
      ['spec.asNumber', 4],
    ]);
  });

  it('reports YAML syntax errors with their line and keeps checking other documents', () => {
    const text = 'kind: [\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.0.0.0/8}\n';
    const { resources, issues } = parseDocuments(text, 's.yaml');
    expect(resources).toHaveLength(1);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ document: 's.yaml document 1', path: '' });
    expect(issues[0]?.message).toContain('YAML syntax error');
    expect(issues[0]?.line).toBeGreaterThanOrEqual(1);
  });

  it('reports duplicate keys', () => {
    const { issues } = parseDocuments('apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n', 'd.yaml');
    expect(issues[0]?.message).toMatch(/unique/i);
  });

  it('skips empty documents and blank input', () => {
    expect(parseDocuments('', 'e.yaml')).toEqual({ resources: [], issues: [] });
    expect(parseDocuments('---\n---\n', 'e.yaml')).toEqual({ resources: [], issues: [] });
  });

  it('assertValid throws with every issue', () => {
    expect(() => assertValid(parseDocuments('kind: Nope\n', 'n.yaml'))).toThrow(ResourceValidationError);
  });
});

describe('stored form', () => {
  it('keeps Calico metadata but not resourceVersion, and gets the revision back', () => {
    const r = validateResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'a', uid: 'u-1', creationTimestamp: '2024-01-02T03:04:05Z', resourceVersion: '99', labels: { x: 'y' }, annotations: { 'a/b': 'c' } },
      spec: { cidr: '10.0.0.0/16' },
    });
    const stored = toStored(r);
    const parsed = JSON.parse(stored) as { metadata: Record<string, unknown> };
    expect(Object.keys(parsed)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(parsed.metadata).toEqual({ name: 'a', uid: 'u-1', creationTimestamp: '2024-01-02T03:04:05Z', labels: { x: 'y' }, annotations: { 'a/b': 'c' } });
    const back = fromStored(stored, '1234');
    expect(back.metadata.resourceVersion).toBe('1234');
    expect({ ...back, metadata: { ...back.metadata, resourceVersion: '99' } }).toEqual(r);
    expect(fromStored(stored).metadata.resourceVersion).toBeUndefined();
  });

  it('refuses corrupt stored values', () => {
    expect(() => fromStored('{not json')).toThrow(/not valid JSON/);
    expect(() => fromStored('{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"a"},"spec":{}}')).toThrow(ResourceValidationError);
  });

  it('gives the key parts of namespaced and global kinds', () => {
    const rs = assertValid(parseDocuments(MANIFEST, 'm.yaml'));
    expect(rs.map(storageKeyParts)).toEqual([
      { group: 'projectcalico.org', plural: 'ippools', name: 'pool-a' },
      { group: 'projectcalico.org', plural: 'globalnetworkpolicies', name: 'security.allow-dns' },
      { group: 'networking.k8s.io', plural: 'networkpolicies', namespace: 'prod', name: 'deny-all' },
      { group: 'core', plural: 'namespaces', name: 'prod' },
    ]);
  });
});

describe('kind registry', () => {
  it.each([
    ['IPPool', 'ippools', false],
    ['ippool', 'ippools', false],
    ['pool', 'ippools', false],
    ['bgpconfig', 'bgpconfigurations', false],
    ['BGPConfiguration', 'bgpconfigurations', false],
    ['bgppeer', 'bgppeers', false],
    ['node', 'nodes', false],
    ['policy', 'networkpolicies', true],
    ['netpol', 'networkpolicies', true],
    ['NetworkPolicy', 'networkpolicies', true],
    ['gnp', 'globalnetworkpolicies', false],
    ['hep', 'hostendpoints', false],
    ['wep', 'workloadendpoints', true],
    ['profile', 'profiles', false],
    ['ns', 'namespaces', false],
  ])('%s -> %s', (alias, plural, namespaced) => {
    const info = kindInfo(alias);
    expect(info.plural).toBe(plural);
    expect(info.namespaced).toBe(namespaced);
  });

  it('resolves NetworkPolicy to Calico and knp to Kubernetes', () => {
    expect(kindInfo('networkpolicy')).toMatchObject({ apiVersion: 'projectcalico.org/v3', group: 'projectcalico.org' });
    expect(kindInfo('knp')).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', group: 'networking.k8s.io' });
  });

  it('gives the KindInfo of a resource by apiVersion and kind', () => {
    expect(kindInfoOf({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }).group).toBe('networking.k8s.io');
    expect(kindInfoOf({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy' }).group).toBe('projectcalico.org');
  });

  it('lists the known kinds when the alias is unknown', () => {
    expect(() => kindInfo('widgets')).toThrow(UnknownKindError);
    expect(() => kindInfo('widgets')).toThrow(/known kinds: IPPool, BGPConfiguration/);
  });

  it('has no alias shared by two kinds', () => {
    const aliases = allKinds().flatMap((k) => k.shortNames);
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(allKinds()).toHaveLength(11);
  });
});
