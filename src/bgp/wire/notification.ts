import { BgpEncodeError } from './errors.js';
import type { NotificationMessage } from './types.js';

/** Names of NOTIFICATION codes and subcodes for logs (IANA BGP Error (Sub)Codes registry). */
const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    8: 'Grouping Conflict (deprecated)',
    9: 'Grouping Required (deprecated)',
    10: 'Non-Grouped Capability (deprecated)',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

export function errorCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Unknown Error Code ${code}`;
}

export function errorSubcodeName(code: number, subcode: number): string {
  if (subcode === 0) return 'Unspecific';
  return SUBCODE_NAMES[code]?.[subcode] ?? `Unknown Subcode ${subcode}`;
}

/** "Hold Timer Expired", "Cease / Administrative Shutdown", "UPDATE Message Error / Malformed AS_PATH". */
export function notificationName(code: number, subcode: number): string {
  const name = errorCodeName(code);
  if (subcode === 0 && !SUBCODE_NAMES[code]) return name;
  return `${name} / ${errorSubcodeName(code, subcode)}`;
}

/** Body is at least 2 bytes (the header check guarantees it). */
export function decodeNotification(body: Buffer): NotificationMessage {
  return { type: 'notification', code: body[0]!, subcode: body[1]!, data: Buffer.from(body.subarray(2)) };
}

export function encodeNotification(m: NotificationMessage): Buffer {
  for (const [what, v] of [['code', m.code], ['subcode', m.subcode]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new BgpEncodeError(`NOTIFICATION ${what} ${v} must be 0..255`);
  }
  return Buffer.concat([Buffer.from([m.code, m.subcode]), m.data]);
}
