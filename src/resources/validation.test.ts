import { describe, expect, it } from 'vitest';
import { parseDocuments } from './documents.js';
import { ResourceValidationError } from './errors.js';
import { validateResource } from './validate.js';

const calico = (kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata,
  spec,
});
const pool = (spec: Record<string, unknown>) => calico('IPPool', { cidr: '10.1.0.0/16', ...spec }, { name: 'p' });
const peer = (spec: Record<string, unknown>) => calico('BGPPeer', spec, { name: 'peer1' });
const gnp = (spec: Record<string, unknown>, name = 'pol') => calico('GlobalNetworkPolicy', spec, { name });
const rule = (r: Record<string, unknown>) => gnp({ ingress: [{ action: 'Allow', ...r }] });
const knp = (spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'k', namespace: 'ns1' },
  spec: { podSelector: {}, ...spec },
});

/** [description, object, expected path, message fragment] — each a distinct kind of mistake. */
const MISTAKES: Array<[string, unknown, string, string]> = [
  // envelope
  ['not an object', 'hello', '', 'must be an object'],
  ['unknown top-level field', { ...pool({}), status: {} }, 'status', 'unknown field "status"'],
  ['missing kind', { apiVersion: 'projectcalico.org/v3', metadata: { name: 'a' }, spec: {} }, 'kind', 'is required'],
  ['unknown kind', calico('IPPoolz', {}), 'kind', 'unknown kind "IPPoolz"'],
  ['kind in wrong case', calico('ippool', {}), 'kind', 'did you mean IPPool?'],
  ['wrong apiVersion', { ...pool({}), apiVersion: 'projectcalico.org/v1' }, 'apiVersion', 'use projectcalico.org/v3'],
  ['k8s apiVersion on a Calico-only kind', { ...pool({}), apiVersion: 'networking.k8s.io/v1' }, 'apiVersion', 'not an apiVersion of kind IPPool'],
  ['missing metadata', { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', spec: { cidr: '10.0.0.0/16' } }, 'metadata', 'is required'],
  ['missing name', calico('IPPool', { cidr: '10.0.0.0/16' }, {}), 'metadata.name', 'is required'],
  ['uppercase name', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'Pool1' }), 'metadata.name', 'lowercase'],
  ['name too long', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'a'.repeat(254) }), 'metadata.name', 'at most 253'],
  ['namespace on a global kind', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', namespace: 'x' }), 'metadata.namespace', 'not namespaced'],
  ['unknown metadata field', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', owner: 'me' }), 'metadata.owner', 'unknown field'],
  ['bad label key', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: { 'bad key': 'v' } }), 'metadata.labels["bad key"]', 'label key'],
  ['bad label value', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: { a: 'has space' } }), 'metadata.labels.a', 'label value'],
  ['non-string label value', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: { a: 5 } }), 'metadata.labels.a', 'expected a string'],
  ['missing spec', { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' } }, 'spec', 'is required for IPPool'],
  // IPPool
  ['unmasked pool CIDR', pool({ cidr: '10.0.0.1/24' }), 'spec.cidr', '10.0.0.1/24 is not masked: did you mean 10.0.0.0/24?'],
  ['unmasked IPv6 pool CIDR', pool({ cidr: 'fd00::1/64' }), 'spec.cidr', 'did you mean fd00::/64?'],
  ['garbage CIDR', pool({ cidr: '10.0.0.0/33' }), 'spec.cidr', 'is not a valid CIDR'],
  ['missing pool CIDR', calico('IPPool', {}, { name: 'p' }), 'spec.cidr', 'is required'],
  ['IPv4 blockSize out of range', pool({ blockSize: 19 }), 'spec.blockSize', 'allowed: 20 to 32'],
  ['IPv6 blockSize out of range', pool({ cidr: 'fd00::/64', blockSize: 64 }), 'spec.blockSize', 'allowed: 116 to 128'],
  ['block larger than pool', pool({ cidr: '10.0.0.0/28' }), 'spec.blockSize', 'does not fit in the /28 pool'],
  ['bad ipipMode', pool({ ipipMode: 'Sometimes' }), 'spec.ipipMode', 'allowed values: Never, Always, CrossSubnet'],
  ['IPIP and VXLAN both on', pool({ ipipMode: 'Always', vxlanMode: 'CrossSubnet' }), 'spec.ipipMode', 'cannot both be enabled'],
  ['IPIP on IPv6', pool({ cidr: 'fd00::/64', ipipMode: 'Always' }), 'spec.ipipMode', 'not supported on an IPv6 pool'],
  ['link-local pool', pool({ cidr: '169.254.0.0/24' }), 'spec.cidr', 'link-local'],
  ['pool covering link-local', pool({ cidr: '128.0.0.0/1' }), 'spec.cidr', 'link-local'],
  ['invalid nodeSelector', pool({ nodeSelector: 'x ==' }), 'spec.nodeSelector', 'expected a quoted string at position 4'],
  ['natOutgoing not a bool', pool({ natOutgoing: 'yes' }), 'spec.natOutgoing', 'expected true or false'],
  ['blockSize as a string', pool({ blockSize: '26' }), 'spec.blockSize', 'expected an integer'],
  ['unknown spec field', pool({ ipip: { enabled: true } }), 'spec.ipip', 'allowed fields: cidr'],
  ['field named like an Object method', pool({ valueOf: 1 }), 'spec.valueOf', 'unknown field "valueOf"'],
  ['__proto__ label key', calico('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: JSON.parse('{"__proto__": "x"}') as unknown }), 'metadata.labels.__proto__', 'label key'],
  ['bad allowedUses', pool({ allowedUses: ['Workload', 'Printing'] }), 'spec.allowedUses[1]', 'allowed values: Workload, Tunnel, LoadBalancer'],
  // BGPConfiguration
  ['listenPort out of range', calico('BGPConfiguration', { listenPort: 70000 }, { name: 'default' }), 'spec.listenPort', 'allowed: 1 to 65535'],
  ['bad log severity', calico('BGPConfiguration', { logSeverityScreen: 'Verbose' }, { name: 'default' }), 'spec.logSeverityScreen', 'Debug, Info, Warning, Error, Fatal'],
  ['AS number too large', calico('BGPConfiguration', { asNumber: 4294967296 }, { name: 'default' }), 'spec.asNumber', 'out of range'],
  ['AS number garbage', calico('BGPConfiguration', { asNumber: 'AS64512' }, { name: 'default' }), 'spec.asNumber', 'not an AS number'],
  ['unquoted asdot read as a float', calico('BGPConfiguration', { asNumber: 1.1 }, { name: 'default' }), 'spec.asNumber', 'in quotes'],
  ['asdot part too large', calico('BGPConfiguration', { asNumber: '1.70000' }, { name: 'default' }), 'spec.asNumber', 'asdot'],
  ['bad BGPConfiguration name', calico('BGPConfiguration', {}, { name: 'mine' }), 'metadata.name', '"default"'],
  ['cluster-only field on node config', calico('BGPConfiguration', { asNumber: 65000 }, { name: 'node.n1' }), 'spec.asNumber', 'only be set in the cluster-wide'],
  ['bad community value', calico('BGPConfiguration', { communities: [{ name: 'c', value: '1:2:3:4' }] }, { name: 'default' }), 'spec.communities[0].value', 'not a BGP community'],
  // BGPPeer
  ['peerIP not an address', peer({ peerIP: '10.0.0.300', asNumber: 64512 }), 'spec.peerIP', 'not a peer address'],
  ['peerIP with bad port', peer({ peerIP: '10.0.0.1:0', asNumber: 64512 }), 'spec.peerIP', 'port 1-65535'],
  ['peer without asNumber', peer({ peerIP: '10.0.0.1' }), 'spec.asNumber', 'required unless peerSelector'],
  ['peer without peerIP', peer({ asNumber: 64512 }), 'spec.peerIP', 'required unless peerSelector'],
  ['node and nodeSelector', peer({ peerIP: '10.0.0.1', asNumber: 1, node: 'n1', nodeSelector: 'all()' }), 'spec.node', 'cannot both be set'],
  ['peerIP and peerSelector', peer({ peerIP: '10.0.0.1', peerSelector: 'all()' }), 'spec.peerIP', 'cannot both be set'],
  ['asNumber with peerSelector', peer({ asNumber: 64512, peerSelector: 'rr == "true"' }), 'spec.asNumber', 'must be empty when peerSelector'],
  ['bad duration', peer({ peerIP: '10.0.0.1', asNumber: 1, keepaliveTime: '30 seconds' }), 'spec.keepaliveTime', 'not a duration'],
  ['bad peerSelector', peer({ peerSelector: 'rr == ' }), 'spec.peerSelector', 'invalid selector'],
  // Node
  ['node ipv4Address not an address', calico('Node', { bgp: { ipv4Address: '10.0.0/24' } }, { name: 'n1' }), 'spec.bgp.ipv4Address', 'not an IPv4 address with prefix length'],
  ['IPv6 in ipv4Address', calico('Node', { bgp: { ipv4Address: 'fd00::1/64' } }, { name: 'n1' }), 'spec.bgp.ipv4Address', 'IPv4'],
  ['bad routeReflectorClusterID', calico('Node', { bgp: { ipv4Address: '10.0.0.1/24', routeReflectorClusterID: '1' } }, { name: 'n1' }), 'spec.bgp.routeReflectorClusterID', 'IPv4 address'],
  ['empty node bgp', calico('Node', { bgp: {} }, { name: 'n1' }), 'spec.bgp', 'must not be empty'],
  // policies and rules
  ['bad rule action', rule({ action: 'Accept' }), 'spec.ingress[0].action', 'Allow, Deny, Log, Pass'],
  ['rule without action', gnp({ ingress: [{ protocol: 'TCP' }] }), 'spec.ingress[0].action', 'is required'],
  ['bad protocol name', rule({ protocol: 'TCPP' }), 'spec.ingress[0].protocol', 'not a protocol'],
  ['protocol number out of range', rule({ protocol: 256 }), 'spec.ingress[0].protocol', 'allowed: 1 to 255'],
  ['ports without a protocol', rule({ destination: { ports: [80] } }), 'spec.ingress[0].destination.ports', 'only allowed with protocol TCP, UDP, SCTP'],
  ['ports with ICMP', rule({ protocol: 'ICMP', source: { notPorts: [80] } }), 'spec.ingress[0].source.notPorts', 'protocol ICMP has no ports'],
  ['port out of range', rule({ protocol: 'TCP', destination: { ports: [80, 65536] } }), 'spec.ingress[0].destination.ports[1]', 'allowed: 1 to 65535'],
  ['reversed port range', rule({ protocol: 'TCP', destination: { ports: ['90:80'] } }), 'spec.ingress[0].destination.ports[0]', 'reversed'],
  ['bad named port', rule({ protocol: 'TCP', destination: { ports: ['HTTP_PORT'] } }), 'spec.ingress[0].destination.ports[0]', 'not a port'],
  ['bad rule CIDR', rule({ source: { nets: ['10.0.0.0/8', 'ten'] } }), 'spec.ingress[0].source.nets[1]', 'not a valid CIDR'],
  ['mixed IP versions', rule({ source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['fd00::/8'] } }), 'spec.ingress[0].destination.nets', 'mixes IPv4 and IPv6'],
  ['ipVersion mismatch', rule({ ipVersion: 6, source: { nets: ['10.0.0.0/8'] } }), 'spec.ingress[0].source.nets', 'ipVersion 6'],
  ['bad ipVersion', rule({ ipVersion: 5 }), 'spec.ingress[0].ipVersion', 'allowed values: 4, 6'],
  ['icmp without ICMP protocol', rule({ protocol: 'TCP', icmp: { type: 8 } }), 'spec.ingress[0].icmp', 'need protocol ICMP'],
  ['icmp code without type', rule({ protocol: 'ICMP', icmp: { code: 0 } }), 'spec.ingress[0].icmp.code', 'needs an ICMP type'],
  ['invalid rule selector', rule({ source: { selector: "app = 'x'" } }), 'spec.ingress[0].source.selector', "unexpected '='"],
  ['global() in a rule selector', rule({ source: { selector: 'global()' } }), 'spec.ingress[0].source.selector', 'only be used in a rule\'s namespaceSelector'],
  ['global() combined in namespaceSelector', rule({ source: { namespaceSelector: 'global() && has(x)' } }), 'spec.ingress[0].source.namespaceSelector', 'must be the whole namespaceSelector'],
  ['unknown rule field', rule({ destination: { port: 80 } }), 'spec.ingress[0].destination.port', 'unknown field "port"'],
  ['bad policy type', gnp({ types: ['Inbound'] }), 'spec.types[0]', 'allowed values: Ingress, Egress'],
  ['duplicate policy type', gnp({ types: ['Ingress', 'Ingress'] }), 'spec.types[1]', 'more than once'],
  ['order not a number', gnp({ order: 'first' }), 'spec.order', 'expected a number'],
  ['invalid policy selector', gnp({ selector: 'has(' }), 'spec.selector', 'invalid selector'],
  ['policy name with wrong tier prefix', gnp({ tier: 'security' }, 'allow-dns'), 'metadata.name', 'must be named "security.<name>"'],
  ['policy prefix not its tier', gnp({}, 'security.allow-dns'), 'metadata.name', 'does not match the policy\'s tier "default"'],
  ['policy name with dots', gnp({}, 'default.a.b'), 'metadata.name', 'DNS-1123 label'],
  ['preDNAT and doNotTrack', gnp({ preDNAT: true, doNotTrack: true, applyOnForward: true }), 'spec.preDNAT', 'cannot both be true'],
  ['preDNAT without applyOnForward', gnp({ preDNAT: true }), 'spec.applyOnForward', 'must be true'],
  ['preDNAT with egress', gnp({ preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] }), 'spec.egress', 'cannot have egress rules'],
  ['namespaced policy with bad namespace', calico('NetworkPolicy', {}, { name: 'p', namespace: 'Prod' }), 'metadata.namespace', 'DNS-1123 label'],
  // endpoints and profiles
  ['host endpoint without interface or IPs', calico('HostEndpoint', { node: 'n1' }, { name: 'h' }), 'spec.interfaceName', 'needs one of them'],
  ['host endpoint without node', calico('HostEndpoint', { interfaceName: 'eth0' }, { name: 'h' }), 'spec.node', 'is required'],
  ['host endpoint port with ICMP', calico('HostEndpoint', { node: 'n', interfaceName: 'eth0', ports: [{ name: 'p', protocol: 'ICMP', port: 1 }] }, { name: 'h' }), 'spec.ports[0].protocol', 'has no ports'],
  ['workload network with many addresses', calico('WorkloadEndpoint', { node: 'n', endpoint: 'eth0', interfaceName: 'cali1', ipNetworks: ['10.0.0.0/24'] }, { name: 'w', namespace: 'ns' }), 'spec.ipNetworks[0]', 'more than one address'],
  ['workload bad MAC', calico('WorkloadEndpoint', { node: 'n', endpoint: 'eth0', interfaceName: 'cali1', mac: 'ee:ee' }, { name: 'w' }), 'spec.mac', 'not a MAC address'],
  ['workload interface name too long', calico('WorkloadEndpoint', { node: 'n', endpoint: 'eth0', interfaceName: 'cali0123456789ab' }, { name: 'w' }), 'spec.interfaceName', 'maximum is 15'],
  ['NAT outside the endpoint networks', calico('WorkloadEndpoint', { node: 'n', endpoint: 'e', interfaceName: 'c', ipNetworks: ['10.0.0.1/32'], ipNATs: [{ internalIP: '10.0.0.2', externalIP: '1.1.1.1' }] }, { name: 'w' }), 'spec.ipNATs[0].internalIP', 'not one of the endpoint'],
  ['profile labelsToApply bad key', calico('Profile', { labelsToApply: { '-x': 'y' } }, { name: 'pr' }), 'spec.labelsToApply.-x', 'label key'],
  // Kubernetes
  ['k8s policy without podSelector', { ...knp({}), spec: {} }, 'spec.podSelector', 'is required'],
  ['k8s peer mixing ipBlock and selector', knp({ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }), 'spec.ingress[0].from[0].ipBlock', 'cannot be combined'],
  ['k8s except outside cidr', knp({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] }), 'spec.egress[0].to[0].ipBlock.except[0]', 'strictly inside'],
  ['k8s endPort with named port', knp({ ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }), 'spec.ingress[0].ports[0].endPort', 'numeric port'],
  ['k8s In without values', knp({ podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }), 'spec.podSelector.matchExpressions[0].values', 'must not be empty'],
  ['k8s bad protocol', knp({ ingress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }] }), 'spec.ingress[0].ports[0].protocol', 'allowed values: TCP, UDP, SCTP'],
  ['k8s policyTypes wrong', knp({ policyTypes: ['ingress'] }), 'spec.policyTypes[0]', 'allowed values: Ingress, Egress'],
  ['namespace name with dots', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }, 'metadata.name', 'DNS-1123 label'],
  ['namespace with unknown spec field', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, spec: { x: 1 } }, 'spec.x', 'unknown field'],
];

