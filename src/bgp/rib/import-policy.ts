/**
 * Turns a received UPDATE into groups of announced prefixes (one attributes object per group)
 * and withdrawals for one peer, with the loop checks only the RIB can make (RFC 4271 §9.1.2
 * AS loop, RFC 4456 §8 ORIGINATOR_ID and CLUSTER_LIST).
 */
import { effectiveAsPath, type PathAttributes, type Prefix, type UpdateMessage } from '../wire/index.js';
import type { PathSource, RejectedRoute, RibConfig } from './types.js';

/** Announcements that share their attributes: every NLRI of one UPDATE (per family). */
export interface ImportedRoutes {
  attributes: PathAttributes;
  prefixes: Prefix[];
}

export interface ImportResult {
  /** At most two groups (IPv4 NLRI, MP_REACH NLRI), each with one attributes object for all its prefixes. */
  accepted: ImportedRoutes[];
  withdrawn: Prefix[];
  rejected: RejectedRoute[];
}

export function importUpdate(
  update: UpdateMessage,
  source: Extract<PathSource, { kind: 'peer' }>,
  config: RibConfig,
  opts: { withdrawnDueToError?: Prefix[]; fourOctetAs?: boolean } = {},
): ImportResult {
  const a = update.attributes;
  const withdrawn: Prefix[] = [...update.withdrawn, ...(a.mpUnreach?.withdrawn ?? []), ...(opts.withdrawnDueToError ?? [])];
  const rejected: RejectedRoute[] = [];
  const announced: Array<{ prefixes: Prefix[]; nextHop: string | undefined }> = [];
  if (update.nlri.length > 0) announced.push({ prefixes: update.nlri, nextHop: a.nextHop });
  if (a.mpReach && a.mpReach.nlri.length > 0) announced.push({ prefixes: a.mpReach.nlri, nextHop: a.mpReach.nextHop });
  if (announced.length === 0) return { accepted: [], withdrawn, rejected };

  // Rest, not spread-then-delete: `delete` turns the object into a slow dictionary, and the
  // RIB shares it between the group's prefixes (read per prefix downstream).
  const { mpReach: _reach, mpUnreach: _unreach, as4Path: _as4Path, as4Aggregator: _as4Aggregator, aggregator: _aggregator, ...rest } = a;
  const eff = effectiveAsPath(a, opts.fourOctetAs ?? true);
  const base: PathAttributes = { ...rest, asPath: eff.asPath };
  if (eff.aggregator) base.aggregator = eff.aggregator;

  const loop = loopReason(base, source, config);
  const accepted: ImportedRoutes[] = [];
  for (const { prefixes, nextHop } of announced) {
    const reason = loop ?? (nextHop === undefined ? 'no-next-hop' : undefined);
    if (reason) {
      for (const prefix of prefixes) {
        rejected.push({ peerId: source.peerId, prefix, reason });
        withdrawn.push(prefix); // a rejected announcement replaces (= removes) the previous one
      }
      continue;
    }
    // One attributes object for the whole group: the RIB shares it between the prefixes.
    accepted.push({ attributes: { ...base, nextHop: nextHop! }, prefixes });
  }
  return { accepted, withdrawn, rejected };
}

function loopReason(a: PathAttributes, source: Extract<PathSource, { kind: 'peer' }>, config: RibConfig): RejectedRoute['reason'] | undefined {
  if (!source.ibgp && (a.asPath ?? []).some((s) => s.asns.includes(config.localAs))) return 'as-path-loop';
  if (source.ibgp && a.originatorId === config.routerId) return 'originator-id-loop';
  if (source.ibgp && config.clusterId !== undefined && (a.clusterList ?? []).includes(config.clusterId)) return 'cluster-list-loop';
  return undefined;
}
