/**
 * The typed BGP messages the codec produces and consumes. These are the only shapes the
 * FSM, RIB and speaker need to know; bytes stay inside src/bgp/wire.
 */

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;
/** RFC 6793: stands in for a 4-octet AS in 2-octet fields. */
export const AS_TRANS = 23456;

export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654, only once both sides advertised the Extended Message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

/**
 * A prefix: `prefix` is the network address as text (dotted quad for IPv4, RFC 5952 for
 * IPv6) with host bits zero, `length` the prefix length. The family is the one of the
 * field that carries it (IPv6 text always contains ':').
 */
export interface Prefix {
  prefix: string;
  length: number;
}

/** Per-session facts the codec needs; the FSM fills them in once OPENs are exchanged. */
export interface CodecContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): ASNs are 4 bytes. */
  fourOctetAs: boolean;
  /** The peer is external (eBGP): LOCAL_PREF is dropped, ORIGINATOR_ID/CLUSTER_LIST are errors. */
  ebgp?: boolean;
  /** Both sides advertised Extended Message (RFC 8654): messages may reach 65535 bytes. */
  extendedMessages?: boolean;
}

// ---- OPEN ----

export interface MultiprotocolCapability {
  kind: 'multiprotocol';
  afi: number;
  safi: number;
}
export interface RouteRefreshCapability {
  kind: 'route-refresh';
}
export interface FourOctetAsCapability {
  kind: 'four-octet-as';
  asn: number;
}
export interface GracefulRestartFamily {
  afi: number;
  safi: number;
  /** F bit: forwarding state for this family was preserved across the restart. */
  forwardingPreserved: boolean;
}
export interface GracefulRestartCapability {
  kind: 'graceful-restart';
  /** R bit: the sender has restarted. */
  restarting: boolean;
  /** N bit (RFC 8538): graceful restart also applies to NOTIFICATIONs. */
  notification: boolean;
  /** Seconds, 0..4095. */
  restartTime: number;
  families: GracefulRestartFamily[];
}
/** Any other capability, kept as bytes so it can be logged or echoed back. */
export interface UnknownCapability {
  kind: 'unknown';
  code: number;
  value: Buffer;
}
export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | FourOctetAsCapability
  | GracefulRestartCapability
  | UnknownCapability;

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  GracefulRestart: 64,
  FourOctetAs: 65,
} as const;

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-octet My AS field as sent (AS_TRANS when the real AS needs 4 octets). */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
}

// ---- UPDATE ----

export type Origin = 'igp' | 'egp' | 'incomplete';
export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}
export interface Aggregator {
  asn: number;
  address: string;
}

/** MP_REACH_NLRI for IPv4 or IPv6 unicast (other families are ignored on receive). */
export interface MpReach {
  afi: number;
  safi: number;
  nextHop: string;
  /** Second IPv6 next hop (32-byte form): the link-local address. */
  linkLocalNextHop?: string;
  nlri: Prefix[];
}
/** MP_UNREACH_NLRI. `withdrawn` is empty for an End-of-RIB marker of any family. */
export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
}

/** An attribute the codec does not model, kept as received (flags without Extended Length). */
export interface RawAttribute {
  flags: number;
  typeCode: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities as 32-bit numbers (high 16 bits AS, low 16 bits value). */
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** RFC 6793, only meaningful on 2-octet sessions; see effectiveAsPath(). */
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  /** Unrecognized optional transitive attributes, by ascending type code. */
  unknown?: RawAttribute[];
}

export interface UpdateMessage {
  type: 'update';
  /** IPv4 unicast withdrawn routes. */
  withdrawn: Prefix[];
  attributes: PathAttributes;
  /** IPv4 unicast NLRI. */
  nlri: Prefix[];
}

// ---- NOTIFICATION, KEEPALIVE, ROUTE-REFRESH ----

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Buffer;
}
export interface KeepaliveMessage {
  type: 'keepalive';
}
export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313: 0 normal request, 1 begin of route refresh, 2 end of route refresh. */
  subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
