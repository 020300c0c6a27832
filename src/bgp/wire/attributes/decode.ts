/**
 * Walks the path attribute block of an UPDATE and applies RFC 7606 error handling per
 * attribute. Session-fatal problems come back as a BgpWireError; everything else is
 * recorded in `discarded` with the action it calls for, and update.ts turns those into
 * the UPDATE's outcome.
 */
import { BgpWireError, ErrorCode, UpdateSubcode } from '../errors.js';
import type { CodecContext, PathAttributes } from '../types.js';
import { decodeAsPath } from './as-path.js';
import { decodeAggregator, decodeAtomicAggregate, decodeNextHop, decodeOrigin, decodeU32 } from './basic.js';
import { AttrFlag, AttrType, Malformed, OPTIONAL_NON_TRANSITIVE, OPTIONAL_TRANSITIVE, WELL_KNOWN } from './codes.js';
import { decodeCommunities } from './communities.js';
import { decodeMpReach, decodeMpUnreach, UnsupportedFamily } from './multiprotocol.js';
import { decodeClusterList, decodeOriginatorId } from './reflection.js';

export type DiscardAction = 'treat-as-withdraw' | 'attribute-discard' | 'ignored';

/** An attribute the decoder dropped, and what that means for the UPDATE. */
export interface DiscardedAttribute {
  /** null when the problem is not one attribute's (an attribute block that overruns). */
  typeCode: number | null;
  /** 'ignored' has no consequence (e.g. an unrecognized optional non-transitive attribute). */
  action: DiscardAction;
  reason: string;
}

type Parsed = Malformed | UnsupportedFamily | undefined;

interface AttrSpec {
  name: string;
  /** Expected Optional and Transitive bits. */
  flags: number;
  onMalformed: 'treat-as-withdraw' | 'attribute-discard' | 'session-reset';
  /** Parses the value into attrs; returns why it could not. */
  apply(attrs: PathAttributes, v: Buffer, ctx: CodecContext): Parsed;
}

const asSize = (ctx: CodecContext): 2 | 4 => (ctx.fourOctetAs ? 4 : 2);

function set<K extends keyof PathAttributes>(attrs: PathAttributes, key: K, value: PathAttributes[K] | Malformed | UnsupportedFamily): Parsed {
  if (value instanceof Malformed || value instanceof UnsupportedFamily) return value;
  attrs[key] = value;
  return undefined;
}

/** The attributes the codec models, with RFC 7606 §7 handling for each. */
const SPECS: Record<number, AttrSpec> = {
  [AttrType.Origin]: { name: 'ORIGIN', flags: WELL_KNOWN, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'origin', decodeOrigin(v)) },
  [AttrType.AsPath]: { name: 'AS_PATH', flags: WELL_KNOWN, onMalformed: 'treat-as-withdraw', apply: (a, v, c) => set(a, 'asPath', decodeAsPath(v, asSize(c))) },
  [AttrType.NextHop]: { name: 'NEXT_HOP', flags: WELL_KNOWN, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'nextHop', decodeNextHop(v)) },
  [AttrType.MultiExitDisc]: { name: 'MULTI_EXIT_DISC', flags: OPTIONAL_NON_TRANSITIVE, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'med', decodeU32('MULTI_EXIT_DISC', v)) },
  [AttrType.LocalPref]: { name: 'LOCAL_PREF', flags: WELL_KNOWN, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'localPref', decodeU32('LOCAL_PREF', v)) },
  [AttrType.AtomicAggregate]: { name: 'ATOMIC_AGGREGATE', flags: WELL_KNOWN, onMalformed: 'attribute-discard', apply: (a, v) => set(a, 'atomicAggregate', decodeAtomicAggregate(v)) },
  [AttrType.Aggregator]: { name: 'AGGREGATOR', flags: OPTIONAL_TRANSITIVE, onMalformed: 'attribute-discard', apply: (a, v, c) => set(a, 'aggregator', decodeAggregator('AGGREGATOR', v, asSize(c))) },
  [AttrType.Communities]: { name: 'COMMUNITIES', flags: OPTIONAL_TRANSITIVE, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'communities', decodeCommunities(v)) },
  [AttrType.OriginatorId]: { name: 'ORIGINATOR_ID', flags: OPTIONAL_NON_TRANSITIVE, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'originatorId', decodeOriginatorId(v)) },
  [AttrType.ClusterList]: { name: 'CLUSTER_LIST', flags: OPTIONAL_NON_TRANSITIVE, onMalformed: 'treat-as-withdraw', apply: (a, v) => set(a, 'clusterList', decodeClusterList(v)) },
  [AttrType.MpReachNlri]: { name: 'MP_REACH_NLRI', flags: OPTIONAL_NON_TRANSITIVE, onMalformed: 'session-reset', apply: (a, v) => set(a, 'mpReach', decodeMpReach(v)) },
  [AttrType.MpUnreachNlri]: { name: 'MP_UNREACH_NLRI', flags: OPTIONAL_NON_TRANSITIVE, onMalformed: 'session-reset', apply: (a, v) => set(a, 'mpUnreach', decodeMpUnreach(v)) },
  [AttrType.As4Path]: { name: 'AS4_PATH', flags: OPTIONAL_TRANSITIVE, onMalformed: 'attribute-discard', apply: (a, v) => set(a, 'as4Path', decodeAsPath(v, 4, false)) },
  [AttrType.As4Aggregator]: { name: 'AS4_AGGREGATOR', flags: OPTIONAL_TRANSITIVE, onMalformed: 'attribute-discard', apply: (a, v) => set(a, 'as4Aggregator', decodeAggregator('AS4_AGGREGATOR', v, 4)) },
};

