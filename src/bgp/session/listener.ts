/**
 * Accepts BGP connections on one address:port and hands each to the session of the peer
 * it comes from. Connections from unknown addresses get Cease/Connection Rejected
 * (RFC 4486 subcode 5) and are closed.
 *
 * Peers with a password (setPasswords) get a TCP-MD5 key on the listening socket, so the
 * kernel completes only signed handshakes from them. A connection that slipped in unsigned
 * while a key was being set (the socket listened, or the peer was keyed, a moment before)
 * cannot pass either: every connection accepted from such a peer gets the key itself before
 * its session sees it, and the kernel then drops each unsigned segment that follows.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ErrorCode, encodeMessage } from '../wire/index.js';
import { CeaseSubcode } from '../fsm/step.js';
import type { BgpSession } from './session.js';
import { normalizeAddress } from './socket.js';
import type { TcpMd5 } from './tcp-md5.js';

export interface BgpListenerOptions {
  host: string;
  /** 0 picks a free port (see `port` after listen()). */
  port: number;
  /** The session for a remote address, if it is a configured peer. */
  sessionFor: (remoteAddress: string) => BgpSession | undefined;
  /** The kernel's TCP-MD5, for setPasswords. */
  md5?: TcpMd5;
}

export interface BgpListenerEvents {
  rejected: [{ remoteAddress: string; reason: string }];
  error: [Error];
}

export interface ListenerKeyFailure {
  peer: string;
  error: Error;
}

export class BgpListener extends EventEmitter<BgpListenerEvents> {
  readonly #opts: BgpListenerOptions;
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  /** Peer address -> password: the keys the listening socket should carry. */
  #wanted = new Map<string, string>();
  /** The keys it carries. */
  readonly #keyed = new Map<string, string>();

  constructor(opts: BgpListenerOptions) {
    super();
    this.#opts = opts;
    this.#server = createServer((s) => this.#onConnection(s));
    this.#server.on('error', (e) => this.emit('error', e));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: this.#opts.host, port: this.#opts.port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    // Still before the event loop has accepted anything.
    for (const f of this.#syncKeys()) this.emit('error', keyError(f));
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /**
   * The peers whose connections must be signed, with their passwords. Keys are added,
   * changed and removed on the listening socket to match: now when it listens, else as soon
   * as it does. Returns the peers whose key could not be set (their connections stay as
   * unsigned or as keyed as they were).
   */
  setPasswords(wanted: ReadonlyMap<string, string>): ListenerKeyFailure[] {
    this.#wanted = new Map(wanted);
    return this.#syncKeys();
  }

  /** Stops accepting; connections already handed to sessions belong to them. */
  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #syncKeys(): ListenerKeyFailure[] {
    const fd = handleFd(this.#server);
    if (fd === undefined) return [];
    const failures: ListenerKeyFailure[] = [];
    const change = (peer: string, password: string | undefined): void => {
      try {
        this.#setKey(fd, peer, password);
        if (password === undefined) this.#keyed.delete(peer);
        else this.#keyed.set(peer, password);
      } catch (err) {
        failures.push({ peer, error: err as Error });
      }
    };
    for (const peer of [...this.#keyed.keys()]) if (!this.#wanted.has(peer)) change(peer, undefined);
    for (const [peer, password] of this.#wanted) if (this.#keyed.get(peer) !== password) change(peer, password);
    return failures;
  }

  #setKey(fd: number, peer: string, password: string | undefined): void {
    if (!this.#opts.md5) throw new Error('this listener was made without TCP-MD5 support');
    this.#opts.md5.setKey(fd, peer, password);
  }

  #onConnection(s: Socket): void {
    const remote = normalizeAddress(s.remoteAddress);
    s.setNoDelay(true);
    const session = this.#opts.sessionFor(remote);
    if (!session) {
      this.#open.add(s);
      s.on('error', () => {});
      s.on('close', () => this.#open.delete(s));
      const cease = { type: 'notification' as const, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionRejected, data: Buffer.alloc(0) };
      s.end(encodeMessage(cease, { fourOctetAs: false }));
      s.setTimeout(2_000, () => s.destroy());
      this.emit('rejected', { remoteAddress: remote, reason: 'not a configured peer' });
      return;
    }
    const password = this.#wanted.get(remote);
    if (password !== undefined) {
      const fd = handleFd(s);
      try {
        if (fd === undefined) throw new Error('the accepted socket has no file descriptor');
        this.#setKey(fd, remote, password);
      } catch (err) {
        s.destroy();
        this.emit('rejected', { remoteAddress: remote, reason: `its connection could not be keyed for TCP-MD5: ${(err as Error).message}` });
        return;
      }
    }
    session.acceptConnection(s);
  }
}

/** The fd node:net keeps on a server's or socket's TCP handle (Unix), if it has one open. */
function handleFd(x: Server | Socket): number | undefined {
  const fd = (x as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function keyError(f: ListenerKeyFailure): Error {
  return new Error(`cannot set the TCP-MD5 key for ${f.peer} on the BGP listener: ${f.error.message}`);
}
