/**
 * Warm-up of the learned-route path: right after the agent starts, a synthetic table goes
 * through the same code a full table from a peer goes through, so that V8 has compiled it
 * when the first real one arrives.
 *
 * Why: the first full table after an agent starts is the one its top-of-rack router sends
 * after a restart, and it met code V8 had not optimized yet. That round took 1.5-2x as long
 * as later ones, and BIRD's time (docs/design/bgp.md, "Receive and program"): the optimizing
 * compiler's threads, the interpreter and the deoptimizations of code that had only seen the
 * first shapes competed with the kernel's route inserts for the same cores. Tier-up needs
 * calls and type feedback, not time, so the same code fed the same kinds of objects here
 * moves that cost to the start, where nothing waits for it.
 *
 * It is the real pipeline, on throwaway instances: a BgpSpeaker whose one peer is a scripted
 * in-memory socket (OPEN, KEEPALIVE, the table's UPDATEs, then their withdrawal), a CalcGraph,
 * a Sequencer, an ApplyLoop and a LegacyDataplane whose learned routes are written behind it,
 * down to the netlink batch encoder. Only the addon call at the very end is replaced: the
 * batches go to a binding that counts their messages and answers "all done". Nothing is
 * read from or written to the datastore, the kernel or the network.
 */
import { EventEmitter } from 'node:events';

import { ApplyLoop } from './apply-loop.js';
import { BgpSpeaker } from '../bgp/speaker/speaker.js';
import type { SpeakerConfig } from '../bgp/speaker/config.js';
import type { SessionSocket } from '../bgp/session/socket.js';
import { packUpdates } from '../bgp/session/update-packer.js';
import { AFI_IPV4, ErrorCode, SAFI_UNICAST, buildOpen, encodeMessage, endOfRib, type Capability, type PathAttributes, type Prefix } from '../bgp/wire/index.js';
import { CalcGraph } from '../calc/calc-graph.js';
import { Sequencer } from '../calc/sequencer.js';
import { LegacyDataplane } from '../dataplane/legacy/legacy-dataplane.js';
import { NetlinkRouteKernel } from '../dataplane/linux/netlink-route-kernel.js';
import { formatIPv4 } from '../ipam/cidr.js';
import { createLogger } from '../log/logger.js';
import { Netlink } from '../native/netlink.js';
import { NLMSG_HDRLEN, NLM_F } from '../native/netlink-constants.js';
import { readU16, readU32 } from '../native/netlink-codec.js';

export interface WarmUpOptions {
  /** Prefixes in the synthetic table (default 4,000). */
  prefixes?: number;
  /** Gives up (and cleans up) after this long; default 30 s. */
  timeoutMs?: number;
}

export interface WarmUpResult {
  /** Route writes and deletes that reached the (counting) kernel. */
  routes: number;
  ms: number;
  /** CPU of the whole process meanwhile, user + system. */
  cpuMs: number;
}

const LOCAL = '192.0.2.1';
const PEER = '192.0.2.2';
const LOCAL_AS = 64512;
const PEER_AS = 65001;
/** The peer's goodbye: Cease, administrative shutdown (RFC 4486), what a feeder that stops sending sends. */
const CEASE = { type: 'notification', code: ErrorCode.Cease, subcode: 2, data: Buffer.alloc(0) } as const;
/** Read chunks the scripted peer hands over, the size a TCP read of a busy socket gives. */
const CHUNK = 64 * 1024;

/** The synthetic table: /28s from 100.64.0.0 (shared address space, RFC 6598; 100,000 of them fit in its /10). */
function table(n: number): Prefix[] {
  const out: Prefix[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ prefix: formatIPv4(((100 << 24) | (64 << 16) | (i << 4)) >>> 0), length: 28 });
  }
  return out;
}

/**
 * Paths for the table, as a real one varies them: runs of 1 to 64 prefixes share an AS path,
 * so there are UPDATEs of every size (a single prefix up to a full 4 KiB message) and
 * per-UPDATE code runs about once per 32 prefixes, not once per 800 as with one path.
 */
