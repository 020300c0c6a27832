/**
 * The table columns `tabby get` prints for each kind, in calicoctl's spirit: a short view
 * by default and more with `-o wide`.
 */
import type { Resource } from '../resources/index.js';

export interface ColumnSet {
  headers: string[];
  row(r: Resource): string[];
}

const str = (v: unknown): string => (v === undefined || v === null || v === '' ? '' : String(v));
const list = (v: readonly unknown[] | undefined): string => (v && v.length ? v.map(String).join(',') : '');
const ns = (r: Resource): string => r.metadata.namespace ?? '';
const name = (r: Resource): string => r.metadata.name;

type Views = { plain: ColumnSet; wide: ColumnSet };

const COLUMNS: Record<string, Views> = {
  IPPool: {
    plain: { headers: ['name', 'cidr', 'selector'], row: (r) => (r.kind === 'IPPool' ? [name(r), r.spec.cidr, str(r.spec.nodeSelector)] : []) },
    wide: {
      headers: ['name', 'cidr', 'nat', 'ipipmode', 'vxlanmode', 'disabled', 'selector'],
      row: (r) =>
        r.kind === 'IPPool'
          ? [name(r), r.spec.cidr, str(r.spec.natOutgoing ?? false), str(r.spec.ipipMode), str(r.spec.vxlanMode), str(r.spec.disabled ?? false), str(r.spec.nodeSelector)]
          : [],
    },
  },
  Node: {
    plain: { headers: ['name'], row: (r) => [name(r)] },
    wide: {
      headers: ['name', 'asn', 'ipv4', 'ipv6', 'rr-cluster-id'],
      row: (r) => (r.kind === 'Node' ? [name(r), str(r.spec.bgp?.asNumber ?? '(64512)'), str(r.spec.bgp?.ipv4Address), str(r.spec.bgp?.ipv6Address), str(r.spec.bgp?.routeReflectorClusterID)] : []),
    },
  },
  BGPPeer: {
    plain: { headers: ['name', 'peerip', 'node', 'asn'], row: (r) => (r.kind === 'BGPPeer' ? [name(r), str(r.spec.peerIP ?? r.spec.peerSelector), str(r.spec.node ?? r.spec.nodeSelector ?? '(global)'), str(r.spec.asNumber)] : []) },
    wide: {
      headers: ['name', 'peerip', 'node', 'asn', 'peerselector', 'nodeselector', 'keepalive'],
      row: (r) => (r.kind === 'BGPPeer' ? [name(r), str(r.spec.peerIP), str(r.spec.node ?? '(global)'), str(r.spec.asNumber), str(r.spec.peerSelector), str(r.spec.nodeSelector), str(r.spec.keepaliveTime)] : []),
    },
  },
  BGPConfiguration: {
    plain: {
      headers: ['name', 'logseverity', 'meshenabled', 'asnumber'],
      row: (r) => (r.kind === 'BGPConfiguration' ? [name(r), str(r.spec.logSeverityScreen), str(r.spec.nodeToNodeMeshEnabled), str(r.spec.asNumber)] : []),
    },
    wide: {
      headers: ['name', 'logseverity', 'meshenabled', 'asnumber', 'listenport'],
      row: (r) => (r.kind === 'BGPConfiguration' ? [name(r), str(r.spec.logSeverityScreen), str(r.spec.nodeToNodeMeshEnabled), str(r.spec.asNumber), str(r.spec.listenPort)] : []),
    },
  },
  NetworkPolicy: {
    plain: { headers: ['namespace', 'name'], row: (r) => [ns(r), name(r)] },
    wide: {
      headers: ['namespace', 'name', 'order', 'selector'],
      row: (r) => (r.kind === 'NetworkPolicy' && 'order' in r.spec ? [ns(r), name(r), str(r.spec.order), str(r.spec.selector)] : [ns(r), name(r), '', '']),
    },
  },
  GlobalNetworkPolicy: {
    plain: { headers: ['name'], row: (r) => [name(r)] },
    wide: { headers: ['name', 'order', 'selector'], row: (r) => (r.kind === 'GlobalNetworkPolicy' ? [name(r), str(r.spec.order), str(r.spec.selector)] : []) },
  },
  HostEndpoint: {
    plain: { headers: ['name', 'node'], row: (r) => (r.kind === 'HostEndpoint' ? [name(r), r.spec.node] : []) },
    wide: {
      headers: ['name', 'node', 'interface', 'ips', 'profiles'],
      row: (r) => (r.kind === 'HostEndpoint' ? [name(r), r.spec.node, str(r.spec.interfaceName), list(r.spec.expectedIPs), list(r.spec.profiles)] : []),
    },
  },
  WorkloadEndpoint: {
    plain: {
      headers: ['namespace', 'workload', 'node', 'networks', 'interface'],
      row: (r) => (r.kind === 'WorkloadEndpoint' ? [ns(r), str(r.spec.workload ?? r.spec.pod), r.spec.node, list(r.spec.ipNetworks), r.spec.interfaceName] : []),
    },
    wide: {
      headers: ['namespace', 'name', 'workload', 'node', 'networks', 'interface', 'profiles'],
      row: (r) => (r.kind === 'WorkloadEndpoint' ? [ns(r), name(r), str(r.spec.workload ?? r.spec.pod), r.spec.node, list(r.spec.ipNetworks), r.spec.interfaceName, list(r.spec.profiles)] : []),
    },
  },
  Profile: {
    plain: { headers: ['name'], row: (r) => [name(r)] },
    wide: { headers: ['name', 'labels-to-apply'], row: (r) => (r.kind === 'Profile' ? [name(r), Object.entries(r.spec.labelsToApply ?? {}).map(([k, v]) => `${k}=${v}`).join(',')] : []) },
  },
  Namespace: {
    plain: { headers: ['name'], row: (r) => [name(r)] },
    wide: { headers: ['name', 'labels'], row: (r) => [name(r), Object.entries(r.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')] },
  },
};

export function columnsFor(kind: string, wide: boolean): ColumnSet {
  const views = COLUMNS[kind] ?? { plain: { headers: ['name'], row: (r: Resource) => [name(r)] }, wide: { headers: ['name'], row: (r: Resource) => [name(r)] } };
  return wide ? views.wide : views.plain;
}
