import { CniCode, CniError } from './errors.js';
import type { CniVerb } from './env.js';
import { parseResult, type CniResult } from './result.js';
import { SUPPORTED_VERSIONS, isSupportedVersion, versionAtLeast, type CniVersion } from './versions.js';

/** Where the agent listens unless the config says otherwise. */
export const DEFAULT_AGENT_SOCKET = '/var/run/tabby/cni.sock';
/** ADD waits until the dataplane has programmed the endpoint, so this is generous. */
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
/** Upper bound on both timeouts: a runtime gives up on a sandbox well before this. */
export const MAX_TIMEOUT_SECONDS = 600;

/**
 * The network configuration as a runtime passes it on stdin (one plugin of a conflist,
 * with `name` and `cniVersion` copied in). Spec fields plus tabby's own snake_case ones,
 * named like Calico's plugin fields so a Calico user finds them where expected.
 */
export interface NetConfJson {
  cniVersion?: string;
  /** 1.1.0: versions the config is valid for; informational for a plugin. */
  cniVersions?: string[];
  name?: string;
  type?: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  ipMasq?: boolean;
  ipam?: { type?: string } & Record<string, unknown>;
  dns?: Record<string, unknown>;
  prevResult?: unknown;
  'cni.dev/valid-attachments'?: unknown;
  /** tabby: the agent's unix socket. */
  agent_socket?: string;
  /** tabby: overall bound on one request to the agent. */
  timeout_seconds?: number;
  /** tabby: bound on connecting to the agent's socket. */
  connect_timeout_seconds?: number;
  /** tabby: pino level for the plugin's own stderr log. */
  log_level?: string;
  [key: string]: unknown;
}

/** A GC keep-list entry (spec 1.1.0). */
export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  /** The object as received; forwarded to the agent untouched. */
  raw: NetConfJson;
  cniVersion: CniVersion;
  name: string;
  type: string;
  agentSocket: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  logLevel?: string;
  /** prevResult read into the 1.x shape, when present. */
  prevResult?: CniResult;
  /** GC only. */
  validAttachments?: ValidAttachment[];
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;
const IPAM_TYPES = ['tabby-ipam', 'calico-ipam'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function invalidConf(msg: string, details: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg, details);
}

function seconds(o: NetConfJson, key: 'timeout_seconds' | 'connect_timeout_seconds', dflt: number): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_TIMEOUT_SECONDS) {
    throw invalidConf(`"${key}" is ${JSON.stringify(v)}`, `set it to a number of seconds in (0, ${MAX_TIMEOUT_SECONDS}], default ${dflt}`);
  }
  return v;
}