function withPaths(prefixes: Prefix[]): Array<{ prefix: Prefix; attributes: PathAttributes }> {
  const out: Array<{ prefix: Prefix; attributes: PathAttributes }> = [];
  for (let i = 0, run = 0; i < prefixes.length; run++) {
    const attributes: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [PEER_AS, 64600 + (run % 200)] }], nextHop: PEER };
    for (const end = Math.min(prefixes.length, i + 1 + (run % 64)); i < end; i++) out.push({ prefix: prefixes[i]!, attributes });
  }
  return out;
}

/**
 * The addon's netlink calls, answered without a kernel: every write succeeds (no error
 * replies) and is counted, every dump is empty. `waitFor(n)` resolves once n writes went
 * through. The route code above it (NetlinkRouteKernel, the batch encoder) is the real one.
 */
class CountingNetlink {
  written = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];
  readonly netlink = new Netlink({
    netlinkRequest: (request: Buffer) => {
      if ((readU16(request, 6) & NLM_F.DUMP) !== NLM_F.DUMP) this.#count(1);
      return Buffer.alloc(0);
    },
    netlinkBatchAsync: async (requests: Buffer) => {
      let n = 0;
      for (let at = 0; at + NLMSG_HDRLEN <= requests.length; n++) at += readU32(requests, at);
      this.#count(n);
      return Buffer.alloc(0);
    },
  });

  waitFor(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ n, resolve });
      this.#count(0);
    });
  }

  #count(n: number): void {
    this.written += n;
    this.#waiters = this.#waiters.filter((w) => (w.n <= this.written ? (w.resolve(), false) : true));
  }
}

/**
 * The peer's end of an in-memory connection: answers our OPEN with its OPEN and a KEEPALIVE
 * and then writes what `send` is given, in CHUNK-sized reads that respect pause() like a
 * net.Socket's 'data' events.
 */
