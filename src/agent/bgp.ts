/**
 * The agent's BGP: the speaker (src/bgp/speaker) built and fed the way docs/design/bgp-speaker.md
 * describes, as one piece the composition root wires in four places:
 *
 *   syncer callbacks  ──onUpdates/onStatus──► BgpSyncerFeed ──config──► BgpSpeaker
 *   BgpSpeaker ──onRoutes(learned)──► the caller (agent: calc.onExternalRoutes + loop.kick)
 *   HTTP server  ◄── httpHandler: GET /bgp/status (what `tabby node status` prints)
 *   shutdown     ──close()──► sessions stop (Cease), learned routes stay in the dataplane
 *
 * The speaker listens on the node's own address (not 0.0.0.0) at the cluster's
 * BGPConfiguration listenPort (179 by default): peers reach a node at that address anyway,
 * and nodes sharing a host (the lab) or a test process never compete for a wildcard port.
 * Passwords (TCP-MD5) are read from `--bgp-secrets-dir` and signed through the native addon.
 * With BGP disabled (`--bgp disabled`) nothing is started and /bgp/status still answers,
 * saying so, so `tabby node status` explains instead of reporting a missing endpoint.
 */
import type { Keys } from '../datastore/keys.js';
import type { SyncStatus, SyncerUpdate } from '../datastore/syncer.js';
import type { Logger } from '../log/logger.js';
import { BgpSpeaker, type BgpSpeakerOptions, type BgpStatus } from '../bgp/speaker/speaker.js';
import { BgpSyncerFeed } from '../bgp/speaker/syncer-feed.js';
import { bgpStatusHandler } from '../bgp/speaker/status-handler.js';
import type { BgpRouteMessage } from '../bgp/speaker/route-classifier.js';
import { SecretFiles } from '../bgp/speaker/secrets.js';
import { DEFAULT_BGP_SECRETS_DIR } from './config.js';
import { TcpMd5Sockets } from '../native/tcp-md5.js';
import type { HttpHandler } from './health-server.js';

/** What tests (and special deployments) may change about the speaker's transport and clocks. */
export type AgentBgpTransport = Omit<BgpSpeakerOptions, 'logger' | 'onRoutes' | 'listenHost'> & { listenHost?: string };

export interface AgentBgpOptions {
  nodeName: string;
  /** The node's address (`a.b.c.d` or `a.b.c.d/len`): where the speaker listens. */
  nodeIp: string;
  keys: Keys;
  enabled: boolean;
  /** Bound to the node already; the speaker adds `component: bgp`. */
  logger: Logger;
  /** Learned routes, in the order they changed (the agent hands them to calc). */
  onRoutes: (msgs: BgpRouteMessage[]) => void;
  transport?: AgentBgpTransport;
  /** The speaker applies no configuration (starts no session) before this settles: the warm-up. */
  startAfter?: Promise<unknown>;
  /** Where BGP passwords are read (`--bgp-secrets-dir`; default DEFAULT_BGP_SECRETS_DIR). */
  secretsDir?: string;
}

export interface AgentBgp {
  /** Absent when disabled. */
  readonly speaker: BgpSpeaker | undefined;
  /** Next to calc on the agent's syncer. */
  onUpdates(updates: readonly SyncerUpdate[]): void;
  onStatus(status: SyncStatus): void;
  /** Mount on the agent's HTTP server: answers GET /bgp/status. */
  readonly httpHandler: HttpHandler;
  status(): BgpStatus;
  /** Stops the sessions; learned routes are left in the dataplane for the next agent. */
  close(): Promise<void>;
}

export function createAgentBgp(o: AgentBgpOptions): AgentBgp {
  if (!o.enabled) {
    const off: BgpStatus = { nodeName: o.nodeName, enabled: false, reason: 'BGP is disabled on this agent (--bgp disabled)', peers: [], ipv6Peers: [], exported: 0, imported: 0 };
    o.logger.child({ component: 'bgp' }).info({ op: 'bgp' }, 'BGP disabled (--bgp disabled): no speaker; routes to other nodes still come from the datastore');
    return {
      speaker: undefined,
      onUpdates: () => undefined,
      onStatus: () => undefined,
      httpHandler: bgpStatusHandler({ status: () => off }),
      status: () => off,
      close: async () => undefined,
    };
  }
  const speaker = new BgpSpeaker({
    listenHost: o.nodeIp.split('/')[0]!,
    tcpMd5: new TcpMd5Sockets(),
    secrets: new SecretFiles(o.secretsDir ?? DEFAULT_BGP_SECRETS_DIR),
    ...o.transport,
    logger: o.logger,
    onRoutes: o.onRoutes,
    ...(o.startAfter ? { startAfter: o.startAfter } : {}),
  });
  const feed = new BgpSyncerFeed(speaker, o.nodeName, o.keys);
  return {
    speaker,
    onUpdates: (u) => feed.onUpdates(u),
    onStatus: (s) => feed.onStatus(s),
    httpHandler: bgpStatusHandler(speaker),
    status: () => speaker.status(),
    close: () => speaker.close(),
  };
}