describe('validation mistakes', () => {
  it('covers at least 30 distinct mistakes', () => {
    expect(new Set(MISTAKES.map((m) => m[0])).size).toBe(MISTAKES.length);
    expect(MISTAKES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(MISTAKES)('%s', (_what, obj, path, fragment) => {
    let err: unknown;
    try {
      validateResource(obj, { source: 'test.yaml', index: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceValidationError);
    const issues = (err as ResourceValidationError).issues;
    const hit = issues.find((i) => i.path === path && i.message.includes(fragment));
    expect(hit, `issues were: ${JSON.stringify(issues, null, 1)}`).toBeDefined();
    expect(hit?.document).toBe('test.yaml document 1');
  });
});

describe('valid inputs are accepted', () => {
  it.each<[string, unknown]>([
    ['minimal pool', pool({})],
    ['IPv6 pool', pool({ cidr: 'fd00:10::/48', blockSize: 122, vxlanMode: 'Always' })],
    ['disabled /32 pool', pool({ cidr: '10.9.9.9/32', blockSize: 32 })],
    ['peer with port', peer({ peerIP: '10.0.0.1:1179', asNumber: '64512' })],
    ['IPv6 peer with port', peer({ peerIP: '[fd00::1]:179', asNumber: '1.10', keepaliveTime: '1m30s' })],
    ['selector peer', peer({ peerSelector: 'has(rr)', nodeSelector: '!has(rr)' })],
    ['node-specific BGP config', calico('BGPConfiguration', { logSeverityScreen: 'Debug', listenPort: 1179 }, { name: 'node.n1' })],
    ['node', calico('Node', { bgp: { ipv4Address: '10.0.0.1/24', routeReflectorClusterID: '224.0.0.1', asNumber: 65001 } }, { name: 'n1' })],
    ['tiered policy', gnp({ tier: 'security', order: 10.5, types: ['Egress'], egress: [{ action: 'Pass' }] }, 'security.allow')],
    ['default-tier prefixed policy', gnp({}, 'default.allow')],
    ['rule with everything', rule({ protocol: 'tcp', notProtocol: 17, ipVersion: 4, source: { nets: ['10.0.0.1'], namespaceSelector: 'global()', serviceAccounts: { names: ['sa'] } }, destination: { ports: [80, '8080', '9000:9100', 'http'], notNets: ['10.1.0.0/16'] } })],
    ['icmpv6 rule', rule({ protocol: 'ICMPv6', ipVersion: 6, icmp: { type: 128, code: 0 } })],
    ['host endpoint', calico('HostEndpoint', { node: 'n1', interfaceName: '*', ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }] }, { name: 'h' })],
    ['workload endpoint', calico('WorkloadEndpoint', { node: 'n', endpoint: 'eth0', interfaceName: 'cali12345678901', ipNetworks: ['10.0.0.1/32', 'fd00::1'], mac: 'ee:ee:ee:ee:ee:ee', profiles: ['kns.default'] }, { name: 'n-k8s-pod-eth0', namespace: 'default' })],
    ['profile', calico('Profile', { ingress: [{ action: 'Allow' }], labelsToApply: { 'projectcalico.org/name': 'x' } }, { name: 'kns.default' })],
    ['k8s policy', knp({ ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } }, namespaceSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80, endPort: 90 }, { port: 'http', protocol: 'UDP' }] }] })],
    ['namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { team: 'a' } } }],
    ['null optional field', calico('IPPool', { cidr: '10.0.0.0/16', nodeSelector: null }, { name: 'p' })],
  ])('%s', (_what, obj) => {
    expect(() => validateResource(obj)).not.toThrow();
  });
});

