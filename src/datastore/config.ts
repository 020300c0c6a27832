/**
 * Where the datastore is, resolved the way a Calico user expects:
 *
 *   explicit options (CLI flags)  >  config file  >  environment  >  defaults
 *
 * The config file is calicoctl's format (`kind: CalicoAPIConfig`); it is read from the
 * path given, else from /etc/tabby/tabbyctl.cfg when that file exists. Environment:
 * DATASTORE_TYPE, ETCD_ENDPOINTS (comma separated), ETCD_CA_CERT_FILE, ETCD_CERT_FILE,
 * ETCD_KEY_FILE, TABBY_DATASTORE_ROOT. Every error names the setting and where it came
 * from, and says how to fix it.
 */
import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../log/logger.js';
import type { Backend } from './backend.js';
import { DatastoreConfigError } from './errors.js';
import { EtcdBackend, type EtcdTlsFiles } from './etcd.js';
import { DEFAULT_DATASTORE_ROOT, Keys } from './keys.js';
import { MemoryBackend } from './memory.js';

export const DEFAULT_CONFIG_PATH = '/etc/tabby/tabbyctl.cfg';
export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

export type DatastoreType = 'etcdv3' | 'memory';

/** Explicit settings, e.g. from CLI flags; each overrides the config file and environment. */
export interface DatastoreFlags {
  /** --config: path of a CalicoAPIConfig file (must exist when given). */
  configFile?: string;
  /** --datastore-type */
  datastoreType?: string;
  /** --etcd-endpoints: comma separated URLs. */
  etcdEndpoints?: string;
  /** --etcd-ca-cert-file, --etcd-cert-file, --etcd-key-file */
  etcdCACertFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** --datastore-root */
  root?: string;
}

export interface DatastoreConfig {
  type: DatastoreType;
  /** Normalised URLs (scheme, host, port). Empty for memory. */
  endpoints: string[];
  tls?: EtcdTlsFiles;
  /** Key root, `/calico` unless configured. */
  root: string;
  /** The config file that was read, if any. */
  configFile?: string;
}

/** Filesystem and environment, injected so tests need neither. */
export interface ConfigSources {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
  /** True when `path` exists and is readable. */
  readable?: (path: string) => boolean;
  defaultConfigPath?: string;
}

interface Setting {
  value: string;
  from: string;
}

const SPEC_FIELDS = ['datastoreType', 'etcdEndpoints', 'etcdCACertFile', 'etcdCertFile', 'etcdKeyFile'] as const;
type SpecField = (typeof SPEC_FIELDS)[number];

function defaultReadable(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function readConfigFile(path: string, readFile: (p: string) => string): Partial<Record<SpecField, Setting>> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new DatastoreConfigError(`cannot read datastore config file ${path}: ${(err as Error).message}; check the --config path`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new DatastoreConfigError(`datastore config file ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const obj = (doc ?? {}) as Record<string, unknown>;
  if (typeof obj !== 'object' || Array.isArray(obj)) throw new DatastoreConfigError(`datastore config file ${path} must be a YAML mapping (kind: CalicoAPIConfig)`);
  if (obj.kind !== 'CalicoAPIConfig') {
    throw new DatastoreConfigError(`datastore config file ${path}: kind must be CalicoAPIConfig, got ${JSON.stringify(obj.kind)}`);
  }
  if (obj.apiVersion !== 'projectcalico.org/v3') {
    throw new DatastoreConfigError(`datastore config file ${path}: apiVersion must be projectcalico.org/v3, got ${JSON.stringify(obj.apiVersion)}`);
  }
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (typeof spec !== 'object' || Array.isArray(spec)) throw new DatastoreConfigError(`datastore config file ${path}: spec must be a mapping`);
  const out: Partial<Record<SpecField, Setting>> = {};
  for (const [field, value] of Object.entries(spec)) {
    if (!(SPEC_FIELDS as readonly string[]).includes(field)) {
      // A Kubernetes-datastore file (kubeconfig, k8sAPIEndpoint, ...) gets the type error below instead.
      if (spec.datastoreType !== undefined && spec.datastoreType !== 'etcdv3' && spec.datastoreType !== 'memory') continue;
      throw new DatastoreConfigError(`datastore config file ${path}: unknown field spec.${field}; tabby reads ${SPEC_FIELDS.map((f) => `spec.${f}`).join(', ')}`);
    }
    if (typeof value !== 'string') throw new DatastoreConfigError(`datastore config file ${path}: spec.${field} must be a string`);
    out[field as SpecField] = { value, from: `spec.${field} in ${path}` };
  }
  return out;
}

function parseEndpoints(s: Setting): string[] {
  const parts = s.value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new DatastoreConfigError(`no etcd endpoint in ${s.from}; expected e.g. ${DEFAULT_ETCD_ENDPOINT}`);
  const urls = parts.map((p) => {
    let url: URL;
    try {
      url = new URL(p);
    } catch {
      throw new DatastoreConfigError(`bad etcd endpoint ${JSON.stringify(p)} in ${s.from}: expected a URL like ${DEFAULT_ETCD_ENDPOINT}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DatastoreConfigError(`bad etcd endpoint ${JSON.stringify(p)} in ${s.from}: the scheme must be http or https`);
    }
    if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      throw new DatastoreConfigError(`bad etcd endpoint ${JSON.stringify(p)} in ${s.from}: give only scheme, host and port (e.g. ${DEFAULT_ETCD_ENDPOINT})`);
    }
    return `${url.protocol}//${url.hostname}:${url.port || '2379'}`;
  });
  const secure = urls.filter((u) => u.startsWith('https:')).length;
  if (secure !== 0 && secure !== urls.length) {
    throw new DatastoreConfigError(`etcd endpoints in ${s.from} mix http and https; use one scheme for all`);
  }
  return urls;
}

