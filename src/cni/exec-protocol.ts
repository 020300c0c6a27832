/**
 * The compiled shim's protocol (`tabby-cni-exec/1`, docs/design/cni.md "The shim"), spoken
 * on the same socket as `tabby-cni/1`: the agent tells them apart by the request's
 * `protocol` field.
 *
 * The shim (native/cni-shim/) does no CNI logic of its own. It forwards what the runtime
 * gave it, the CNI_* environment and stdin, as one JSON line:
 *
 *   {"protocol":"tabby-cni-exec/1","env":{"CNI_COMMAND":"ADD",...},"stdin":"..."}
 *
 * and the agent runs the TypeScript plugin (`runCni`) on it in-process and answers with a
 * header line and the raw bytes the plugin would print:
 *
 *   tabby-cni-exec/1 <exitCode> <byteLength>\n<stdout bytes>
 *
 * Raw bytes rather than JSON so the C side never has to unescape a string: it checks the
 * header and the length and copies the body to its stdout. Pure module.
 */
import type { PluginOutcome } from './plugin.js';

export const EXEC_PROTOCOL = 'tabby-cni-exec/1';

export interface CniExecRequest {
  protocol: typeof EXEC_PROTOCOL;
  /** The plugin's CNI_* environment as the runtime set it. */
  env: Record<string, string>;
  /** The network configuration exactly as the runtime wrote it on stdin. */
  stdin: string;
}

/** True when a decoded request line is an exec request (only its protocol is looked at). */
export function isExecRequest(v: unknown): v is { protocol: typeof EXEC_PROTOCOL } {
  return typeof v === 'object' && v !== null && (v as { protocol?: unknown }).protocol === EXEC_PROTOCOL;
}

/** Validates an exec request; undefined when it is malformed (the caller answers with code 6). */
export function readExecRequest(v: { protocol: typeof EXEC_PROTOCOL }): CniExecRequest | undefined {
  const o = v as { env?: unknown; stdin?: unknown };
  if (typeof o.stdin !== 'string' || typeof o.env !== 'object' || o.env === null || Array.isArray(o.env)) return undefined;
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(o.env)) if (typeof val === 'string') env[k] = val;
  return { protocol: EXEC_PROTOCOL, env, stdin: o.stdin };
}

export function encodeExecRequest(env: Record<string, string>, stdin: string): string {
  return `${JSON.stringify({ protocol: EXEC_PROTOCOL, env, stdin })}\n`;
}

export function encodeExecAnswer(outcome: PluginOutcome): Buffer {
  const body = Buffer.from(outcome.stdout, 'utf8');
  return Buffer.concat([Buffer.from(`${EXEC_PROTOCOL} ${outcome.exitCode} ${body.length}\n`, 'ascii'), body]);
}

/** The inverse of encodeExecAnswer (tests, and a TypeScript client if one is ever needed). */
export function decodeExecAnswer(bytes: Buffer): PluginOutcome | undefined {
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return undefined;
  const m = /^tabby-cni-exec\/1 ([01]) (\d+)$/.exec(bytes.subarray(0, nl).toString('ascii'));
  if (!m) return undefined;
  const body = bytes.subarray(nl + 1);
  if (body.length !== Number(m[2])) return undefined;
  return { stdout: body.toString('utf8'), exitCode: Number(m[1]) as 0 | 1 };
}