describe('all problems are reported', () => {
  it('collects several problems from one document and from several documents', () => {
    const text = [
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata: {name: Bad}',
      'spec:',
      '  cidr: 10.0.0.1/16',
      '  ipipMode: Sometimes',
      '---',
      'apiVersion: projectcalico.org/v3',
      'kind: BGPPeer',
      'metadata: {name: p}',
      'spec: {peerIP: 10.0.0.1}',
    ].join('\n');
    const { resources, issues } = parseDocuments(text, 'f.yaml');
    expect(resources).toEqual([]);
    expect(issues.map((i) => [i.document, i.path, i.line])).toEqual([
      ['f.yaml document 1', 'spec.cidr', 5],
      ['f.yaml document 1', 'spec.ipipMode', 6],
      ['f.yaml document 1', 'metadata.name', 3],
      ['f.yaml document 2', 'spec.asNumber', 11],
    ]);
    expect(issues[0]?.resource).toBe('IPPool/Bad');
  });

  it('puts every issue in the thrown error message', () => {
    try {
      validateResource(pool({ cidr: '10.0.0.1/16', ipipMode: 'x' }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ResourceValidationError);
      const msg = (e as ResourceValidationError).message;
      expect(msg).toContain('2 problems');
      expect(msg).toContain('spec.cidr: 10.0.0.1/16 is not masked: did you mean 10.0.0.0/16?');
      expect(msg).toContain('spec.ipipMode:');
      expect((e as ResourceValidationError).code).toBe('RESOURCE_INVALID');
    }
  });
});
