/**
 * TCP-MD5 signatures (RFC 2385) for BGP sessions with a password (native/tcp.cc).
 *
 * The key has to be on a socket before its SYN: node:net creates and connects its sockets in
 * one step, so an outbound socket comes from here unconnected (`socket`) and net.Socket({ fd })
 * connects it; a listening socket gets one key per peer (`setKey`) and hands it to every
 * connection it accepts. Arguments are checked here, before native code runs.
 */
import { isIP } from 'node:net';
import type { RawBinding } from './binding.js';
import { argumentError } from './errors.js';
import { loadBinding } from './loader.js';

/** The kernel's TCP_MD5SIG_MAXKEYLEN. */
export const TCP_MD5_MAX_KEY_BYTES = 80;

export type TcpMd5Binding = Pick<RawBinding, 'tcpSocket' | 'tcpMd5SetKey'>;

export class TcpMd5Sockets {
  readonly #binding: () => TcpMd5Binding;

  constructor(binding?: TcpMd5Binding) {
    this.#binding = binding ? () => binding : loadBinding;
  }

  /** A new unconnected TCP socket fd; the caller hands it to net.Socket({ fd }), which owns it from then on. */
  socket(family: 4 | 6): number {
    if (family !== 4 && family !== 6) throw argumentError('socket', `family must be 4 or 6, got ${String(family)}`);
    return this.#binding().tcpSocket({ family });
  }

  /**
   * Sets the key for segments to and from `peer` on socket `fd`, or removes it (`password`
   * undefined). Removing a key that is not there is not an error.
   */
  setKey(fd: number, peer: string, password: string | undefined): void {
    const op = 'setsockopt(TCP_MD5SIG)';
    if (!Number.isInteger(fd) || fd < 0) throw argumentError(op, `fd must be a non-negative integer, got ${String(fd)}`, 'EBADF');
    if (typeof peer !== 'string' || isIP(peer) === 0) throw argumentError(op, `peer must be an IP address, got '${String(peer)}'`);
    const key = Buffer.from(password ?? '', 'utf8');
    if (password !== undefined && key.length === 0) throw argumentError(op, `the password for ${peer} is empty; give a password or none`);
    if (key.length > TCP_MD5_MAX_KEY_BYTES) {
      throw argumentError(op, `the password for ${peer} is ${key.length} bytes; TCP-MD5 keys are at most ${TCP_MD5_MAX_KEY_BYTES}`, 'E2BIG');
    }
    this.#binding().tcpMd5SetKey(fd, { address: peer, key });
  }
}
