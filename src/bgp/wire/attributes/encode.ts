/** Encodes PathAttributes in ascending type-code order (RFC 4271 §5 recommends it). */
import { BgpEncodeError } from '../errors.js';
import type { CodecContext, PathAttributes } from '../types.js';
import { encodeAsPath } from './as-path.js';
import { encodeAggregator, encodeIpv4, encodeOrigin, encodeU32 } from './basic.js';
import { AttrFlag, AttrType, OPTIONAL_NON_TRANSITIVE, OPTIONAL_TRANSITIVE, WELL_KNOWN } from './codes.js';
import { encodeCommunities } from './communities.js';
import { encodeMpReach, encodeMpUnreach } from './multiprotocol.js';
import { encodeClusterList } from './reflection.js';

const MODELED = new Set<number>(Object.values(AttrType));

function tlv(flags: number, typeCode: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new BgpEncodeError(`attribute ${typeCode} value is ${value.length} bytes, over 65535`);
  const ext = value.length > 255;
  const head = Buffer.alloc(ext ? 4 : 3);
  head[0] = (flags & ~AttrFlag.ExtendedLength) | (ext ? AttrFlag.ExtendedLength : 0);
  head[1] = typeCode;
  if (ext) head.writeUInt16BE(value.length, 2);
  else head[2] = value.length;
  return Buffer.concat([head, value]);
}

export function encodeAttributes(a: PathAttributes, ctx: CodecContext): Buffer {
  const asSize = ctx.fourOctetAs ? 4 : 2;
  if (ctx.fourOctetAs && (a.as4Path || a.as4Aggregator)) {
    throw new BgpEncodeError('AS4_PATH / AS4_AGGREGATOR must not be sent on a 4-octet AS session (RFC 6793 §4.1); put the ASNs in AS_PATH / AGGREGATOR');
  }
  const out: Array<[number, Buffer]> = [];
  const add = (flags: number, type: number, value: Buffer): void => {
    out.push([type, tlv(flags, type, value)]);
  };
  if (a.origin !== undefined) add(WELL_KNOWN, AttrType.Origin, encodeOrigin(a.origin));
  if (a.asPath !== undefined) add(WELL_KNOWN, AttrType.AsPath, encodeAsPath(a.asPath, asSize));
  if (a.nextHop !== undefined) add(WELL_KNOWN, AttrType.NextHop, encodeIpv4('NEXT_HOP', a.nextHop));
  if (a.med !== undefined) add(OPTIONAL_NON_TRANSITIVE, AttrType.MultiExitDisc, encodeU32('MULTI_EXIT_DISC', a.med));
  if (a.localPref !== undefined) add(WELL_KNOWN, AttrType.LocalPref, encodeU32('LOCAL_PREF', a.localPref));
  if (a.atomicAggregate) add(WELL_KNOWN, AttrType.AtomicAggregate, Buffer.alloc(0));
  if (a.aggregator !== undefined) add(OPTIONAL_TRANSITIVE, AttrType.Aggregator, encodeAggregator('AGGREGATOR', a.aggregator, asSize));
  if (a.communities !== undefined) add(OPTIONAL_TRANSITIVE, AttrType.Communities, encodeCommunities(a.communities));
  if (a.originatorId !== undefined) add(OPTIONAL_NON_TRANSITIVE, AttrType.OriginatorId, encodeIpv4('ORIGINATOR_ID', a.originatorId));
  if (a.clusterList !== undefined) {
    if (a.clusterList.length === 0) throw new BgpEncodeError('CLUSTER_LIST must not be empty; leave the attribute out');
    add(OPTIONAL_NON_TRANSITIVE, AttrType.ClusterList, encodeClusterList(a.clusterList));
  }
  if (a.mpReach !== undefined) add(OPTIONAL_NON_TRANSITIVE, AttrType.MpReachNlri, encodeMpReach(a.mpReach));
  if (a.mpUnreach !== undefined) add(OPTIONAL_NON_TRANSITIVE, AttrType.MpUnreachNlri, encodeMpUnreach(a.mpUnreach));
  if (a.as4Path !== undefined) {
    if (a.as4Path.some((s) => s.type !== 'sequence' && s.type !== 'set')) {
      throw new BgpEncodeError('AS4_PATH must not carry confederation segments');
    }
    add(OPTIONAL_TRANSITIVE, AttrType.As4Path, encodeAsPath(a.as4Path, 4, 'AS4_PATH'));
  }
  if (a.as4Aggregator !== undefined) add(OPTIONAL_TRANSITIVE, AttrType.As4Aggregator, encodeAggregator('AS4_AGGREGATOR', a.as4Aggregator, 4));
  const seen = new Set<number>();
  for (const u of a.unknown ?? []) {
    if (!Number.isInteger(u.typeCode) || u.typeCode < 0 || u.typeCode > 255) throw new BgpEncodeError(`attribute type ${u.typeCode} must be 0..255`);
    if (MODELED.has(u.typeCode)) throw new BgpEncodeError(`attribute type ${u.typeCode} is modeled; set its field instead of a raw attribute`);
    if (seen.has(u.typeCode)) throw new BgpEncodeError(`raw attribute type ${u.typeCode} appears twice`);
    seen.add(u.typeCode);
    if ((u.flags & AttrFlag.Optional) === 0) throw new BgpEncodeError(`raw attribute ${u.typeCode} must be optional: peers reject unknown well-known attributes`);
    add(u.flags & 0xff, u.typeCode, u.value);
  }
  out.sort((x, y) => x[0] - y[0]);
  return Buffer.concat(out.map(([, b]) => b));
}

/**
 * The unrecognized attributes to pass on when re-advertising a route (RFC 4271 §5):
 * optional transitive ones only, with the Partial bit set.
 */
export function propagateUnknown(attrs: PathAttributes): PathAttributes['unknown'] {
  return (attrs.unknown ?? [])
    .filter((u) => (u.flags & (AttrFlag.Optional | AttrFlag.Transitive)) === OPTIONAL_TRANSITIVE)
    .map((u) => ({ ...u, flags: u.flags | AttrFlag.Partial }));
}
