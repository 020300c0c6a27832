import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bgpStatusHandler } from './status-handler.js';
import { AgentUnreachableError, fetchBgpStatus, formatNodeStatus, formatSince, parseHttpAddress } from './status-client.js';
import type { BgpStatus } from './speaker.js';

const STATUS: BgpStatus = {
  nodeName: 'n1', enabled: true, routerId: '10.0.0.1', asNumber: 64512, listenPort: 179, meshEnabled: true, exported: 1, imported: 2, ipv6Peers: [],
  peers: [
    { peerAddress: '10.0.0.2', peerType: 'node-to-node mesh', state: 'up', since: new Date(2026, 0, 2, 9, 5, 7).toISOString(), info: 'Established', asNumber: 64512, source: 'mesh', fsmState: 'Established' },
    { peerAddress: '192.0.2.1:1179', peerType: 'global', state: 'start', since: new Date(2025, 11, 31, 23, 0, 0).toISOString(), info: 'Active Connect: connection refused', asNumber: 65000, source: 'bgppeer/tor', fsmState: 'Active', lastError: 'Connect: connection refused' },
  ],
};

let dir: string | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function serve(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), `tabby-bgp-status-${process.pid}-`));
  const path = join(dir, 'agent.sock');
  const handler = bgpStatusHandler({ status: () => STATUS });
  server = createServer((req, res) => {
    if (handler(req, res)) return;
    res.writeHead(404).end('not found\n');
  });
  await new Promise<void>((r) => server?.listen(path, r));
  return path;
}

describe('node status client and handler', () => {
  it('serves the status as JSON on /bgp/status and leaves other paths alone', async () => {
    const socketPath = await serve();
    expect(await fetchBgpStatus({ socketPath })).toEqual(STATUS);
  });

  it('renders calicoctl-style tables', () => {
    const text = formatNodeStatus(STATUS, new Date(2026, 0, 2, 12, 0, 0));
    expect(text).toBe(
      [
        'tabby agent is running.',
        '',
        'IPv4 BGP status',
        '+----------------+-------------------+-------+------------+------------------------------------+',
        '|  PEER ADDRESS  |     PEER TYPE     | STATE |   SINCE    |                INFO                |',
        '+----------------+-------------------+-------+------------+------------------------------------+',
        '| 10.0.0.2       | node-to-node mesh | up    | 09:05:07   | Established                        |',
        '| 192.0.2.1:1179 | global            | start | 2025-12-31 | Active Connect: connection refused |',
        '+----------------+-------------------+-------+------------+------------------------------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
    );
    expect(formatNodeStatus({ ...STATUS, enabled: false, reason: 'Node n1 has no spec.bgp.ipv4Address', peers: [] }, new Date())).toBe(
      'tabby agent is running.\n\nBGP is not running on this node: Node n1 has no spec.bgp.ipv4Address.\n',
    );
    expect(formatSince('not a date', new Date())).toBe('not a date');
  });

  it('says plainly when the agent is not there, or serves no BGP status', async () => {
    dir = await mkdtemp(join(tmpdir(), `tabby-bgp-status-${process.pid}-`));
    const missing = join(dir, 'nobody.sock');
    await expect(fetchBgpStatus({ socketPath: missing })).rejects.toThrow(AgentUnreachableError);
    await expect(fetchBgpStatus({ socketPath: missing })).rejects.toThrow(/tabby agent is not running \(cannot reach it at unix socket .*nobody\.sock: nothing is listening there\)/);
    await rm(dir, { recursive: true, force: true });
    const socketPath = await serve();
    server?.removeAllListeners('request');
    server?.on('request', (_req, res) => res.writeHead(404).end());
    await expect(fetchBgpStatus({ socketPath })).rejects.toThrow(/does not serve \/bgp\/status/);
  });

  it('parses --http addresses', () => {
    expect(parseHttpAddress('127.0.0.1:9099')).toEqual({ host: '127.0.0.1', port: 9099 });
    expect(parseHttpAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseHttpAddress(':9099')).toEqual({ host: '127.0.0.1', port: 9099 });
    expect(() => parseHttpAddress('localhost')).toThrow(/not an address/);
  });
});