/** The cniVersion a failure should be reported in: the config's when we can read it. */
export function reportVersion(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return isSupportedVersion(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes and validates stdin for `verb` (not VERSION). Throws CniError: 6 for bad JSON,
 * 1 for a version we do not speak or one too old for the verb, 7 for missing or wrong
 * fields, 2 for an `ipam` section tabby would silently ignore.
 */
export function parseNetConf(stdin: string, verb: Exclude<CniVerb, 'VERSION'>): NetConf {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      CniCode.DecodingFailure,
      'the network configuration on stdin is not valid JSON',
      `${(e as Error).message}; the runtime must pass one JSON object (a single plugin's config) on stdin`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CniError(CniCode.DecodingFailure, 'the network configuration on stdin is not a JSON object', 'pass one JSON object on stdin');
  }
  const raw = parsed as NetConfJson;

  const version = raw.cniVersion;
  if (version === undefined) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      'the network configuration has no "cniVersion"',
      `add "cniVersion" with one of ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `cniVersion ${JSON.stringify(version)} is not supported by tabby-cni`,
      `supported versions are ${SUPPORTED_VERSIONS.join(', ')}; change "cniVersion" in the CNI config file`,
    );
  }
  const minimum = verb === 'CHECK' ? '0.4.0' : verb === 'STATUS' || verb === 'GC' ? '1.1.0' : undefined;
  if (minimum && !versionAtLeast(version, minimum)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `the ${verb} command needs cniVersion ${minimum} or newer, the config says ${version}`,
      `raise "cniVersion" in the CNI config file to ${minimum} or newer`,
    );
  }

  if (Array.isArray(raw.plugins)) {
    throw invalidConf('stdin holds a configuration list ("plugins"), not one plugin\'s configuration', 'the runtime must pass each plugin its own entry of the list');
  }
  if (typeof raw.type !== 'string' || raw.type === '') {
    throw invalidConf('the network configuration has no "type"', 'set "type": "tabby-cni" (the plugin executable\'s name)');
  }
  if (typeof raw.name !== 'string' || raw.name === '') {
    throw invalidConf('the network configuration has no "name"', 'set "name" to the network\'s name, e.g. "k8s-pod-network"');
  }
  if (!NAME_RE.test(raw.name)) {
    throw invalidConf(`network name ${JSON.stringify(raw.name)} has characters the spec does not allow`, 'use letters, digits, "_", "." and "-" only');
  }
  if (raw.agent_socket !== undefined && (typeof raw.agent_socket !== 'string' || !raw.agent_socket.startsWith('/'))) {
    throw invalidConf(`"agent_socket" is ${JSON.stringify(raw.agent_socket)}`, `set it to the absolute path of the agent's socket, default ${DEFAULT_AGENT_SOCKET}`);
  }
  if (raw.log_level !== undefined && (typeof raw.log_level !== 'string' || !LOG_LEVELS.includes(raw.log_level))) {
    throw invalidConf(`"log_level" is ${JSON.stringify(raw.log_level)}`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  if (raw.ipam !== undefined) {
    const t = typeof raw.ipam === 'object' && raw.ipam !== null ? raw.ipam.type : undefined;
    if (typeof t !== 'string' || !IPAM_TYPES.includes(t)) {
      throw new CniError(
        CniCode.UnsupportedField,
        `"ipam" with type ${JSON.stringify(t)} is not supported`,
        'the tabby agent allocates addresses from its IP pools itself; remove "ipam" or set "ipam": {"type": "tabby-ipam"}',
      );
    }
  }
  const timeout = seconds(raw, 'timeout_seconds', DEFAULT_TIMEOUT_SECONDS);
  const connect = Math.min(seconds(raw, 'connect_timeout_seconds', DEFAULT_CONNECT_TIMEOUT_SECONDS), timeout);

  const conf: NetConf = {
    raw,
    cniVersion: version,
    name: raw.name,
    type: raw.type,
    agentSocket: raw.agent_socket ?? DEFAULT_AGENT_SOCKET,
    timeoutMs: Math.round(timeout * 1000),
    connectTimeoutMs: Math.round(connect * 1000),
  };
  if (raw.log_level !== undefined) conf.logLevel = raw.log_level;
  if (raw.prevResult !== undefined && raw.prevResult !== null) conf.prevResult = parseResult(raw.prevResult, 'prevResult');
  if (verb === 'CHECK' && !conf.prevResult) {
    throw invalidConf('CHECK needs "prevResult" in the network configuration', 'the runtime must pass the result of the preceding ADD as "prevResult"');
  }
  if (verb === 'GC') conf.validAttachments = parseValidAttachments(raw['cni.dev/valid-attachments']);
  return conf;
}

function parseValidAttachments(v: unknown): ValidAttachment[] {
  if (v === undefined || v === null) return [];
  const fix = 'it must be a list of {"containerID": "...", "ifname": "..."}';
  if (!Array.isArray(v)) throw invalidConf('"cni.dev/valid-attachments" is not a list', fix);
  return v.map((a, n) => {
    const o = a as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
      throw invalidConf(`"cni.dev/valid-attachments"[${n}] is malformed`, fix);
    }
    return { containerID: o.containerID, ifname: o.ifname };
  });
}
