/**
 * Runs the TypeScript plugin (`runCni`) inside the agent for a request forwarded by the
 * compiled shim, so there is one implementation of the plugin's validation, version
 * conversion and error reporting whichever executable the runtime started.
 *
 * The request still goes through the socket path's encoding and validation
 * (encodeMessage → decodeRequest, answer → decodeAnswer): a few microseconds, and the agent
 * sees exactly what it would see from the Node plugin. Only the transport is skipped.
 */
import type { Logger } from '../log/logger.js';
import { agentTimedOut, type Timers } from './client.js';
import { CniError } from './errors.js';
import type { CniExecRequest } from './exec-protocol.js';
import { runCni, type PluginOutcome } from './plugin.js';
import { decodeAnswer, decodeRequest, encodeMessage, type CniAnswer, type CniRequest } from './protocol.js';

export interface InAgentOptions {
  /** Answers one validated request, as the socket server does for a `tabby-cni/1` line. */
  answer(req: CniRequest): Promise<CniAnswer>;
  logger?: Logger;
  timers?: Timers;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export function runCniInAgent(exec: CniExecRequest, opts: InAgentOptions): Promise<PluginOutcome> {
  const timers = opts.timers ?? realTimers;
  return runCni({
    env: exec.env,
    stdin: exec.stdin,
    ...(opts.logger ? { makeLogger: () => opts.logger! } : {}),
    send: async (req, o) => {
      const line = encodeMessage(req);
      const decoded = decodeRequest(line.slice(0, -1));
      let timer: unknown;
      // The same bound the socket client puts on the exchange ("timeout_seconds"), with the
      // same 104; the shim's own bound is a little longer, so this one answers first.
      const timedOut = new Promise<never>((_, reject) => {
        timer = timers.setTimeout(() => reject(agentTimedOut(req, o.timeoutMs)), o.timeoutMs);
      });
      let answer: CniAnswer;
      try {
        answer = await Promise.race([opts.answer(decoded), timedOut]);
      } finally {
        timers.clearTimeout(timer);
      }
      const out = decodeAnswer(JSON.stringify(answer), req.id);
      if (out instanceof CniError) throw out;
      return out;
    },
  });
}
