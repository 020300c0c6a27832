/**
 * Typed shapes of the resources tabby stores. Field names follow Calico's
 * projectcalico.org/v3 API (and Kubernetes' for networking.k8s.io/v1 NetworkPolicy and v1
 * Namespace) so that YAML written for calicoctl/kubectl reads the same here. Optional fields
 * are optional; `withDefaults` fills the ones Calico defaults.
 */

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const K8S_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
export const K8S_CORE_API_VERSION = 'v1';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  creationTimestamp?: string;
  /** Never stored: filled from the etcd mod revision when read. */
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

// ---- shared value types -------------------------------------------------------------

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';
/** Calico's numorstring.Protocol: a name, or a number 1..255. */
export type Protocol = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite' | number;
/** Calico's numorstring.Port: a number, a "min:max" range, or a named port. */
export type Port = number | string;
export type Action = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type PolicyType = 'Ingress' | 'Egress';

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface ServiceMatch {
  name?: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
}

export interface HTTPMatch {
  methods?: string[];
  paths?: Array<{ exact?: string; prefix?: string }>;
}

export interface Rule {
  action: Action;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HTTPMatch;
  metadata?: { annotations?: Record<string, string> };
}

// ---- projectcalico.org/v3 -----------------------------------------------------------

export interface IPPoolSpec {
  cidr: string;
  vxlanMode?: EncapMode;
  ipipMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  blockSize?: number;
  nodeSelector?: string;
  allowedUses?: Array<'Workload' | 'Tunnel' | 'LoadBalancer'>;
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface Community {
  name: string;
  value: string;
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  nodeToNodeMeshEnabled?: boolean;
  /** AS number, 0..4294967295 (YAML may say "64512" or asdot "1.10"; stored as a number). */
  asNumber?: number;
  listenPort?: number;
  bindMode?: 'None' | 'NodeIP';
  serviceClusterIPs?: Array<{ cidr: string }>;
  serviceExternalIPs?: Array<{ cidr: string }>;
  serviceLoadBalancerIPs?: Array<{ cidr: string }>;
  communities?: Community[];
  prefixAdvertisements?: Array<{ cidr: string; communities?: string[] }>;
  ignoredInterfaces?: string[];
  nodeMeshMaxRestartTime?: string;
  nodeMeshPassword?: SecretSource;
}

export interface SecretSource {
  secretKeyRef: { name: string; key: string; optional?: boolean };
}

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number;
  password?: SecretSource;
  sourceAddress?: 'UseNodeIP' | 'None';
  keepaliveTime?: string;
  maxRestartTime?: string;
  keepOriginalNextHop?: boolean;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  /** Names of BGPFilter resources applied to this peering. */
  filters?: string[];
}

export interface NodeSpec {
  bgp?: {
    asNumber?: number;
    ipv4Address?: string;
    ipv6Address?: string;
    ipv4IPIPTunnelAddr?: string;
    routeReflectorClusterID?: string;
  };
  ipv4VXLANTunnelAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  orchRefs?: Array<{ nodeName?: string; orchestrator: string }>;
  addresses?: Array<{ address: string; type?: 'InternalIP' | 'ExternalIP' | 'CalicoNodeIP' }>;
}

export interface PolicySpecCommon {
  tier?: string;
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
  performanceHints?: Array<'AssumeNeededOnEveryNode'>;
}

export type NetworkPolicySpec = PolicySpecCommon;

export interface GlobalNetworkPolicySpec extends PolicySpecCommon {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface HostEndpointSpec {
  node: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node: string;
  containerID?: string;
  pod?: string;
  endpoint: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: Array<{ internalIP: string; externalIP: string }>;
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName: string;
  mac?: string;
  ports?: Array<{ name?: string; protocol: Protocol; port: number; hostPort?: number; hostIP?: string }>;
  allowSpoofedSourcePrefixes?: string[];
}

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

// ---- Kubernetes --------------------------------------------------------------------

export interface K8sLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface K8sNetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface K8sNetworkPolicyPeer {
  podSelector?: K8sLabelSelector;
  namespaceSelector?: K8sLabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface K8sNetworkPolicySpec {
  podSelector: K8sLabelSelector;
  policyTypes?: PolicyType[];
  ingress?: Array<{ from?: K8sNetworkPolicyPeer[]; ports?: K8sNetworkPolicyPort[] }>;
  egress?: Array<{ to?: K8sNetworkPolicyPeer[]; ports?: K8sNetworkPolicyPort[] }>;
}

export interface NamespaceSpec {
  finalizers?: string[];
}

// ---- the union ---------------------------------------------------------------------

interface Obj<A extends string, K extends string, S> {
  apiVersion: A;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

type Calico<K extends string, S> = Obj<typeof CALICO_API_VERSION, K, S>;

export type IPPool = Calico<'IPPool', IPPoolSpec>;
export type BGPConfiguration = Calico<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeer = Calico<'BGPPeer', BGPPeerSpec>;
export type CalicoNode = Calico<'Node', NodeSpec>;
export type NetworkPolicy = Calico<'NetworkPolicy', NetworkPolicySpec>;
export type GlobalNetworkPolicy = Calico<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;
export type HostEndpoint = Calico<'HostEndpoint', HostEndpointSpec>;
export type WorkloadEndpoint = Calico<'WorkloadEndpoint', WorkloadEndpointSpec>;
export type Profile = Calico<'Profile', ProfileSpec>;
export type K8sNetworkPolicy = Obj<typeof K8S_NETWORKING_API_VERSION, 'NetworkPolicy', K8sNetworkPolicySpec>;
export type Namespace = Obj<typeof K8S_CORE_API_VERSION, 'Namespace', NamespaceSpec>;

export type Resource =
  | IPPool
  | BGPConfiguration
  | BGPPeer
  | CalicoNode
  | NetworkPolicy
  | GlobalNetworkPolicy
  | HostEndpoint
  | WorkloadEndpoint
  | Profile
  | K8sNetworkPolicy
  | Namespace;
