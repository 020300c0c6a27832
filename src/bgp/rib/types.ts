/**
 * The RIB's inputs and outputs. The RIB is a state machine whose only way in is
 * Rib.apply(event) and whose only way out is the RibChanges it returns: Loc-RIB best-path
 * changes for the dataplane and per-peer Adj-RIB-Out deltas for the sessions.
 */
import type { GracefulRestartFamily, PathAttributes, Prefix, UpdateMessage } from '../wire/index.js';

export interface Family {
  afi: number;
  safi: number;
}

export interface RibConfig {
  localAs: number;
  /** Our BGP identifier: tie-break value of local paths and the ORIGINATOR_ID loop check. */
  routerId: string;
  /** Set to act as a route reflector (RFC 4456) with this CLUSTER_ID. */
  clusterId?: string;
  /** LOCAL_PREF assumed for paths without one (eBGP-learned, local). Default 100. */
  defaultLocalPref?: number;
}

/** A peer as the RIB knows it once its session is established. */
export interface RibPeer {
  /** Stable key, normally the peer address. */
  id: string;
  /** Peer address: the last tie-break (RFC 4271 §9.1.2.2 g). */
  address: string;
  asn: number;
  /** The peer's BGP identifier from its OPEN. */
  routerId: string;
  /** Our IPv4 address on this session: NEXT_HOP when we set ourselves as next hop. */
  localAddress: string;
  /** Our IPv6 address for IPv6 next hops; without it IPv6 routes are not sent to this peer. */
  localAddress6?: string;
  /** A route reflector client of ours (only meaningful with RibConfig.clusterId). */
  routeReflectorClient?: boolean;
  /** Set ourselves as NEXT_HOP for eBGP-learned routes sent to this iBGP peer. */
  nextHopSelf?: boolean;
  /** Families negotiated with this peer; default IPv4 unicast. */
  families?: Family[];
  /** The peer's graceful restart capability, when both sides negotiated it (RFC 4724). */
  gracefulRestart?: { restartTime: number; families: GracefulRestartFamily[] };
}

export type PathSource =
  | { kind: 'local' }
  | { kind: 'peer'; peerId: string; address: string; asn: number; routerId: string; ibgp: boolean; routeReflectorClient: boolean };

/** One path to a prefix in an Adj-RIB-In (or our own). */
export interface Path {
  prefix: Prefix;
  source: PathSource;
  /**
   * Attributes as the decision process sees them: the effective AS path (RFC 6793 merge
   * done), NEXT_HOP set for both families, no MP_REACH/MP_UNREACH/AS4_* attributes.
   */
  attributes: PathAttributes;
  /** Kept for a gracefully restarting peer, awaiting its End-of-RIB (RFC 4724). */
  stale: boolean;
}

/** The step of the decision process that picked the best path (RFC 4271 §9.1.2.2 and common practice). */
export type DecisionStep =
  | 'only-path'
  | 'local-pref'
  | 'locally-originated'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'router-id'
  | 'cluster-list-length'
  | 'peer-address';

export interface LocRibChange {
  prefix: Prefix;
  /**
   * The new best path (without its prefix, which is `prefix`: the RIB's own shared path
   * object, so a full feed does not allocate one per prefix), or null when the prefix is gone.
   */
  best: Omit<Path, 'prefix'> | null;
  /** Why `best` won ('withdrawn' when there is none left). */
  reason: DecisionStep | 'withdrawn';
}

export interface OutboundRoute {
  prefix: Prefix;
  /** Attributes to send (NEXT_HOP holds the next hop for IPv6 too; the packer builds MP_REACH). */
  attributes: PathAttributes;
}

export interface AdjRibOutDelta {
  peerId: string;
  announce: OutboundRoute[];
  withdraw: Prefix[];
  /** Send End-of-RIB for these families after the routes (initial table, RFC 4724). */
  endOfRib?: Family[];
}

export interface RejectedRoute {
  peerId: string;
  prefix: Prefix;
  reason: 'as-path-loop' | 'originator-id-loop' | 'cluster-list-loop' | 'no-next-hop' | 'update-error';
}

export interface RibChanges {
  best: LocRibChange[];
  /**
   * For each entry of `best`, at the same index, the best path it replaced (without its
   * prefix; null when the prefix had none), as BIRD's rte_announce(new, old) or GoBGP's
   * old known paths: a consumer can tell what really changed for it (say, the next hop)
   * without keeping its own copy of the Loc-RIB.
   */
  replaced: Array<Omit<Path, 'prefix'> | null>;
  out: AdjRibOutDelta[];
  rejected: RejectedRoute[];
  /**
   * A peer went down gracefully: feed apply({type:'stale-timer-expired'}) after
   * restartTime seconds. Keep the timer running when the peer comes back: it then bounds
   * the wait for its End-of-RIB (what is no longer stale is unaffected).
   */
  staleTimer?: { peerId: string; restartTime: number };
  /** Stale paths removed, per peer (after End-of-RIB, timer expiry or a restart without GR). */
  swept: Array<{ peerId: string; count: number }>;
}

export type RibEvent =
  | { type: 'peer-up'; peer: RibPeer }
  | { type: 'peer-down'; peerId: string; graceful: boolean }
  | {
      type: 'update';
      peerId: string;
      update: UpdateMessage;
      /** From the codec (RFC 7606 treat-as-withdraw). */
      withdrawnDueToError?: Prefix[];
      /** Whether the session speaks 4-octet ASNs (for the AS4_PATH merge). Default true. */
      fourOctetAs?: boolean;
    }
  | { type: 'stale-timer-expired'; peerId: string }
  | { type: 'originate'; prefix: Prefix; attributes?: Pick<PathAttributes, 'origin' | 'med' | 'localPref' | 'communities'> }
  | { type: 'withdraw-local'; prefix: Prefix }
  /** The peer asked for our routes again (ROUTE-REFRESH, RFC 2918): resend its Adj-RIB-Out for the family. */
  | { type: 'route-refresh'; peerId: string; afi: number; safi: number };
