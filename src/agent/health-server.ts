/**
 * The agent's HTTP endpoint: `/livez` (the process and its event loop answer),
 * `/readyz` (ready to serve CNI ADDs: 200, else 503 with the reasons as JSON) and
 * `/metrics` (Prometheus text). Plain node:http: three routes need no framework.
 * Other parts of the agent mount their own read-only endpoints as `handlers` (the BGP
 * speaker's `GET /bgp/status`, which `tabby node status` reads); each is tried in order
 * before the built-in routes and returns true when it answered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from './config.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready (empty when ready), e.g. "datastore not in sync". */
  reasons: string[];
}

/** Answers a request it knows (returning true), or returns false to let the next one try. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HealthSources {
  readiness(): Readiness;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Extra endpoints, tried first; a getter so parts built after the server can join. */
  handlers?: () => readonly HttpHandler[];
}

export interface HealthServer {
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: HostPort;
  close(): Promise<void>;
}

export async function serveHealth(listen: HostPort, sources: HealthSources): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    for (const h of sources.handlers?.() ?? []) if (h(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const r = sources.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(r)}\n`);
      return;
    }
    if (path === '/metrics') {
      sources.metrics().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /livez, /readyz, /metrics or /bgp/status\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
