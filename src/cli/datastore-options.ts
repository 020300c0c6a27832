import { Option, type Command } from 'commander';
import { openBackend, resolveDatastoreConfig, type DatastoreConfig, type DatastoreFlags } from '../datastore/config.js';
import type { Backend } from '../datastore/backend.js';
import { Keys } from '../datastore/keys.js';

/**
 * The datastore flags every command that talks to etcd takes. Flags override the config
 * file (--config, or /etc/tabby/tabbyctl.cfg when present), which overrides calicoctl's
 * environment variables (DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ...).
 */
export function addDatastoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --config <file>', 'CalicoAPIConfig file with the datastore settings'))
    .addOption(new Option('--etcd-endpoints <urls>', 'comma-separated etcd URLs (env ETCD_ENDPOINTS)'))
    .addOption(new Option('--etcd-ca-cert-file <file>', 'CA certificate for etcd TLS (env ETCD_CA_CERT_FILE)'))
    .addOption(new Option('--etcd-cert-file <file>', 'client certificate for etcd TLS (env ETCD_CERT_FILE)'))
    .addOption(new Option('--etcd-key-file <file>', 'client key for etcd TLS (env ETCD_KEY_FILE)'))
    .addOption(new Option('--datastore-root <path>', 'key root in etcd (env TABBY_DATASTORE_ROOT)').default(undefined, '/calico'));
}

export interface DatastoreOptionValues {
  config?: string;
  etcdEndpoints?: string;
  etcdCaCertFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  datastoreRoot?: string;
}

/** The values of the options `addDatastoreOptions` added, as the datastore config takes them. */
export function datastoreFlags(o: DatastoreOptionValues): DatastoreFlags {
  return {
    ...(o.config !== undefined ? { configFile: o.config } : {}),
    ...(o.etcdEndpoints !== undefined ? { etcdEndpoints: o.etcdEndpoints } : {}),
    ...(o.etcdCaCertFile !== undefined ? { etcdCACertFile: o.etcdCaCertFile } : {}),
    ...(o.etcdCertFile !== undefined ? { etcdCertFile: o.etcdCertFile } : {}),
    ...(o.etcdKeyFile !== undefined ? { etcdKeyFile: o.etcdKeyFile } : {}),
    ...(o.datastoreRoot !== undefined ? { root: o.datastoreRoot } : {}),
  };
}

export interface DatastoreSession {
  config: DatastoreConfig;
  backend: Backend;
  keys: Keys;
}

/** Resolves the options of `cmd` (and its parents), opens the backend, runs `fn`, and always closes. */
export async function withDatastore<T>(cmd: Command, fn: (s: DatastoreSession) => Promise<T>): Promise<T> {
  const config = resolveDatastoreConfig(datastoreFlags(cmd.optsWithGlobals<DatastoreOptionValues>()));
  const backend = openBackend(config, { dialTimeoutMs: 3000, requestTimeoutMs: 5000 });
  try {
    return await fn({ config, backend, keys: new Keys(config.root) });
  } finally {
    await backend.close();
  }
}
