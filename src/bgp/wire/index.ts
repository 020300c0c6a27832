/**
 * The BGP wire codec: pure functions from bytes to typed messages and back. No I/O, no
 * timers. See docs/design/bgp-wire.md for the layout and the error mapping table.
 */
export * from './types.js';
export { BgpWireError, BgpEncodeError, ErrorCode, HeaderSubcode, OpenSubcode, UpdateSubcode } from './errors.js';
export { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';
export { formatPrefix, parsePrefix } from './prefix.js';
export { splitMessages, MessageReader, type SplitResult } from './reader.js';
export { decodeMessage, encodeMessage, notificationFor, type DecodedMessage } from './message.js';
export { decodeOpen, encodeOpen, buildOpen, peerAsOf, checkOpenForSession, type SessionExpectations } from './open.js';
export { decodeUpdate, encodeUpdate, isEndOfRib, endOfRib, type UpdateDecodeResult, type UpdateOutcome } from './update.js';
export type { DiscardedAttribute, DiscardAction } from './attributes/decode.js';
export { attributeName } from './attributes/decode.js';
export { AttrType, AttrFlag } from './attributes/codes.js';
export { propagateUnknown } from './attributes/encode.js';
export { effectiveAsPath, toTwoOctetAttributes } from './attributes/as4.js';
export { asPathLength } from './attributes/as-path.js';
export { formatCommunity } from './attributes/communities.js';
export { notificationName, errorCodeName, errorSubcodeName } from './notification.js';