class ScriptedPeer extends EventEmitter implements SessionSocket {
  readonly remoteAddress = PEER;
  readonly remotePort = 179;
  readonly localAddress = LOCAL;
  #pending: Buffer[] = [];
  #paused = false;
  #flowing = false;
  #opened = false;
  #closed = false;
  #hangUp = false;
  #onOpened: Array<() => void> = [];
  #onClosed!: () => void;
  /** Resolves once the connection has closed (its 'close' event was emitted). */
  readonly closed = new Promise<void>((resolve) => (this.#onClosed = resolve));

  constructor(private readonly open: Buffer) {
    super();
    setImmediate(() => this.emit('connect'));
  }

  write(_data: Buffer): boolean {
    // Our first message is the OPEN; what follows (KEEPALIVEs, End-of-RIB) needs no answer.
    if (!this.#opened) {
      this.#opened = true;
      this.send(this.open);
      for (const f of this.#onOpened.splice(0)) f();
    }
    return true;
  }

  /** Resolves once our OPEN has been answered: what is sent from then on follows the peer's OPEN. */
  whenOpened(): Promise<void> {
    return this.#opened ? Promise.resolve() : new Promise((resolve) => this.#onOpened.push(resolve));
  }

  send(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; at += CHUNK) this.#pending.push(bytes.subarray(at, at + CHUNK));
    this.#flow();
  }

  /** Sends `last` (a NOTIFICATION) after what is queued, then closes the connection. */
  hangUp(last: Buffer): void {
    this.send(last);
    this.#hangUp = true;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#flow();
    return this;
  }

  end(): void {
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    setImmediate(() => {
      this.emit('close');
      this.#onClosed();
    });
  }

  #flow(): void {
    if (this.#flowing) return;
    this.#flowing = true;
    setImmediate(() => {
      this.#flowing = false;
      if (this.#paused || this.#closed) return;
      const chunk = this.#pending.shift();
      if (chunk) this.emit('data', chunk);
      if (this.#pending.length > 0) this.#flow();
      else if (this.#hangUp) this.destroy();
    });
  }
}

/** Runs the warm-up; resolves when it is over and everything it built is stopped. */
export async function warmUpLearnedRoutes(o: WarmUpOptions = {}): Promise<WarmUpResult> {
  const n = o.prefixes ?? 4000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();

  const ctx = { fourOctetAs: true };
  const caps: Capability[] = [{ kind: 'multiprotocol', afi: AFI_IPV4, safi: SAFI_UNICAST }, { kind: 'route-refresh' }];
  const prefixes = table(n);
  const encode = (msgs: Parameters<typeof encodeMessage>[0][]): Buffer => Buffer.concat(msgs.map((m) => encodeMessage(m, ctx)));
  const open = encode([buildOpen({ asn: PEER_AS, holdTime: 90, bgpId: PEER, capabilities: caps }), { type: 'keepalive' }]);
  const announce = encode([...packUpdates({ announce: withPaths(prefixes), withdraw: [] }, ctx), endOfRib(AFI_IPV4, SAFI_UNICAST)]);
  const withdraw = encode(packUpdates({ announce: [], withdraw: prefixes }, ctx));

  const kernel = new CountingNetlink();
  const sequencer = new Sequencer();
  const calc = new CalcGraph({ localNode: 'warm-up', sink: sequencer });
  calc.onStatus('in-sync');
  const silent = createLogger({ level: 'silent' });
  // wake is only called once a write pass has ended, when applyLoop exists.
  const dataplane = LegacyDataplane.create({ routeKernel: new NetlinkRouteKernel({ netlink: kernel.netlink }), hasIpipModule: async () => false, logger: silent, learnedWriteBehind: { wake: () => applyLoop.kick() } });
  const applyLoop = new ApplyLoop({ source: sequencer, dataplane, logger: silent });
  let peer: ScriptedPeer | undefined;
  let connected!: (p: ScriptedPeer) => void;
  const opened = new Promise<ScriptedPeer>((resolve) => (connected = resolve)).then(async (p) => {
    await p.whenOpened();
    return p;
  });
  const speaker = new BgpSpeaker({
    listen: false,
    logger: silent,
    connector: () => {
      peer = new ScriptedPeer(open);
      connected(peer);
      return peer;
    },
    onRoutes: (msgs) => {
      calc.onExternalRoutes(msgs);
      applyLoop.kick();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the BGP warm-up did not finish within ${timeoutMs} ms (${kernel.written} route writes)`)), timeoutMs);
  });
  // Handled here too: it may fire before the first step awaits it (and then must not be an unhandled rejection).
  timedOut.catch(() => undefined);
  try {
    applyLoop.start();
    await speaker.update(warmUpConfig());
    // The table twice: withdrawn by UPDATEs the first time, by the peer going away the
    // second (both ways a real table leaves), each announced, then removed from the kernel.
    const step = <T>(what: Promise<T>): Promise<T> => Promise.race([what, timedOut]);
    const first = await step(opened);
    first.send(announce);
    await step(kernel.waitFor(n));
    first.send(withdraw);
    await step(kernel.waitFor(2 * n));
    first.send(announce);
    await step(kernel.waitFor(3 * n));
    first.hangUp(encode([CEASE]));
    await step(kernel.waitFor(4 * n));
    return { routes: kernel.written, ms: performance.now() - t0, cpuMs: cpuMsSince(cpu0) };
  } finally {
    clearTimeout(timer);
    await speaker.close();
    await peer?.closed;
    await applyLoop.stop();
    await dataplane.settled();
  }
}

/** The speaker's configuration: one eBGP peer, the scripted one, that we connect to. */
function warmUpConfig(): SpeakerConfig {
  return {
    nodeName: 'warm-up',
    enabled: true,
    routerId: LOCAL,
    localAddress: LOCAL,
    asNumber: LOCAL_AS,
    listenPort: 179,
    bindMode: 'NodeIP',
    meshEnabled: false,
    peers: [{ id: PEER, address: PEER, port: 179, asNumber: PEER_AS, peerType: 'global', source: 'warm-up', passive: false, holdTime: 90, restartTime: 120, routeReflectorClient: false }],
    exports: [],
    routing: { pools: [{ name: 'warm-up', cidr: '198.18.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' }], nodesByAddress: {}, subnetsByAddress: {}, localSubnet: '192.0.2.0/24' },
    notes: [],
  };
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}
