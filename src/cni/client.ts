import { connect, type Socket } from 'node:net';
import { CniCode, CniError } from './errors.js';
import { LineReadError, readLine } from './line-reader.js';
import { MAX_MESSAGE_BYTES, decodeAnswer, encodeMessage, type CniRequest } from './protocol.js';
import type { CniResult } from './result.js';

/** The timer functions the client uses, injectable so tests need not wait. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ClientOptions {
  socketPath: string;
  /** Bound on establishing the connection. */
  connectTimeoutMs: number;
  /** Bound on the whole exchange, connection included. */
  timeoutMs: number;
  timers?: Timers;
}

/** The one hint every "agent not reachable" message carries. */
export function agentNotReachable(socketPath: string, cause: string, code: number = CniCode.TryAgainLater): CniError {
  return new CniError(
    code,
    `is \`tabby agent\` running on this node? socket ${socketPath} not reachable: ${cause}`,
    'start the agent (`tabby agent`, or check the tabby DaemonSet pod on this node) and make sure "agent_socket" in the CNI config names the socket it listens on',
  );
}

/** The 104 a request gets when the agent has not answered within `timeoutMs`. */
export function agentTimedOut(req: Pick<CniRequest, 'verb' | 'containerId' | 'id'>, timeoutMs: number): CniError {
  return new CniError(
    CniCode.AgentTimeout,
    `the agent did not answer ${req.verb} for container ${req.containerId || '-'} within ${timeoutMs} ms (request ${req.id})`,
    'the agent log has this request id; if the node is just slow, raise "timeout_seconds" in the CNI config',
  );
}

/**
 * Sends one request to the agent and waits for its answer. Resolves with the result (ADD)
 * or nothing; rejects with a CniError: the agent's own error passed through, 11 when the
 * agent is not there, 104 when it does not answer in time, 5 when the connection breaks.
 */
export function sendCniRequest(req: CniRequest, opts: ClientOptions): Promise<{ result?: CniResult }> {
  const timers = opts.timers ?? realTimers;
  return new Promise((resolve, reject) => {
    let settled = false;
    let socket: Socket | undefined;
    const handles: unknown[] = [];
    const settle = (err: CniError | undefined, value?: { result?: CniResult }): void => {
      if (settled) return;
      settled = true;
      for (const h of handles) timers.clearTimeout(h);
      socket?.destroy();
      if (err) reject(err);
      else resolve(value ?? {});
    };

    let connected = false;
    handles.push(
      timers.setTimeout(() => {
        if (!connected) settle(agentNotReachable(opts.socketPath, `no connection within ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs),
    );
    handles.push(timers.setTimeout(() => settle(agentTimedOut(req, opts.timeoutMs)), opts.timeoutMs));

    socket = connect({ path: opts.socketPath });
    // `on`, not `once`: a second error must not become an uncaught exception.
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (connected) return; // readLine reports errors after connecting
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK') {
        settle(agentNotReachable(opts.socketPath, `${e.code} (${e.message})`));
      } else {
        settle(new CniError(CniCode.IoFailure, `cannot connect to the agent socket ${opts.socketPath}: ${e.message}`, e.code === 'EACCES' ? 'tabby-cni must run as root, like the runtime that calls it' : ''));
      }
    });
    socket.once('connect', () => {
      connected = true;
      const s = socket as Socket;
      readLine(s, MAX_MESSAGE_BYTES).then(
        (line) => {
          const answer = decodeAnswer(line, req.id);
          if (answer instanceof CniError) settle(answer);
          else settle(undefined, answer);
        },
        (e: LineReadError) => {
          if (e.reason === 'too-large') {
            settle(new CniError(CniCode.AgentProtocol, `the agent's answer is larger than ${MAX_MESSAGE_BYTES} bytes`, 'this is a bug in the agent; report it'));
          } else {
            settle(new CniError(CniCode.IoFailure, `the agent at ${opts.socketPath} dropped request ${req.id} (${req.verb}) without answering: ${e.message}`, 'the agent log says why (it may have restarted); the runtime will retry'));
          }
        },
      );
      s.write(encodeMessage(req));
    });
  });
}
