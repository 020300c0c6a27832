/**
 * Turns an Adj-RIB-Out delta into UPDATE messages of at most 4096 bytes (RFC 4271 §4.3;
 * 65535 with RFC 8654): announcements that share attributes go in one message, IPv4 in
 * NLRI, IPv6 in MP_REACH_NLRI; withdrawals in Withdrawn Routes / MP_UNREACH_NLRI. Each
 * message is encoded to check its size, and halved until it fits.
 */
import {
  AFI_IPV4, AFI_IPV6, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, SAFI_UNICAST, encodeMessage, toTwoOctetAttributes,
  type CodecContext, type PathAttributes, type Prefix, type UpdateMessage,
} from '../wire/index.js';
import { attributesKey } from '../rib/export-policy.js';
import { prefixAfi } from '../rib/prefix-key.js';
import type { OutboundRoute } from '../rib/types.js';

/** Prefix bytes on the wire: one length octet plus the significant address bytes. */
const prefixSize = (p: Prefix): number => 1 + Math.ceil(p.length / 8);

/** The attributes as sent on this session (AS_TRANS + AS4_PATH for a 2-octet peer). */
export function wireAttributes(a: PathAttributes, ctx: CodecContext): PathAttributes {
  return ctx.fourOctetAs ? a : toTwoOctetAttributes(a);
}

function announceMessage(attrs: PathAttributes, prefixes: Prefix[], afi: number): UpdateMessage {
  if (afi === AFI_IPV4) return { type: 'update', withdrawn: [], attributes: attrs, nlri: prefixes };
  const { nextHop, ...rest } = attrs;
  return { type: 'update', withdrawn: [], nlri: [], attributes: { ...rest, mpReach: { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHop: nextHop!, nlri: prefixes } } };
}

function withdrawMessage(prefixes: Prefix[], afi: number): UpdateMessage {
  if (afi === AFI_IPV4) return { type: 'update', withdrawn: prefixes, attributes: {}, nlri: [] };
  return { type: 'update', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: prefixes } } };
}

/** Fills messages greedily by estimated size, then verifies by encoding (halving on overflow). */
function chunk(prefixes: Prefix[], build: (ps: Prefix[]) => UpdateMessage, ctx: CodecContext): UpdateMessage[] {
  const max = ctx.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  if (prefixes.length === 0) return [];
  const base = encodeMessage(build([]), ctx).length;
  // 8 bytes of slack: an MP attribute may switch to the extended length form as it grows.
  const room = max - base - 8;
  const out: UpdateMessage[] = [];
  let cur: Prefix[] = [];
  let used = 0;
  const flush = (): void => {
    if (cur.length > 0) out.push(...fit(cur, build, ctx, max));
    cur = [];
    used = 0;
  };
  for (const p of prefixes) {
    if (used + prefixSize(p) > room) flush();
    cur.push(p);
    used += prefixSize(p);
  }
  flush();
  return out;
}

function fit(prefixes: Prefix[], build: (ps: Prefix[]) => UpdateMessage, ctx: CodecContext, max: number): UpdateMessage[] {
  const m = build(prefixes);
  if (prefixes.length <= 1 || encodeMessage(m, ctx).length <= max) return [m];
  const half = Math.ceil(prefixes.length / 2);
  return [...fit(prefixes.slice(0, half), build, ctx, max), ...fit(prefixes.slice(half), build, ctx, max)];
}

/** Withdrawals first, then announcements grouped by identical attributes, each family in its own messages. */
export function packUpdates(delta: { announce: OutboundRoute[]; withdraw: Prefix[] }, ctx: CodecContext): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (const afi of [AFI_IPV4, AFI_IPV6]) {
    const ws = delta.withdraw.filter((p) => prefixAfi(p) === afi);
    out.push(...chunk(ws, (ps) => withdrawMessage(ps, afi), ctx));
  }
  const groups = new Map<string, { attrs: PathAttributes; afi: number; prefixes: Prefix[] }>();
  // The RIB hands out one attributes object per shared path: key each object once, not each route.
  const keys = new Map<PathAttributes, { attrs: PathAttributes; key: string }>();
  for (const r of delta.announce) {
    const afi = prefixAfi(r.prefix);
    let k = keys.get(r.attributes);
    if (!k) {
      const wire = wireAttributes(r.attributes, ctx);
      keys.set(r.attributes, (k = { attrs: wire, key: attributesKey(wire) }));
    }
    const attrs = k.attrs;
    const key = `${afi}|${k.key}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { attrs, afi, prefixes: [] }));
    g.prefixes.push(r.prefix);
  }
  for (const g of groups.values()) out.push(...chunk(g.prefixes, (ps) => announceMessage(g.attrs, ps, g.afi), ctx));
  return out;
}
