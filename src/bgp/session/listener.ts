/**
 * Accepts BGP connections on one address:port and hands each to the session of the peer
 * it comes from. Connections from unknown addresses get Cease/Connection Rejected
 * (RFC 4486 subcode 5) and are closed.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ErrorCode, encodeMessage } from '../wire/index.js';
import { CeaseSubcode } from '../fsm/step.js';
import type { BgpSession } from './session.js';
import { normalizeAddress } from './socket.js';

export interface BgpListenerOptions {
  host: string;
  /** 0 picks a free port (see `port` after listen()). */
  port: number;
  /** The session for a remote address, if it is a configured peer. */
  sessionFor: (remoteAddress: string) => BgpSession | undefined;
}

export interface BgpListenerEvents {
  rejected: [{ remoteAddress: string; reason: string }];
  error: [Error];
}

export class BgpListener extends EventEmitter<BgpListenerEvents> {
  readonly #opts: BgpListenerOptions;
  readonly #server: Server;
  readonly #open = new Set<Socket>();

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
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops accepting; connections already handed to sessions belong to them. */
  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
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
    session.acceptConnection(s);
  }
}
