/**
 * The plugin ↔ agent protocol over the agent's unix socket (docs/design/cni.md).
 *
 * One request per connection: the plugin connects, writes one JSON object followed by
 * "\n", the agent writes one JSON answer followed by "\n" and closes. One request per
 * connection keeps both sides trivial (no multiplexing, no ids to match across requests)
 * and costs nothing next to creating a veth. The `id` is still carried so the agent's log
 * and the plugin's log can be joined.
 *
 * This module is pure: types, encoding and validation shared by client.ts and server.ts.
 */
import { CniCode, CniError, type CniErrorJson } from './errors.js';
import type { NetConfJson, ValidAttachment } from './netconf.js';
import { parseResult, type CniResult } from './result.js';
import { isSupportedVersion, type CniVersion } from './versions.js';

/** Bumped only for incompatible changes; the agent refuses other values with code 105. */
export const PROTOCOL_VERSION = 'tabby-cni/1';

/** No message is larger than this; a peer sending more is cut off. */
export const MAX_MESSAGE_BYTES = 1 << 20;

export const AGENT_VERBS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'] as const;
export type AgentVerb = (typeof AGENT_VERBS)[number];

/** The Kubernetes identity from CNI_ARGS, when the runtime is a kubelet. */
export interface PodRef {
  namespace: string;
  name: string;
  infraContainerId?: string;
  uid?: string;
}

export interface CniRequest {
  protocol: typeof PROTOCOL_VERSION;
  /** Random, for joining the plugin's and the agent's logs. */
  id: string;
  verb: AgentVerb;
  /** The version the runtime speaks; the agent answers in the 1.x shape regardless. */
  cniVersion: CniVersion;
  /** The network's name from the config; with containerId and ifname the attachment key. */
  network: string;
  /** Empty for STATUS and GC. */
  containerId: string;
  /** Netns path; may be empty for DEL (namespace already gone), STATUS and GC. */
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs, unknown keys included when IgnoreUnknown was set. */
  args: Record<string, string>;
  pod?: PodRef;
  /** The network config exactly as the runtime passed it. */
  config: NetConfJson;
  /** prevResult in the 1.x shape (CHECK always, DEL when the runtime has one). */
  prevResult?: CniResult;
  /** GC: the attachments to keep; everything else of this network may be released. */
  validAttachments?: ValidAttachment[];
}

export interface CniAnswerOk {
  protocol: typeof PROTOCOL_VERSION;
  id: string;
  ok: true;
  /** ADD only: the 1.x-shaped result; the plugin converts it to the runtime's version. */
  result?: CniResult;
}

export interface CniAnswerError {
  protocol: typeof PROTOCOL_VERSION;
  id: string;
  ok: false;
  error: Omit<CniErrorJson, 'cniVersion'>;
}

export type CniAnswer = CniAnswerOk | CniAnswerError;

/** One line on the wire. */
export function encodeMessage(msg: CniRequest | CniAnswer): string {
  return `${JSON.stringify(msg)}\n`;
}

export function okAnswer(id: string, result?: CniResult): CniAnswerOk {
  return result ? { protocol: PROTOCOL_VERSION, id, ok: true, result } : { protocol: PROTOCOL_VERSION, id, ok: true };
}

export function errorAnswer(id: string, err: CniError): CniAnswerError {
  const error: CniAnswerError['error'] = { code: err.cniCode, msg: err.msg };
  if (err.details) error.details = err.details;
  return { protocol: PROTOCOL_VERSION, id, ok: false, error };
}

function protocolError(msg: string, details: string): CniError {
  return new CniError(CniCode.AgentProtocol, msg, details);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Agent side: validates a request line. Throws CniError 6 for a line that is not a request
 * and 105 for another protocol version, both meant to be sent back to the plugin.
 */
export function decodeRequest(line: string): CniRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, 'the agent could not decode the plugin\'s request', (e as Error).message);
  }
  if (!isObj(v)) throw new CniError(CniCode.DecodingFailure, 'the plugin\'s request is not a JSON object');
  if (v.protocol !== PROTOCOL_VERSION) {
    throw protocolError(
      `the plugin speaks ${JSON.stringify(v.protocol)}, the agent ${PROTOCOL_VERSION}`,
      'install the tabby-cni binary from the same release as the agent',
    );
  }
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== 'string') throw new CniError(CniCode.DecodingFailure, `the plugin's request has no string "${k}"`);
    return x;
  };
  const verb = str('verb');
  if (!(AGENT_VERBS as readonly string[]).includes(verb)) {
    throw new CniError(CniCode.DecodingFailure, `the plugin's request has unknown verb ${JSON.stringify(verb)}`);
  }
  const cniVersion = str('cniVersion');
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(CniCode.IncompatibleVersion, `cniVersion ${JSON.stringify(cniVersion)} is not supported by the agent`);
  }
  if (!isObj(v.config)) throw new CniError(CniCode.DecodingFailure, 'the plugin\'s request has no "config" object');
  const args = isObj(v.args) ? v.args : {};
  const req: CniRequest = {
    protocol: PROTOCOL_VERSION,
    id: str('id'),
    verb: verb as AgentVerb,
    cniVersion,
    network: str('network'),
    containerId: str('containerId'),
    netns: str('netns'),
    ifname: str('ifname'),
    args: Object.fromEntries(Object.entries(args).filter((e): e is [string, string] => typeof e[1] === 'string')),
    config: v.config as NetConfJson,
  };
  if (isObj(v.pod) && typeof v.pod.namespace === 'string' && typeof v.pod.name === 'string') {
    req.pod = v.pod as unknown as PodRef;
  }
  if (v.prevResult !== undefined) req.prevResult = parseResult(v.prevResult, 'prevResult');
  if (Array.isArray(v.validAttachments)) req.validAttachments = v.validAttachments as ValidAttachment[];
  return req;
}

/**
 * Plugin side: turns the agent's answer line into a result (ok) or a CniError (the agent's
 * error, passed through with its code). A malformed answer becomes CniError 105.
 */
export function decodeAnswer(line: string, expectedId: string): { result?: CniResult } | CniError {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return protocolError('the agent\'s answer is not JSON', `${(e as Error).message}; check that the socket belongs to a tabby agent`);
  }
  if (!isObj(v) || v.protocol !== PROTOCOL_VERSION) {
    return protocolError(
      `the agent answered in protocol ${JSON.stringify(isObj(v) ? v.protocol : undefined)}, expected ${PROTOCOL_VERSION}`,
      'install the tabby-cni binary from the same release as the agent',
    );
  }
  if (v.id !== expectedId) {
    return protocolError(`the agent answered request ${JSON.stringify(v.id)}, expected ${expectedId}`, 'this is a bug in the agent; report it');
  }
  if (v.ok === true) {
    if (v.result === undefined) return {};
    try {
      return { result: parseResult(v.result, 'the agent\'s result') };
    } catch (e) {
      const ce = e as CniError;
      return protocolError(ce.msg ?? 'the agent\'s result is malformed', ce.details ?? '');
    }
  }
  if (v.ok === false) {
    const err = CniError.fromJSON(v.error);
    if (err) return err;
  }
  return protocolError('the agent\'s answer has neither a result nor an error', 'this is a bug in the agent; report it');
}
