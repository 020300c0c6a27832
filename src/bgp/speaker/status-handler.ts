/**
 * `GET /bgp/status` for the agent's HTTP server (its `--http-listen` address, default
 * 127.0.0.1:9099): the speaker's status as JSON, which `tabby node status` prints.
 *
 *   const bgp = bgpStatusHandler(speaker);
 *   createServer((req, res) => { if (bgp(req, res)) return; ...the other routes... });
 *
 * Returns true when it answered (the path was /bgp/status), false to let other routes try.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BgpStatus } from './speaker.js';

export const BGP_STATUS_PATH = '/bgp/status';

export function bgpStatusHandler(speaker: { status(): BgpStatus }): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== BGP_STATUS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    let body: string;
    try {
      body = `${JSON.stringify(speaker.status())}\n`;
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
