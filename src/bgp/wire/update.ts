/**
 * UPDATE (RFC 4271 §4.3) with RFC 7606 revised error handling. decodeUpdate() returns
 * either the NOTIFICATION to send (a BgpWireError: the session resets) or the update with
 * what error handling did to it.
 */
import { AttrType } from './attributes/codes.js';
import { decodeAttributes, type DiscardAction, type DiscardedAttribute } from './attributes/decode.js';
import { encodeAttributes } from './attributes/encode.js';
import { BgpEncodeError, BgpWireError, ErrorCode, HeaderSubcode, UpdateSubcode, u16Data } from './errors.js';
import { decodePrefixes, encodePrefixes } from './prefix.js';
import { AFI_IPV4, SAFI_UNICAST, type CodecContext, type PathAttributes, type Prefix, type UpdateMessage } from './types.js';

export type UpdateOutcome = 'ok' | 'attribute-discard' | 'treat-as-withdraw';

export interface UpdateDecodeResult {
  /**
   * The update as the session should apply it. After treat-as-withdraw its NLRI and
   * MP_REACH_NLRI are removed (they are in withdrawnDueToError instead), so applying
   * `update` and then withdrawing `withdrawnDueToError` is always correct.
   */
  update: UpdateMessage;
  /** The strongest RFC 7606 action taken ('ok' when nothing was wrong). */
  outcome: UpdateOutcome;
  /** Every attribute dropped or found wanting, with the action it triggered. */
  discarded: DiscardedAttribute[];
  /** Prefixes (IPv4 and IPv6, by their text) announced by a broken UPDATE: withdraw them. */
  withdrawnDueToError: Prefix[];
}

function updateError(subcode: number, message: string, data?: Buffer): BgpWireError {
  return new BgpWireError(ErrorCode.UpdateMessage, subcode, message, data);
}

/** Decodes an UPDATE body (the message without its 19-byte header). */
export function decodeUpdate(body: Buffer, ctx: CodecContext): UpdateDecodeResult | BgpWireError {
  if (body.length < 4) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `UPDATE body of ${body.length} bytes is too short`, u16Data(body.length + 19));
  }
  const wlen = body.readUInt16BE(0);
  if (2 + wlen + 2 > body.length) return updateError(UpdateSubcode.MalformedAttributeList, `withdrawn routes length ${wlen} overruns the UPDATE`);
  const withdrawn = decodePrefixes(body, 2, 2 + wlen, AFI_IPV4);
  if (!withdrawn) return updateError(UpdateSubcode.InvalidNetworkField, 'withdrawn routes cannot be parsed as IPv4 prefixes');
  const alen = body.readUInt16BE(2 + wlen);
  const attrStart = 4 + wlen;
  const attrEnd = attrStart + alen;
  if (attrEnd > body.length) return updateError(UpdateSubcode.MalformedAttributeList, `total path attribute length ${alen} overruns the UPDATE`);
  const nlri = decodePrefixes(body, attrEnd, body.length, AFI_IPV4);
  if (!nlri) return updateError(UpdateSubcode.InvalidNetworkField, 'NLRI cannot be parsed as IPv4 prefixes');

  const walk = decodeAttributes(body, attrStart, attrEnd, ctx);
  if (walk instanceof BgpWireError) return walk;
  const attrs = walk.attributes;
  const discarded = walk.discarded;
  if (walk.overrun) discarded.push({ typeCode: walk.overrun.typeCode, action: 'treat-as-withdraw', reason: walk.overrun.reason });

  if (ctx.fourOctetAs) {
    // RFC 6793 §4.1: a NEW speaker never sends these to a NEW speaker; drop them.
    for (const [key, typeCode] of [['as4Path', AttrType.As4Path], ['as4Aggregator', AttrType.As4Aggregator]] as const) {
      if (attrs[key] !== undefined) {
        delete attrs[key];
        discarded.push({ typeCode, action: 'attribute-discard', reason: 'AS4 attribute received on a 4-octet AS session' });
      }
    }
  }
  if (ctx.ebgp) {
    // We run no confederations, so an external peer has no business sending these (RFC 7606 §7.2).
    if (attrs.asPath?.some((seg) => seg.type === 'confed-sequence' || seg.type === 'confed-set')) {
      delete attrs.asPath;
      discarded.push({ typeCode: AttrType.AsPath, action: 'treat-as-withdraw', reason: 'AS_PATH from an external peer carries confederation segments' });
    }
    if (attrs.localPref !== undefined) {
      delete attrs.localPref;
      discarded.push({ typeCode: AttrType.LocalPref, action: 'attribute-discard', reason: 'LOCAL_PREF from an external peer is ignored' });
    }
    for (const [key, typeCode] of [['originatorId', AttrType.OriginatorId], ['clusterList', AttrType.ClusterList]] as const) {
      if (attrs[key] !== undefined) {
        delete attrs[key];
        discarded.push({ typeCode, action: 'treat-as-withdraw', reason: 'route reflection attribute from an external peer' });
      }
    }
  }
  const announces = nlri.length > 0 || (attrs.mpReach?.nlri.length ?? 0) > 0;
  if (announces) {
    const failed = new Set(discarded.filter((d) => d.action !== 'ignored').map((d) => d.typeCode));
    const mandatory: Array<[keyof PathAttributes, number, string]> = [
      ['origin', AttrType.Origin, 'ORIGIN'],
      ['asPath', AttrType.AsPath, 'AS_PATH'],
    ];
    if (nlri.length > 0) mandatory.push(['nextHop', AttrType.NextHop, 'NEXT_HOP']);
    for (const [key, typeCode, name] of mandatory) {
      if (attrs[key] === undefined && !failed.has(typeCode)) {
        discarded.push({ typeCode, action: 'treat-as-withdraw', reason: `well-known mandatory ${name} is missing` });
      }
    }
  }

  const outcome = strongest(discarded.map((d) => d.action));
  const update: UpdateMessage = { type: 'update', withdrawn, attributes: attrs, nlri };
  const withdrawnDueToError: Prefix[] = [];
  if (outcome === 'treat-as-withdraw') {
    withdrawnDueToError.push(...nlri, ...(attrs.mpReach?.nlri ?? []));
    update.nlri = [];
    delete attrs.mpReach;
  }
  return { update, outcome, discarded, withdrawnDueToError };
}

