import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { BgpSessionEvents, BgpSessionOptions } from '../bgp/session/session.js';
import type { SpeakerSession } from '../bgp/speaker/speaker.js';
import { Keys } from '../datastore/keys.js';
import type { SyncerUpdate } from '../datastore/syncer.js';
import { createLogger } from '../log/logger.js';
import { createAgentBgp, type AgentBgp } from './bgp.js';
import { serveHealth, type HealthServer } from './health-server.js';

/** A session that never connects: enough to see which peers the agent's speaker configures. */
class IdleSession extends EventEmitter<BgpSessionEvents> implements SpeakerSession {
  state: SpeakerSession['state'] = 'Idle';
  constructor(readonly opts: BgpSessionOptions) {
    super();
  }
  start(): void {}
  close(): void {}
  sendRoutes(): number {
    return 0;
  }
  acceptConnection(): void {}
}

const R = '/calico/resources/v3/projectcalico.org';
let rev = 1;
const put = (key: string, value: unknown): SyncerUpdate => ({ key, value, revision: String(++rev) });
const node = (name: string, ip: string) => put(`${R}/nodes/${name}`, { kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: `${ip}/24` } } });
const logger = createLogger({ level: 'silent' });

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setImmediate(r));
  expect(f()).toBe(true);
}

let open: { bgp?: AgentBgp; http?: HealthServer } = {};
afterEach(async () => {
  await open.bgp?.close();
  await open.http?.close();
  open = {};
});

async function getStatus(bgp: AgentBgp): Promise<{ code: number; body: Record<string, unknown> }> {
  open.http = await serveHealth({ host: '127.0.0.1', port: 0 }, { readiness: () => ({ ready: true, reasons: [] }), metrics: async () => ({ contentType: 'text/plain', body: '' }), handlers: () => [bgp.httpHandler] });
  const r = await fetch(`http://127.0.0.1:${open.http.address.port}/bgp/status`);
  return { code: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('createAgentBgp', () => {
  it('feeds the speaker from syncer updates once in sync: the mesh peer appears, served on /bgp/status', async () => {
    const sessions: IdleSession[] = [];
    const bgp = createAgentBgp({
      nodeName: 'n1',
      nodeIp: '192.168.0.1/24',
      keys: new Keys(),
      enabled: true,
      logger,
      onRoutes: () => undefined,
      transport: { listen: false, sessionFactory: (o) => (sessions.push(new IdleSession(o)), sessions.at(-1)!) },
    });
    open.bgp = bgp;
    bgp.onUpdates([node('n1', '192.168.0.1'), node('n2', '192.168.0.2')]);
    bgp.onStatus('resync');
    expect(sessions).toEqual([]); // nothing before in-sync: a half-listed datastore looks like missing peers
    bgp.onStatus('in-sync');
    await until(() => bgp.status().peers.length === 1);
    expect(bgp.status()).toMatchObject({ enabled: true, routerId: '192.168.0.1', asNumber: 64512, meshEnabled: true });
    expect(sessions[0]?.opts).toMatchObject({ peerAddress: '192.168.0.2', localAddress: '192.168.0.1' });
    const http = await getStatus(bgp);
    expect(http.code).toBe(200);
    expect(http.body).toMatchObject({ nodeName: 'n1', enabled: true, peers: [expect.objectContaining({ peerAddress: '192.168.0.2', peerType: 'node-to-node mesh' })] });
  });

  it('disabled: no speaker, and /bgp/status says why (tabby node status prints it)', async () => {
    const bgp = createAgentBgp({ nodeName: 'n1', nodeIp: '192.168.0.1/24', keys: new Keys(), enabled: false, logger, onRoutes: () => undefined });
    open.bgp = bgp;
    bgp.onUpdates([node('n1', '192.168.0.1')]);
    bgp.onStatus('in-sync');
    expect(bgp.speaker).toBeUndefined();
    const http = await getStatus(bgp);
    expect(http).toEqual({ code: 200, body: expect.objectContaining({ enabled: false, reason: expect.stringContaining('--bgp disabled'), peers: [] }) });
  });

  it('leaves other paths to the health server', async () => {
    const bgp = createAgentBgp({ nodeName: 'n1', nodeIp: '192.168.0.1', keys: new Keys(), enabled: false, logger, onRoutes: () => undefined });
    open.bgp = bgp;
    await getStatus(bgp);
    const r = await fetch(`http://127.0.0.1:${open.http!.address.port}/livez`);
    expect([r.status, await r.text()]).toEqual([200, 'ok\n']);
  });
});

describe('--bgp', () => {
  it('is optional (absent: enabled), takes enabled|disabled from flag or TABBY_BGP, and names a bad value', async () => {
    const { resolveAgentSettings } = await import('./config.js');
    expect(resolveAgentSettings({ hostname: 'n1' }).bgp).toBeUndefined();
    expect(resolveAgentSettings({ hostname: 'n1', flags: { bgp: 'disabled' } }).bgp).toBe('disabled');
    expect(resolveAgentSettings({ hostname: 'n1', env: { TABBY_BGP: 'enabled' } }).bgp).toBe('enabled');
    expect(() => resolveAgentSettings({ hostname: 'n1', env: { TABBY_BGP: 'off' } })).toThrow(/bad bgp "off" from environment variable TABBY_BGP: use one of enabled, disabled/);
  });
});
