/**
 * The agent's settings, resolved the way operators expect:
 *
 *   command-line flag  >  environment TABBY_<UPPER_SNAKE>  >  YAML file (--config-file)  >  default
 *
 * Pure: flags, environment, the file's text and the hostname are passed in, so every rule
 * is unit-tested. Datastore settings are not here: they keep calicoctl's resolution
 * (src/datastore/config.ts). Every error names the setting, where its value came from,
 * and what would be accepted.
 */
import { parse as parseYaml } from 'yaml';
import { parseCidr, parseIPv4 } from '../ipam/cidr.js';
import { DEFAULT_POOL_CIDR } from '../ipam/pools.js';
import { DEFAULT_AGENT_SOCKET } from '../cni/netconf.js';
import { pinDirFor } from '../dataplane/bpf/pin-dir.js';
import { CLUSTER_ROUTE_SOURCES, type ClusterRouteSource } from '../calc/desired-state.js';
import { AgentError } from './errors.js';

export const DATAPLANE_CHOICES = ['auto', 'bpf', 'legacy'] as const;
/** `--bgp`: run the BGP speaker (default) or not (routes still come from the datastore). */
export const BGP_CHOICES = ['enabled', 'disabled'] as const;
export type BgpChoice = (typeof BGP_CHOICES)[number];
export type DataplaneChoice = (typeof DATAPLANE_CHOICES)[number];
/**
 * `--cluster-routes`: where routes to other nodes' blocks come from: the datastore's block
 * affinities (default), or what BGP learned (for fabrics where only BGP knows the way).
 */
export const CLUSTER_ROUTES_CHOICES = CLUSTER_ROUTE_SOURCES;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type AgentLogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_HTTP_LISTEN = '127.0.0.1:9099';
/** `--bgp-warm-up`: prefixes in the synthetic table run through the learned-route path at start (warm-up.ts). */
export const DEFAULT_BGP_WARM_UP = 4000;
const MAX_BGP_WARM_UP = 100_000;
/** `--bgp-secrets-dir`: BGP passwords, one directory per Secret, one file per key (src/bgp/speaker/secrets.ts). */
export const DEFAULT_BGP_SECRETS_DIR = '/etc/tabby/bgp-secrets';

export interface HostPort {
  host: string;
  port: number;
}

export interface AgentSettings {
  nodeName: string;
  dataplane: DataplaneChoice;
  stateDir: string;
  pinDir: string;
  cniSocket: string;
  httpListen: HostPort;
  /** Autodetected (the default route's interface) when absent. */
  uplink?: string;
  /** `a.b.c.d/len`; autodetected (the uplink's first IPv4 address) when absent. */
  nodeIp?: string;
  defaultPoolCidr: string;
  logLevel: AgentLogLevel;
  /** Absent: enabled. */
  bgp?: BgpChoice;
  /** Absent: datastore. */
  clusterRoutes?: ClusterRouteSource;
  /**
   * Prefixes the BGP warm-up runs through the learned-route path before the speaker starts
   * (src/agent/warm-up.ts); 0 or absent: none. The resolver's default is DEFAULT_BGP_WARM_UP.
   */
  bgpWarmUp?: number;
  /** Where BGP passwords are read; DEFAULT_BGP_SECRETS_DIR when absent. */
  bgpSecretsDir?: string;
}

