/** Path attribute type codes (IANA BGP Path Attributes registry). */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  As4Path: 17,
  As4Aggregator: 18,
} as const;

/** Attribute flag bits (RFC 4271 §4.3). */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

export const WELL_KNOWN = AttrFlag.Transitive;
export const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
export const OPTIONAL_NON_TRANSITIVE = AttrFlag.Optional;

/** Returned by attribute parsers instead of a value: the attribute is malformed, and why. */
export class Malformed {
  constructor(readonly reason: string) {}
}
