/**
 * Best-path selection (RFC 4271 §9.1.2.2, plus the steps most implementations add) by
 * elimination: each step keeps only the candidates that are best by its measure, and the
 * step that leaves a single candidate is recorded as the reason. Elimination (rather than
 * pairwise comparison) keeps MED, which only compares paths from the same neighbour AS,
 * deterministic regardless of arrival order.
 */
import { asPathLength, parseIpv4, parseIpv6, type Origin } from '../wire/index.js';
import type { DecisionStep, Path, RibConfig } from './types.js';

const ORIGIN_RANK: Record<Origin, number> = { igp: 0, egp: 1, incomplete: 2 };

/** What the decision reads of a path: the RIB passes its shared (prefix-less) paths. */
export type Candidate = Pick<Path, 'source' | 'attributes'>;

export interface Decision<P extends Candidate = Path> {
  best: P;
  reason: DecisionStep;
}

export function localPrefOf(p: Candidate, config: RibConfig): number {
  const dflt = config.defaultLocalPref ?? 100;
  if (p.source.kind === 'peer' && !p.source.ibgp) return dflt;
  return p.attributes.localPref ?? dflt;
}

/** First AS of the path, or our own AS for internal routes (RFC 4271 §9.1.2.2 c). */
export function neighbourAs(p: Candidate, config: RibConfig): number {
  for (const seg of p.attributes.asPath ?? []) {
    if (seg.type === 'sequence' && seg.asns.length > 0) return seg.asns[0]!;
    if (seg.type === 'set') break;
  }
  return config.localAs;
}

function ipNumber(text: string): bigint {
  const b = parseIpv4(text) ?? parseIpv6(text);
  if (!b) return 0n;
  return BigInt(`0x${b.toString('hex') || '0'}`);
}

/** The identifier used for the router-id tie-break: ORIGINATOR_ID when reflected (RFC 4456 §9). */
function tieBreakId(p: Candidate, config: RibConfig): bigint {
  if (p.attributes.originatorId) return ipNumber(p.attributes.originatorId);
  return ipNumber(p.source.kind === 'local' ? config.routerId : p.source.routerId);
}

const isEbgp = (p: Candidate): boolean => p.source.kind === 'peer' && !p.source.ibgp;

/** Keeps the candidates with the minimum `measure`. */
function keepMin<T>(xs: T[], measure: (x: T) => number | bigint): T[] {
  let best: number | bigint | undefined;
  for (const x of xs) {
    const m = measure(x);
    if (best === undefined || m < best) best = m;
  }
  return xs.filter((x) => measure(x) === best);
}

export function selectBest<P extends Candidate>(paths: readonly P[], config: RibConfig): Decision<P> | null {
  if (paths.length === 0) return null;
  if (paths.length === 1) return { best: paths[0]!, reason: 'only-path' };
  const steps: Array<[DecisionStep, (c: P[]) => P[]]> = [
    ['local-pref', (c) => keepMin(c, (p) => -localPrefOf(p, config))],
    ['locally-originated', (c) => keepMin(c, (p) => (p.source.kind === 'local' ? 0 : 1))],
    ['as-path-length', (c) => keepMin(c, (p) => asPathLength(p.attributes.asPath ?? []))],
    ['origin', (c) => keepMin(c, (p) => ORIGIN_RANK[p.attributes.origin ?? 'incomplete'])],
    ['med', (c) => {
      // Missing MED counts as 0, the best value (RFC 4271 §9.1.2.2 c).
      const minByAs = new Map<number, number>();
      for (const p of c) {
        const as = neighbourAs(p, config);
        const med = p.attributes.med ?? 0;
        minByAs.set(as, Math.min(minByAs.get(as) ?? Infinity, med));
      }
      return c.filter((p) => (p.attributes.med ?? 0) === minByAs.get(neighbourAs(p, config)));
    }],
    ['ebgp-over-ibgp', (c) => (c.some(isEbgp) ? c.filter(isEbgp) : c)],
    ['router-id', (c) => keepMin(c, (p) => tieBreakId(p, config))],
    ['cluster-list-length', (c) => keepMin(c, (p) => p.attributes.clusterList?.length ?? 0)],
    ['peer-address', (c) => keepMin(c, (p) => (p.source.kind === 'local' ? -1n : ipNumber(p.source.address)))],
  ];
  let candidates = [...paths];
  for (const [name, keep] of steps) {
    candidates = keep(candidates);
    if (candidates.length === 1) return { best: candidates[0]!, reason: name };
  }
  return { best: candidates[0]!, reason: 'peer-address' };
}