/** Resolves the datastore settings; throws DatastoreConfigError with a fix for anything wrong. */
export function resolveDatastoreConfig(flags: DatastoreFlags = {}, sources: ConfigSources = {}): DatastoreConfig {
  const env = sources.env ?? process.env;
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const readable = sources.readable ?? defaultReadable;
  const defaultPath = sources.defaultConfigPath ?? DEFAULT_CONFIG_PATH;

  let configFile: string | undefined;
  let file: Partial<Record<SpecField, Setting>> = {};
  if (flags.configFile !== undefined) {
    configFile = flags.configFile;
    file = readConfigFile(configFile, readFile);
  } else if (readable(defaultPath)) {
    configFile = defaultPath;
    file = readConfigFile(configFile, readFile);
  }

  const pick = (flag: string | undefined, flagName: string, field: SpecField, envName: string): Setting | undefined => {
    if (flag !== undefined && flag !== '') return { value: flag, from: `--${flagName}` };
    if (file[field]) return file[field];
    const e = env[envName];
    if (e !== undefined && e !== '') return { value: e, from: `environment variable ${envName}` };
    return undefined;
  };

  const typeSetting = pick(flags.datastoreType, 'datastore-type', 'datastoreType', 'DATASTORE_TYPE') ?? { value: 'etcdv3', from: 'the default' };
  const type = typeSetting.value;
  if (type !== 'etcdv3' && type !== 'memory') {
    const hint = type === 'kubernetes' ? ' (the Kubernetes API datastore is not supported)' : '';
    throw new DatastoreConfigError(`unsupported datastore type ${JSON.stringify(type)} from ${typeSetting.from}${hint}: tabby supports etcdv3; set DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS`);
  }

  const rootSetting = flags.root !== undefined && flags.root !== '' ? { value: flags.root, from: '--datastore-root' } : env.TABBY_DATASTORE_ROOT ? { value: env.TABBY_DATASTORE_ROOT, from: 'environment variable TABBY_DATASTORE_ROOT' } : undefined;
  let root = DEFAULT_DATASTORE_ROOT;
  if (rootSetting) {
    try {
      root = new Keys(rootSetting.value).root;
    } catch (err) {
      throw new DatastoreConfigError(`bad datastore root ${JSON.stringify(rootSetting.value)} from ${rootSetting.from}: ${(err as Error).message}`, { cause: err });
    }
  }

  const base = { root, ...(configFile ? { configFile } : {}) };
  if (type === 'memory') return { type, endpoints: [], ...base };

  const endpoints = parseEndpoints(pick(flags.etcdEndpoints, 'etcd-endpoints', 'etcdEndpoints', 'ETCD_ENDPOINTS') ?? { value: DEFAULT_ETCD_ENDPOINT, from: 'the default' });
  const ca = pick(flags.etcdCACertFile, 'etcd-ca-cert-file', 'etcdCACertFile', 'ETCD_CA_CERT_FILE');
  const cert = pick(flags.etcdCertFile, 'etcd-cert-file', 'etcdCertFile', 'ETCD_CERT_FILE');
  const key = pick(flags.etcdKeyFile, 'etcd-key-file', 'etcdKeyFile', 'ETCD_KEY_FILE');
  for (const s of [ca, cert, key]) {
    if (s && !readable(s.value)) throw new DatastoreConfigError(`cannot read ${s.value} (from ${s.from}): the file is missing or not readable`);
  }
  if (!ca && !cert && !key) return { type, endpoints, ...base };
  if (!endpoints[0]!.startsWith('https:')) {
    throw new DatastoreConfigError(`etcd TLS files are set but the endpoints use http (${endpoints.join(',')}); use https:// endpoints`);
  }
  if (!ca) throw new DatastoreConfigError('etcd TLS needs the CA certificate: set ETCD_CA_CERT_FILE (or --etcd-ca-cert-file / spec.etcdCACertFile)');
  if (Boolean(cert) !== Boolean(key)) {
    throw new DatastoreConfigError(`etcd client TLS needs both a certificate and its key; only ${cert ? cert.from : key!.from} is set`);
  }
  return { type, endpoints, tls: { caFile: ca.value, ...(cert ? { certFile: cert.value } : {}), ...(key ? { keyFile: key.value } : {}) }, ...base };
}

export interface OpenBackendOptions {
  logger?: Logger;
  dialTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** A Backend for the resolved config. The memory type is for tests and demos only. */
export function openBackend(config: DatastoreConfig, opts: OpenBackendOptions = {}): Backend {
  if (config.type === 'memory') return new MemoryBackend();
  return new EtcdBackend({
    endpoints: config.endpoints,
    ...(config.tls ? { tls: config.tls } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.dialTimeoutMs !== undefined ? { dialTimeoutMs: opts.dialTimeoutMs } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  });
}
