/**
 * The slice of net.Socket a session uses, so tests can hand it an in-memory duplex.
 * Outbound connections come from an injected Connector.
 */
import { Socket, connect as netConnect } from 'node:net';

export interface SessionSocket {
  write(data: Buffer): boolean;
  end(): void;
  destroy(): void;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'connect', fn: () => void): this;
  on(event: 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  removeAllListeners(event?: string): this;
  /** Stop and restart 'data' events (net.Socket has both; fakes may leave them out). */
  pause?(): this;
  resume?(): this;
}

export interface ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  /** Sign the connection with TCP-MD5 (RFC 2385): needs a connector with TCP-MD5 (tcp-md5.ts). */
  password?: string;
}

/** Opens an outbound TCP connection; the socket emits 'connect' once it is up, or 'error'/'close'. */
export type Connector = (o: ConnectOptions) => SessionSocket;

/** Plain TCP. A connection that asks for a password fails (never goes out unsigned). */
export const tcpConnector: Connector = (o) => {
  if (o.password !== undefined) return failedSocket(new Error('TCP-MD5 is not available to this connector: the BGP password cannot be used'));
  const s = netConnect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
  s.setNoDelay(true);
  return s;
};

/** A socket that fails the way a refused connection does: 'error', then 'close', on the next tick. */
export function failedSocket(err: Error, socket: Socket = new Socket()): Socket {
  process.nextTick(() => socket.destroy(err));
  return socket;
}

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) as "1.2.3.4". */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
