import { TabbyError } from '../errors.js';

/**
 * Stable IPAM error codes. `POOL_EXHAUSTED`: no address left for the node in the eligible
 * pools; `ADDRESS_IN_USE`: a specific address is already allocated; `NOT_IN_POOL`: the
 * address is outside every enabled pool; `NO_POOL`: no enabled pool matches the node (or
 * the named pool does not exist); `CAS_RETRIES_EXHAUSTED`: too many concurrent writers on
 * one key; `INVALID_ADDRESS`/`INVALID_CIDR`: bad input; `CORRUPT_RECORD`: a stored IPAM
 * document could not be parsed.
 */
export type IpamErrorCode =
  | 'POOL_EXHAUSTED'
  | 'ADDRESS_IN_USE'
  | 'NOT_IN_POOL'
  | 'NO_POOL'
  | 'CAS_RETRIES_EXHAUSTED'
  | 'INVALID_ADDRESS'
  | 'INVALID_CIDR'
  | 'INVALID_ARGUMENT'
  | 'CORRUPT_RECORD';

export class IpamError extends TabbyError {
  declare readonly code: IpamErrorCode;

  constructor(code: IpamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