/** The settings as flags name them (camelCase of the long flag). */
export const SETTING_NAMES = [
  'nodeName',
  'dataplane',
  'stateDir',
  'pinDir',
  'cniSocket',
  'httpListen',
  'uplink',
  'nodeIp',
  'defaultPoolCidr',
  'logLevel',
  'bgp',
  'clusterRoutes',
  'bgpWarmUp',
  'bgpSecretsDir',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

export interface SettingSources {
  /** Values given on the command line (undefined when not given). */
  flags?: Partial<Record<SettingName, string | undefined>>;
  env?: Record<string, string | undefined>;
  /** The --config-file contents and its path (for messages). */
  file?: { path: string; text: string };
  /** Default for --node-name. */
  hostname: string;
}

interface Value {
  value: string;
  from: string;
}

/** `nodeName` -> `TABBY_NODE_NAME`. */
export function envNameOf(name: SettingName): string {
  return `TABBY_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** `nodeName` -> `node-name`. */
export function flagNameOf(name: SettingName): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function readFile(file: { path: string; text: string }): Partial<Record<SettingName, Value>> {
  let doc: unknown;
  try {
    doc = parseYaml(file.text);
  } catch (err) {
    throw new AgentError('AGENT_CONFIG', `agent config file ${file.path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new AgentError('AGENT_CONFIG', `agent config file ${file.path} must be a YAML mapping of settings (e.g. "nodeName: node1")`);
  }
  const out: Partial<Record<SettingName, Value>> = {};
  for (const [rawKey, v] of Object.entries(doc as Record<string, unknown>)) {
    // Accept the flag spelling too (node-name), people copy it from --help.
    const key = rawKey.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(SETTING_NAMES as readonly string[]).includes(key)) {
      throw new AgentError('AGENT_CONFIG', `agent config file ${file.path}: unknown setting ${JSON.stringify(rawKey)}; known settings are ${SETTING_NAMES.join(', ')}`);
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new AgentError('AGENT_CONFIG', `agent config file ${file.path}: ${rawKey} must be a string`);
    }
    out[key as SettingName] = { value: String(v), from: `${rawKey} in ${file.path}` };
  }
  return out;
}

function bad(v: Value, name: SettingName, want: string): AgentError {
  return new AgentError('AGENT_CONFIG', `bad ${flagNameOf(name)} ${JSON.stringify(v.value)} from ${v.from}: ${want}`);
}

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  let host = m[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || port > 65535) return undefined;
  return { host, port };
}

/** Checks `a.b.c.d/len` (host bits allowed: it is an interface address). */
export function isHostCidr(text: string): boolean {
  const [addr, len, ...rest] = text.split('/');
  if (rest.length > 0 || len === undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) return false;
  try {
    parseIPv4(addr ?? '');
    return true;
  } catch {
    return false;
  }
}

