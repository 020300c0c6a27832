import { AS_TRANS, type Aggregator, type AsPathSegment, type PathAttributes } from '../types.js';
import { asPathLength } from './as-path.js';

/**
 * The AS path and aggregator a route really has (RFC 6793 §4.2.3). On a 4-octet session
 * they are AS_PATH and AGGREGATOR as received. On a 2-octet session AS4_PATH carries the
 * true ASNs of the most recent part of the path: keep the leading ASes of AS_PATH that
 * AS4_PATH does not cover (they were added by 2-octet-only speakers) and append AS4_PATH.
 */
export function effectiveAsPath(attrs: PathAttributes, fourOctetAs: boolean): { asPath: AsPathSegment[]; aggregator?: Aggregator } {
  const asPath = attrs.asPath ?? [];
  const base = attrs.aggregator ? { asPath, aggregator: attrs.aggregator } : { asPath };
  if (fourOctetAs) return base;
  // An AGGREGATOR with a real 2-octet AS means a 2-octet speaker aggregated after the
  // AS4_* attributes were written, so they are stale and ignored.
  if (attrs.aggregator && attrs.aggregator.asn !== AS_TRANS) return base;
  const aggregator = attrs.as4Aggregator ?? attrs.aggregator;
  const withAgg = <T extends object>(o: T): T & { aggregator?: Aggregator } => (aggregator ? { ...o, aggregator } : o);
  const as4 = attrs.as4Path;
  if (!as4) return withAgg({ asPath });
  const total = asPathLength(asPath);
  const covered = asPathLength(as4);
  if (total < covered) return withAgg({ asPath });
  let keep = total - covered;
  const merged: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (seg.type === 'confed-sequence' || seg.type === 'confed-set') {
      if (keep > 0) merged.push(seg);
      continue;
    }
    if (keep === 0) break;
    if (seg.type === 'set') {
      merged.push(seg);
      keep -= 1;
    } else {
      const n = Math.min(keep, seg.asns.length);
      merged.push({ type: 'sequence', asns: seg.asns.slice(0, n) });
      keep -= n;
    }
  }
  for (const seg of as4) {
    const last = merged[merged.length - 1];
    if (last && last.type === 'sequence' && seg.type === 'sequence' && last.asns.length + seg.asns.length <= 255) {
      merged[merged.length - 1] = { type: 'sequence', asns: [...last.asns, ...seg.asns] };
    } else {
      merged.push({ type: seg.type, asns: [...seg.asns] });
    }
  }
  return withAgg({ asPath: merged });
}

/**
 * Attributes ready to send to a 2-octet (OLD) speaker (RFC 6793 §4.2.2): ASNs above 65535
 * become AS_TRANS in AS_PATH/AGGREGATOR, and the true values travel in AS4_PATH (without
 * confederation segments) and AS4_AGGREGATOR. Nothing changes when every AS fits 2 octets.
 */
export function toTwoOctetAttributes(attrs: PathAttributes): PathAttributes {
  const out: PathAttributes = { ...attrs };
  delete out.as4Path;
  delete out.as4Aggregator;
  const big = (asn: number): boolean => asn > 0xffff;
  if (attrs.asPath && attrs.asPath.some((s) => s.asns.some(big))) {
    out.asPath = attrs.asPath.map((s) => ({ type: s.type, asns: s.asns.map((a) => (big(a) ? AS_TRANS : a)) }));
    out.as4Path = attrs.asPath.filter((s) => s.type === 'sequence' || s.type === 'set').map((s) => ({ type: s.type, asns: [...s.asns] }));
  }
  if (attrs.aggregator && big(attrs.aggregator.asn)) {
    out.aggregator = { asn: AS_TRANS, address: attrs.aggregator.address };
    out.as4Aggregator = { ...attrs.aggregator };
  }
  return out;
}