export function attributeName(typeCode: number): string {
  return SPECS[typeCode]?.name ?? `attribute ${typeCode}`;
}

export interface AttributeWalk {
  attributes: PathAttributes;
  discarded: DiscardedAttribute[];
  /** Set when an attribute ran past the end of the block (RFC 7606 §4: treat-as-withdraw). */
  overrun?: { typeCode: number | null; reason: string };
}

export function decodeAttributes(buf: Buffer, start: number, end: number, ctx: CodecContext): AttributeWalk | BgpWireError {
  const attributes: PathAttributes = {};
  const discarded: DiscardedAttribute[] = [];
  const seen = new Set<number>();
  let off = start;
  while (off < end) {
    if (end - off < 3) return { attributes, discarded, overrun: { typeCode: null, reason: 'fewer than 3 bytes left for an attribute header' } };
    const flags = buf[off]!;
    const typeCode = buf[off + 1]!;
    const ext = (flags & AttrFlag.ExtendedLength) !== 0;
    const hdr = ext ? 4 : 3;
    if (end - off < hdr) return { attributes, discarded, overrun: { typeCode, reason: 'extended attribute header is truncated' } };
    const len = ext ? buf.readUInt16BE(off + 2) : buf[off + 2]!;
    if (off + hdr + len > end) {
      const reason = `${attributeName(typeCode)} length ${len} runs past the path attributes`;
      // MP attributes we cannot delimit hide NLRI we cannot withdraw: reset (RFC 7606 §7.11).
      if (typeCode === AttrType.MpReachNlri || typeCode === AttrType.MpUnreachNlri) {
        return new BgpWireError(ErrorCode.UpdateMessage, UpdateSubcode.AttributeLengthError, reason, Buffer.from(buf.subarray(off, end)));
      }
      return { attributes, discarded, overrun: { typeCode, reason } };
    }
    const raw = buf.subarray(off, off + hdr + len);
    const value = buf.subarray(off + hdr, off + hdr + len);
    off += hdr + len;

    const spec = SPECS[typeCode];
    if (seen.has(typeCode)) {
      if (typeCode === AttrType.MpReachNlri || typeCode === AttrType.MpUnreachNlri) {
        return new BgpWireError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList,
          `UPDATE carries ${attributeName(typeCode)} more than once`, Buffer.from(raw));
      }
      discarded.push({ typeCode, action: 'attribute-discard', reason: `duplicate ${attributeName(typeCode)}: only the first is kept` });
      continue;
    }
    seen.add(typeCode);

    if (!spec) {
      if ((flags & AttrFlag.Optional) === 0) {
        return new BgpWireError(ErrorCode.UpdateMessage, UpdateSubcode.UnrecognizedWellKnownAttribute,
          `unrecognized well-known attribute type ${typeCode}`, Buffer.from(raw));
      }
      if ((flags & AttrFlag.Transitive) !== 0) {
        (attributes.unknown ??= []).push({ flags: flags & ~AttrFlag.ExtendedLength, typeCode, value: Buffer.from(value) });
      } else {
        discarded.push({ typeCode, action: 'ignored', reason: `unrecognized optional non-transitive attribute ${typeCode}` });
      }
      continue;
    }

    const flagsOk = (flags & (AttrFlag.Optional | AttrFlag.Transitive)) === spec.flags;
    const result = flagsOk ? spec.apply(attributes, value, ctx) : new Malformed(`${spec.name} flags 0x${flags.toString(16)} conflict with its type`);
    if (result instanceof UnsupportedFamily) {
      discarded.push({ typeCode, action: 'ignored', reason: `${spec.name} for AFI ${result.afi} SAFI ${result.safi} is not supported` });
    } else if (result instanceof Malformed) {
      if (spec.onMalformed === 'session-reset') {
        const subcode = flagsOk ? UpdateSubcode.OptionalAttributeError : UpdateSubcode.AttributeFlagsError;
        return new BgpWireError(ErrorCode.UpdateMessage, subcode, result.reason, Buffer.from(raw));
      }
      discarded.push({ typeCode, action: spec.onMalformed, reason: result.reason });
    }
  }
  // Their order carries no meaning; ascending type code is what the encoder emits.
  attributes.unknown?.sort((x, y) => x.typeCode - y.typeCode);
  return { attributes, discarded };
}