export function resolveAgentSettings(src: SettingSources): AgentSettings {
  const env = src.env ?? {};
  const file = src.file ? readFile(src.file) : {};
  const pick = (name: SettingName): Value | undefined => {
    const f = src.flags?.[name];
    if (f !== undefined && f !== '') return { value: f, from: `--${flagNameOf(name)}` };
    const e = env[envNameOf(name)];
    if (e !== undefined && e !== '') return { value: e, from: `environment variable ${envNameOf(name)}` };
    return file[name];
  };
  const dflt = (value: string): Value => ({ value, from: 'the default' });

  const nodeName = pick('nodeName') ?? dflt(src.hostname);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName.value) || nodeName.value.length > 253) {
    throw bad(nodeName, 'nodeName', 'a node name is lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (set --node-name)');
  }
  const node = nodeName.value;

  const dataplane = pick('dataplane') ?? dflt('auto');
  if (!(DATAPLANE_CHOICES as readonly string[]).includes(dataplane.value)) throw bad(dataplane, 'dataplane', `use one of ${DATAPLANE_CHOICES.join(', ')}`);

  const path = (name: SettingName, d: string): string => {
    const v = pick(name) ?? dflt(d);
    if (!v.value.startsWith('/')) throw bad(v, name, 'use an absolute path');
    return v.value;
  };

  const http = pick('httpListen') ?? dflt(DEFAULT_HTTP_LISTEN);
  const httpListen = parseHostPort(http.value);
  if (!httpListen) throw bad(http, 'httpListen', 'use host:port, e.g. 127.0.0.1:9099 (port 0 picks a free one)');

  const uplink = pick('uplink');
  if (uplink && (uplink.value.length > 15 || /[/:\s]/.test(uplink.value))) throw bad(uplink, 'uplink', 'use a Linux interface name such as eth0');

  const nodeIp = pick('nodeIp');
  if (nodeIp && !isHostCidr(nodeIp.value)) throw bad(nodeIp, 'nodeIp', 'use the node address with its prefix length, e.g. 10.0.0.2/24');

  const pool = pick('defaultPoolCidr') ?? dflt(DEFAULT_POOL_CIDR);
  try {
    parseCidr(pool.value);
  } catch (err) {
    throw bad(pool, 'defaultPoolCidr', `${(err as Error).message}; use a network such as 192.168.0.0/16`);
  }

  const level = pick('logLevel') ?? dflt('info');
  if (!(LOG_LEVELS as readonly string[]).includes(level.value)) throw bad(level, 'logLevel', `use one of ${LOG_LEVELS.join(', ')}`);

  const bgp = pick('bgp');
  if (bgp && !(BGP_CHOICES as readonly string[]).includes(bgp.value)) throw bad(bgp, 'bgp', `use one of ${BGP_CHOICES.join(', ')}`);

  const clusterRoutes = pick('clusterRoutes');
  if (clusterRoutes && !(CLUSTER_ROUTES_CHOICES as readonly string[]).includes(clusterRoutes.value)) {
    throw bad(clusterRoutes, 'clusterRoutes', `use one of ${CLUSTER_ROUTES_CHOICES.join(', ')} (datastore: from block affinities; bgp: from routes BGP learned)`);
  }
  const warmUp = pick('bgpWarmUp') ?? dflt(String(DEFAULT_BGP_WARM_UP));
  if (!/^\d+$/.test(warmUp.value) || Number(warmUp.value) > MAX_BGP_WARM_UP) {
    throw bad(warmUp, 'bgpWarmUp', `use a number of prefixes from 0 (no warm-up) to ${MAX_BGP_WARM_UP}`);
  }

  const conflict = clusterRoutesConflict({ bgp: bgp?.value as BgpChoice | undefined, clusterRoutes: clusterRoutes?.value as ClusterRouteSource | undefined });
  if (conflict) throw new AgentError('AGENT_CONFIG', `${conflict} (--cluster-routes from ${clusterRoutes!.from}, --bgp from ${bgp!.from})`);

  return {
    nodeName: node,
    dataplane: dataplane.value as DataplaneChoice,
    stateDir: path('stateDir', `/var/lib/tabby/${node}`),
    // bpffs refuses '.' in names: FQDN node names become node_example_com.
    pinDir: path('pinDir', pinDirFor(node)),
    cniSocket: path('cniSocket', DEFAULT_AGENT_SOCKET),
    httpListen,
    ...(uplink ? { uplink: uplink.value } : {}),
    ...(nodeIp ? { nodeIp: nodeIp.value } : {}),
    defaultPoolCidr: pool.value,
    logLevel: level.value as AgentLogLevel,
    ...(bgp ? { bgp: bgp.value as BgpChoice } : {}),
    ...(clusterRoutes ? { clusterRoutes: clusterRoutes.value as ClusterRouteSource } : {}),
    bgpWarmUp: Number(warmUp.value),
    bgpSecretsDir: path('bgpSecretsDir', DEFAULT_BGP_SECRETS_DIR),
  };
}

/**
 * Cluster routes from BGP need the speaker: without it no node would have a route to
 * another's pods. Returns the reason to refuse, or undefined. Checked when settings are
 * resolved and again by startAgent (settings may be built without the resolver).
 */
export function clusterRoutesConflict(s: Pick<AgentSettings, 'bgp' | 'clusterRoutes'>): string | undefined {
  if (s.clusterRoutes !== 'bgp' || s.bgp !== 'disabled') return undefined;
  return '--cluster-routes bgp needs the BGP speaker, but --bgp is disabled: no route to another node\'s pods could be learned; enable BGP or use --cluster-routes datastore';
}
