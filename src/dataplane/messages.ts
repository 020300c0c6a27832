/**
 * The only language the dataplane understands (in the style of felix's felixbackend.proto).
 *
 * Calc computes the desired state of this node and speaks to the dataplane exclusively in
 * these messages; `dataplane/` imports nothing else from `datastore/` or `calc/`. Every
 * `*Update` is a full replacement of the object it names (never a patch), and every object
 * that goes away gets an explicit `*Remove` naming it by the same key, so a driver can keep
 * a plain map of desired state and never has to infer deletions.
 *
 * Keys (what a later message about "the same object" must match):
 *   HostMetadata   hostname
 *   IPPool         id (the pool's name)
 *   Route          dst
 *   WorkloadEndpoint  id (orchestrator, workload, endpoint)
 *
 * Room for policy: `IPSetUpdate/IPSetDeltaUpdate/IPSetRemove` and
 * `ActivePolicyUpdate/ActivePolicyRemove` (and profiles) will join this union; the
 * sequencer already reserves their place in its flush order.
 */

/** Addresses are dotted-quad strings; prefixes are `a.b.c.d/len` with host bits zero. */
export type IPv4Address = string;
export type IPv4Cidr = string;

export interface HostMetadataUpdate {
  type: 'HostMetadataUpdate';
  hostname: string;
  ipv4Addr: IPv4Address;
}

export interface HostMetadataRemove {
  type: 'HostMetadataRemove';
  hostname: string;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface IPPoolUpdate {
  type: 'IPPoolUpdate';
  id: string;
  cidr: IPv4Cidr;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
}

export interface IPPoolRemove {
  type: 'IPPoolRemove';
  id: string;
}

/**
 * What a route's destination is, which decides how a driver programs it:
 *   local-workload   an address of a workload on this node; deliver on `iface`
 *   local-block      a block this node holds affinity for; unknown addresses in it are dropped
 *   remote-block     a block affine to another node; send to `nextHop` (with `encap`)
 *   remote-workload  one address another node borrowed from a block not affine to it
 *   host             a node's own address (`dstNode` says which; may be this node)
 *   bgp              learned from a BGP peer for a destination outside the cluster's pools
 *                    (a ToR's routes, external networks); send to `nextHop`, never
 *                    encapsulated. Cluster routes always come from the datastore instead.
 */
export type RouteType = 'local-workload' | 'local-block' | 'remote-block' | 'remote-workload' | 'host' | 'bgp';

export type RouteEncap = 'none' | 'ipip' | 'vxlan';

export interface RouteUpdate {
  type: 'RouteUpdate';
  dst: IPv4Cidr;
  routeType: RouteType;
  /** The address of the node that owns `dst` (remote-* and host routes), or the BGP next hop (bgp). */
  nextHop?: IPv4Address;
  /** The node that owns `dst` (this node for local-* routes). */
  dstNode?: string;
  /** Host side interface of the workload (local-workload only). */
  iface?: string;
  encap: RouteEncap;
  /** Whether `dstNode` sits in this node's subnet (remote-* routes whose nodes are both known). */
  sameSubnet?: boolean;
}

export interface RouteRemove {
  type: 'RouteRemove';
  dst: IPv4Cidr;
}

export interface WorkloadEndpointId {
  orchestrator: string;
  /** `<namespace>/<pod>` for Kubernetes-style workloads. */
  workload: string;
  endpoint: string;
}

export interface WorkloadEndpointUpdate {
  type: 'WorkloadEndpointUpdate';
  id: WorkloadEndpointId;
  /** Host side interface name (`cali` + 11 hex characters). */
  ifaceName: string;
  mac?: string;
  /** Each a /32. */
  ipv4Nets: IPv4Cidr[];
  labels: Record<string, string>;
  profileIds: string[];
}

export interface WorkloadEndpointRemove {
  type: 'WorkloadEndpointRemove';
  id: WorkloadEndpointId;
}

/**
 * The datastore snapshot has been delivered completely: from here on a driver may delete
 * kernel state that no message asked for (before it, it must only add, or a restarting
 * agent would tear down routes it simply has not been told about yet).
 */
export interface InSync {
  type: 'InSync';
}

export type DataplaneMessage =
  | HostMetadataUpdate
  | HostMetadataRemove
  | IPPoolUpdate
  | IPPoolRemove
  | RouteUpdate
  | RouteRemove
  | WorkloadEndpointUpdate
  | WorkloadEndpointRemove
  | InSync;

export type DataplaneMessageType = DataplaneMessage['type'];

/** `orchestrator/workload/endpoint`; the workload part may itself contain a '/'. */
export function workloadEndpointKey(id: WorkloadEndpointId): string {
  return `${id.orchestrator}/${id.workload}/${id.endpoint}`;
}

/**
 * The identity of the object a message is about, the same for its Update and Remove (e.g.
 * `route:10.0.0.0/26`). Used to coalesce and to key a driver's desired state.
 */
export function messageKey(msg: DataplaneMessage): string {
  switch (msg.type) {
    case 'HostMetadataUpdate':
    case 'HostMetadataRemove':
      return `host:${msg.hostname}`;
    case 'IPPoolUpdate':
    case 'IPPoolRemove':
      return `pool:${msg.id}`;
    case 'RouteUpdate':
    case 'RouteRemove':
      return `route:${msg.dst}`;
    case 'WorkloadEndpointUpdate':
    case 'WorkloadEndpointRemove':
      return `wep:${workloadEndpointKey(msg.id)}`;
    case 'InSync':
      return 'in-sync';
  }
}

export function isRemove(msg: DataplaneMessage): boolean {
  return msg.type.endsWith('Remove');
}
