/**
 * The client side of `GET /bgp/status`: fetches the local agent's speaker status over TCP
 * (`--http host:port`) or a unix socket (`--socket PATH`), and renders it the way
 * calicoctl's `node status` does. Errors are TabbyErrors whose message is the one line
 * the CLI prints.
 */
import { request } from 'node:http';
import { TabbyError } from '../../errors.js';
import type { PeerStatus } from './peer-status.js';
import type { BgpStatus } from './speaker.js';
import { BGP_STATUS_PATH } from './status-handler.js';

export type StatusTarget = { socketPath: string } | { host: string; port: number };

export class AgentUnreachableError extends TabbyError {
  constructor(message: string) {
    super('AGENT_UNREACHABLE', message);
  }
}

export function describeTarget(t: StatusTarget): string {
  return 'socketPath' in t ? `unix socket ${t.socketPath}` : `http://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/** "127.0.0.1:9099", "[::1]:9099" or ":9099" -> host and port. */
export function parseHttpAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new TabbyError('USAGE', `--http ${JSON.stringify(text)} is not an address; use host:port, e.g. 127.0.0.1:9099`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function fetchBgpStatus(target: StatusTarget, timeoutMs = 5_000): Promise<BgpStatus> {
  const where = describeTarget(target);
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path: BGP_STATUS_PATH, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode === 404) {
          reject(new AgentUnreachableError(`the tabby agent at ${where} does not serve ${BGP_STATUS_PATH}: it runs without the BGP speaker (or is an older version)`));
          return;
        }
        if (res.statusCode !== 200) {
          reject(new AgentUnreachableError(`the tabby agent at ${where} answered ${BGP_STATUS_PATH} with HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as BgpStatus);
        } catch {
          reject(new AgentUnreachableError(`the tabby agent at ${where} sent a BGP status that is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'nothing is listening there' : err.message;
      reject(new AgentUnreachableError(`tabby agent is not running (cannot reach it at ${where}: ${why}); start it with 'tabby agent', or point --http/--socket at its address`));
    });
    req.end();
  });
}

/** calicoctl's bordered table: `+---+` rules, centred headers, left-aligned cells. */
function borderedTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const head = `| ${headers.map((h, i) => centre(h, widths[i] ?? 0)).join(' | ')} |`;
  const body = rows.map((r) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`);
  return [rule, head, rule, ...body, rule].join('\n') + '\n';
}

/** Time of day for today, the date otherwise (as calicoctl prints BIRD's "since"). */
export function formatSince(iso: string, now: Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function peerTable(peers: readonly PeerStatus[], now: Date, family: 'IPv4' | 'IPv6'): string {
  if (peers.length === 0) return `No ${family} peers found.\n`;
  return borderedTable(
    ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'],
    peers.map((p) => [p.peerAddress, p.peerType, p.state, formatSince(p.since, now), p.info]),
  );
}

export function formatNodeStatus(s: BgpStatus, now: Date): string {
  const out = ['tabby agent is running.', ''];
  if (!s.enabled) {
    out.push(`BGP is not running on this node: ${s.reason ?? 'disabled'}.`);
    return `${out.join('\n')}\n`;
  }
  if (s.listenError) out.push(`Warning: ${s.listenError}.`, '');
  out.push('IPv4 BGP status', peerTable(s.peers, now, 'IPv4'), 'IPv6 BGP status', peerTable(s.ipv6Peers ?? [], now, 'IPv6'));
  return out.join('\n');
}
