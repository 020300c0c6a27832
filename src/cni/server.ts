import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../log/logger.js';
import { TabbyError } from '../errors.js';
import { CniCode, CniError } from './errors.js';
import { EXEC_PROTOCOL, encodeExecAnswer, isExecRequest, readExecRequest, type CniExecRequest } from './exec-protocol.js';
import { runCniInAgent } from './in-agent.js';
import { readLine } from './line-reader.js';
import type { PluginOutcome } from './plugin.js';
import {
  MAX_MESSAGE_BYTES,
  decodeRequest,
  encodeMessage,
  errorAnswer,
  okAnswer,
  type CniAnswer,
  type CniRequest,
} from './protocol.js';
import type { CniResult } from './result.js';

/** Per-request context handed to the handler. */
export interface CniRequestContext {
  /**
   * Aborted when the plugin hangs up before the answer is written (it timed out or was
   * killed). The runtime will follow up with DEL, but an ADD handler may stop early.
   */
  signal: AbortSignal;
}

/**
 * What the agent does with one request: resolve with the 1.x result (ADD), nothing (the
 * other verbs, DEL of an unknown attachment included), or a CniError to send back. A
 * thrown non-CniError is reported to the plugin as code 100 and logged.
 */
export type CniHandler = (req: CniRequest, ctx: CniRequestContext) => Promise<CniResult | CniError | undefined | void>;

export interface ServeOptions {
  logger?: Logger;
  /** File mode of the socket; root only by default since ADD creates interfaces. */
  mode?: number;
  /** A client that has not sent its request by then is dropped. */
  requestReadTimeoutMs?: number;
}

export interface CniSocketServer {
  readonly path: string;
  /** Stops accepting, drops open connections, removes the socket file. */
  close(): Promise<void>;
}

export class CniSocketError extends TabbyError {}

/** True when something accepts connections on `path`. */
function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new CniSocketError('CNI_SOCKET_PATH_TAKEN', `${path} exists and is not a socket; remove it or choose another CNI socket path`);
  }
  if (await somebodyListens(path)) {
    throw new CniSocketError('CNI_SOCKET_IN_USE', `another process already serves ${path}; is a second tabby agent running on this node?`);
  }
  await unlink(path); // left behind by an agent that died
}

async function answerFor(req: CniRequest, handler: CniHandler, ctx: CniRequestContext, logger: Logger | undefined): Promise<CniAnswer> {
  try {
    const out = await handler(req, ctx);
    if (out instanceof CniError) return errorAnswer(req.id, out);
    return okAnswer(req.id, out ?? undefined);
  } catch (e) {
    if (e instanceof CniError) return errorAnswer(req.id, e);
    logger?.error({ err: e, op: req.verb, requestId: req.id, containerId: req.containerId }, 'CNI request failed');
    return errorAnswer(
      req.id,
      new CniError(CniCode.AgentInternal, `the agent failed handling ${req.verb}: ${(e as Error)?.message ?? String(e)}`, `see the agent log for request ${req.id}`),
    );
  }
}

/** The exec request on `line`, 'malformed' for a broken one, undefined for a `tabby-cni/1` line. */
function execRequestIn(line: string): CniExecRequest | 'malformed' | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined; // decodeRequest reports it
  }
  if (!isExecRequest(v)) return undefined;
  return readExecRequest(v) ?? 'malformed';
}

function malformedExec(): PluginOutcome {
  const err = new CniError(CniCode.DecodingFailure, 'the agent could not decode the tabby-cni shim\'s request', 'install the tabby-cni binary from the same release as the agent');
  return { stdout: `${JSON.stringify(err.toJSON(), null, 2)}\n`, exitCode: 1 };
}

/**
 * Serves the tabby CNI protocol on a unix socket: reads one request line per connection,
 * dispatches it to `handler`, writes one answer line, closes. A `tabby-cni-exec/1` line
 * from the compiled shim runs the whole plugin here (in-agent.ts) and is answered with
 * what the plugin prints. A stale socket file left by a
 * dead agent is replaced; a live one is an error (two agents on one node).
 */
export async function serveCniSocket(path: string, handler: CniHandler, opts: ServeOptions = {}): Promise<CniSocketServer> {
  const logger = opts.logger;
  const readTimeout = opts.requestReadTimeoutMs ?? 30_000;
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);

  const open = new Set<Socket>();
  const onConnection = async (sock: Socket): Promise<void> => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(readTimeout, () => sock.destroy());
    let line: string;
    try {
      line = await readLine(sock, MAX_MESSAGE_BYTES);
    } catch (e) {
      logger?.warn({ err: e }, 'dropped a CNI connection that sent no complete request');
      sock.destroy();
      return;
    }
    sock.setTimeout(0); // the handler may legitimately take long (ADD waits for the dataplane)
    const hangup = new AbortController();
    let answered = false;
    sock.once('close', () => {
      if (!answered) hangup.abort();
    });
    const ctx: CniRequestContext = { signal: hangup.signal };
    const exec = line.includes(EXEC_PROTOCOL) ? execRequestIn(line) : undefined;
    if (exec) {
      // The compiled shim: run the plugin here and send back what it would have printed.
      const outcome = exec === 'malformed' ? malformedExec() : await runCniInAgent(exec, { answer: (req) => answerFor(req, handler, ctx, logger), ...(logger ? { logger } : {}) });
      answered = true;
      if (!sock.destroyed) sock.end(encodeExecAnswer(outcome));
      return;
    }
    let answer: CniAnswer;
    try {
      answer = await answerFor(decodeRequest(line), handler, ctx, logger);
    } catch (e) {
      // The request itself is unreadable; answer with the decoding error so the plugin prints it.
      const id = (() => {
        try {
          const v = (JSON.parse(line) as { id?: unknown }).id;
          return typeof v === 'string' ? v : '';
        } catch {
          return '';
        }
      })();
      answer = errorAnswer(id, e instanceof CniError ? e : new CniError(CniCode.DecodingFailure, String(e)));
    }
    answered = true;
    if (!sock.destroyed) sock.end(encodeMessage(answer));
  };

  const server: Server = createServer((sock) => void onConnection(sock));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, opts.mode ?? 0o600);
  server.on('error', (e) => logger?.error({ err: e }, 'CNI socket server error'));

  let closed = false;
  return {
    path,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of open) s.destroy();
      await done;
      await unlink(path).catch(() => undefined); // net.Server already removes it on Linux
    },
  };
}
