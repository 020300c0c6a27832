/**
 * BGP passwords: TCP-MD5 signatures (RFC 2385) on the session's TCP connection. What the
 * kernel does (sign, check, drop unsigned or badly signed segments) needs a key on the socket
 * before its first SYN; `TcpMd5` is that part of the kernel, injected (src/native/tcp-md5.ts
 * in the agent, a fake in unit tests).
 *
 * - Outbound: md5Connector makes the socket, keys it for the peer, then connects it.
 * - Inbound: the listener keys its listening socket per peer (BgpListener.setPasswords); the
 *   connections it accepts inherit the keys. A peer with a key that connects unsigned, or
 *   with another key, never gets past the SYN: the kernel drops it and counts it
 *   (TcpExtTCPMD5NotFound / TcpExtTCPMD5Failure in `nstat`).
 */
import { closeSync } from 'node:fs';
import { Socket, isIPv6 } from 'node:net';
import { failedSocket, tcpConnector, type Connector } from './socket.js';

export interface TcpMd5 {
  /** A new unconnected TCP socket fd (net.Socket({ fd }) takes it over). */
  socket(family: 4 | 6): number;
  /** Sets the key for segments to and from `peer` on socket `fd`; undefined removes it. */
  setKey(fd: number, peer: string, password: string | undefined): void;
}

/** Plain TCP, and TCP-MD5 for connections with a password: the key is on the socket before it connects. */
export function md5Connector(md5: TcpMd5): Connector {
  return (o) => {
    if (o.password === undefined) return tcpConnector(o);
    let fd: number | undefined;
    let socket: Socket | undefined;
    try {
      fd = md5.socket(isIPv6(o.host) ? 6 : 4);
      socket = new Socket({ fd }); // owns the fd from here on
      md5.setKey(fd, o.host, o.password);
    } catch (err) {
      if (!socket && fd !== undefined) closeSync(fd);
      return failedSocket(err as Error, socket);
    }
    socket.connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    socket.setNoDelay(true);
    return socket;
  };
}
