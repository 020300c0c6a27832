import { CniCode, CniError } from './errors.js';

/** The verbs of spec 1.1.0. VERSION is answered locally; the others go to the agent. */
export const VERBS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type CniVerb = (typeof VERBS)[number];

type EnvName = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

/**
 * Which variables each verb requires (spec 1.1.0 "Parameters"). DEL does not require
 * CNI_NETNS: the namespace may already be gone and DEL must still release the address.
 * CNI_PATH is parsed but never required: tabby-cni delegates to no other plugin, so
 * refusing to run without it would only make hand-driven invocations fail.
 */
export const REQUIRED_ENV: Readonly<Record<CniVerb, readonly EnvName[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  STATUS: [],
  GC: [],
  VERSION: [],
};

/** CNI_ARGS keys tabby understands; others are refused unless `IgnoreUnknown` is set. */
export const KNOWN_ARGS = [
  'IgnoreUnknown',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
] as const;

export interface CniArgs {
  /** Every key=value pair from CNI_ARGS, in order of appearance (later keys win). */
  raw: Record<string, string>;
  ignoreUnknown: boolean;
  podNamespace?: string;
  podName?: string;
  podInfraContainerId?: string;
  podUid?: string;
}

/** The invocation as described by the CNI_* environment. */
export interface CniInvocation {
  verb: CniVerb;
  containerId: string;
  /** Empty when not given (allowed for DEL, STATUS, GC). */
  netns: string;
  ifname: string;
  args: CniArgs;
  /** CNI_PATH split on ':'; empty entries dropped. */
  path: string[];
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalid(msg: string, details: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, msg, details);
}

/** Validates an interface name per the spec: 1-15 bytes, not "." or "..", no '/', ':' or whitespace. */
export function checkIfname(name: string): string | undefined {
  if (name === '.' || name === '..') return `"${name}" is not a valid interface name`;
  if (Buffer.byteLength(name) > 15) return `"${name}" is longer than 15 bytes`;
  if (/[/:\s]/.test(name)) return `"${name}" contains '/', ':' or whitespace`;
  return undefined;
}

/** Parses CNI_ARGS ("K=V;K2=V2"). Values may contain '='; each pair must have a non-empty key. */
export function parseCniArgs(text: string): CniArgs {
  const raw: Record<string, string> = {};
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw invalid(
        `CNI_ARGS has a malformed pair "${part}"`,
        'CNI_ARGS must be KEY=VALUE pairs separated by ";", e.g. "IgnoreUnknown=1;K8S_POD_NAME=web-0"',
      );
    }
    raw[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const ignoreUnknown = ['1', 'true', 'True', 'TRUE'].includes(raw.IgnoreUnknown ?? '');
  if (!ignoreUnknown) {
    const unknown = Object.keys(raw).filter((k) => !(KNOWN_ARGS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw invalid(
        `CNI_ARGS has unknown key(s) ${unknown.join(', ')}`,
        `tabby-cni understands ${KNOWN_ARGS.join(', ')}; add "IgnoreUnknown=1" to CNI_ARGS to pass others through`,
      );
    }
  }
  const args: CniArgs = { raw, ignoreUnknown };
  if (raw.K8S_POD_NAMESPACE) args.podNamespace = raw.K8S_POD_NAMESPACE;
  if (raw.K8S_POD_NAME) args.podName = raw.K8S_POD_NAME;
  if (raw.K8S_POD_INFRA_CONTAINER_ID) args.podInfraContainerId = raw.K8S_POD_INFRA_CONTAINER_ID;
  if (raw.K8S_POD_UID) args.podUid = raw.K8S_POD_UID;
  return args;
}

/**
 * Reads and validates the CNI_* environment. Throws CniError code 4 naming the variable,
 * what is wrong with it, and what the runtime should have set.
 */
export function parseCniEnv(env: Readonly<Record<string, string | undefined>>): CniInvocation {
  const command = env.CNI_COMMAND;
  if (!command) {
    throw invalid(
      'CNI_COMMAND is not set',
      `tabby-cni is a CNI plugin run by a container runtime; set CNI_COMMAND to one of ${VERBS.join(', ')}`,
    );
  }
  if (!(VERBS as readonly string[]).includes(command)) {
    throw invalid(`CNI_COMMAND "${command}" is not a CNI verb`, `use one of ${VERBS.join(', ')}`);
  }
  const verb = command as CniVerb;
  for (const name of REQUIRED_ENV[verb]) {
    if (!env[name]) {
      throw invalid(`${name} is not set`, `the ${verb} command requires ${REQUIRED_ENV[verb].join(', ')}`);
    }
  }
  const containerId = env.CNI_CONTAINERID ?? '';
  if (containerId && !CONTAINER_ID_RE.test(containerId)) {
    throw invalid(
      `CNI_CONTAINERID "${containerId}" is malformed`,
      'a container ID starts with a letter or digit and contains only letters, digits, "_", "." and "-"',
    );
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (ifname) {
    const problem = checkIfname(ifname);
    if (problem) throw invalid(`CNI_IFNAME ${problem}`, 'use a Linux interface name such as "eth0"');
  }
  return {
    verb,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifname,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}