function strongest(actions: DiscardAction[]): UpdateOutcome {
  if (actions.includes('treat-as-withdraw')) return 'treat-as-withdraw';
  if (actions.includes('attribute-discard')) return 'attribute-discard';
  return 'ok';
}

/** Encodes an UPDATE body. Rejects IPv4 NLRI without ORIGIN, AS_PATH and NEXT_HOP, which peers would withdraw. */
export function encodeUpdate(u: UpdateMessage, ctx: CodecContext): Buffer {
  const a = u.attributes;
  const announces = u.nlri.length > 0 || (a.mpReach?.nlri.length ?? 0) > 0;
  if (announces && (a.origin === undefined || a.asPath === undefined || (u.nlri.length > 0 && a.nextHop === undefined))) {
    throw new BgpEncodeError('an UPDATE that announces routes needs ORIGIN, AS_PATH and (for IPv4 NLRI) NEXT_HOP');
  }
  const withdrawn = encodePrefixes(u.withdrawn, AFI_IPV4);
  const attrs = encodeAttributes(a, ctx);
  const nlri = encodePrefixes(u.nlri, AFI_IPV4);
  if (withdrawn.length > 0xffff || attrs.length > 0xffff) throw new BgpEncodeError('UPDATE withdrawn routes or attributes exceed 65535 bytes; split it');
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(withdrawn.length, 0);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(attrs.length, 0);
  return Buffer.concat([wl, withdrawn, al, attrs, nlri]);
}

/**
 * The family an End-of-RIB marker (RFC 4724 §2) is for, or null if this is not one: an
 * empty UPDATE is IPv4 unicast; an UPDATE whose only content is an empty MP_UNREACH_NLRI
 * is that attribute's family.
 */
export function isEndOfRib(u: UpdateMessage): { afi: number; safi: number } | null {
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return null;
  const present = (Object.keys(u.attributes) as Array<keyof PathAttributes>).filter((k) => u.attributes[k] !== undefined);
  if (present.length === 0) return { afi: AFI_IPV4, safi: SAFI_UNICAST };
  const un = u.attributes.mpUnreach;
  if (present.length === 1 && un && un.withdrawn.length === 0) return { afi: un.afi, safi: un.safi };
  return null;
}

export function endOfRib(afi: number, safi: number): UpdateMessage {
  const attributes: PathAttributes = afi === AFI_IPV4 && safi === SAFI_UNICAST ? {} : { mpUnreach: { afi, safi, withdrawn: [] } };
  return { type: 'update', withdrawn: [], attributes, nlri: [] };
}
