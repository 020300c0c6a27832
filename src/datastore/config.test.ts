import { describe, it, expect } from 'vitest';
import { resolveDatastoreConfig, openBackend, type ConfigSources } from './config.js';
import { DatastoreConfigError } from './errors.js';
import { MemoryBackend } from './memory.js';
import { EtcdBackend } from './etcd.js';

/** A fake filesystem: path -> contents; every listed path is readable. */
function sources(files: Record<string, string> = {}, env: Record<string, string> = {}): ConfigSources {
  return {
    env,
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT: no such file ${p}`);
      return f;
    },
    readable: (p) => p in files,
    defaultConfigPath: '/etc/tabby/tabbyctl.cfg',
  };
}

const cfg = (spec: string) => `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n${spec}`;

function configError(fn: () => unknown): DatastoreConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DatastoreConfigError);
    return err as DatastoreConfigError;
  }
  throw new Error('expected a DatastoreConfigError');
}

describe('resolveDatastoreConfig', () => {
  it('defaults to etcdv3 at http://127.0.0.1:2379 under /calico', () => {
    expect(resolveDatastoreConfig({}, sources())).toEqual({ type: 'etcdv3', endpoints: ['http://127.0.0.1:2379'], root: '/calico' });
  });

  it('reads the environment', () => {
    const c = resolveDatastoreConfig({}, sources({ '/ca': 'x', '/crt': 'x', '/key': 'x' }, {
      DATASTORE_TYPE: 'etcdv3',
      ETCD_ENDPOINTS: 'https://10.0.0.1:2379, https://10.0.0.2',
      ETCD_CA_CERT_FILE: '/ca',
      ETCD_CERT_FILE: '/crt',
      ETCD_KEY_FILE: '/key',
      TABBY_DATASTORE_ROOT: '/tabby/',
    }));
    expect(c).toEqual({
      type: 'etcdv3',
      endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
      tls: { caFile: '/ca', certFile: '/crt', keyFile: '/key' },
      root: '/tabby',
    });
  });

  it('flags override the config file, which overrides the environment', () => {
    const files = { '/etc/tabby/tabbyctl.cfg': cfg('  etcdEndpoints: http://file:2379\n  datastoreType: etcdv3\n') };
    const env = { ETCD_ENDPOINTS: 'http://env:2379', DATASTORE_TYPE: 'kubernetes' };
    expect(resolveDatastoreConfig({}, sources(files, env)).endpoints).toEqual(['http://file:2379']);
    expect(resolveDatastoreConfig({ etcdEndpoints: 'http://flag:1' }, sources(files, env)).endpoints).toEqual(['http://flag:1']);
    expect(resolveDatastoreConfig({}, sources({}, { ETCD_ENDPOINTS: 'http://env:2379' })).endpoints).toEqual(['http://env:2379']);
  });

  it('reads an explicit config file, which must exist', () => {
    const c = resolveDatastoreConfig({ configFile: '/my.cfg' }, sources({ '/my.cfg': cfg('  etcdEndpoints: "http://127.0.0.1:4001"\n') }));
    expect(c).toEqual({ type: 'etcdv3', endpoints: ['http://127.0.0.1:4001'], root: '/calico', configFile: '/my.cfg' });
    expect(configError(() => resolveDatastoreConfig({ configFile: '/nope.cfg' }, sources())).message).toMatch(/cannot read datastore config file \/nope\.cfg/);
  });

  it('explains unsupported datastore types', () => {
    const e = configError(() => resolveDatastoreConfig({}, sources({}, { DATASTORE_TYPE: 'kubernetes' })));
    expect(e.message).toMatch(/unsupported datastore type "kubernetes" from environment variable DATASTORE_TYPE/);
    expect(e.message).toMatch(/tabby supports etcdv3/);
    const fromFile = { '/etc/tabby/tabbyctl.cfg': cfg('  datastoreType: kubernetes\n  kubeconfig: /root/.kube/config\n') };
    expect(configError(() => resolveDatastoreConfig({}, sources(fromFile))).message).toMatch(/spec\.datastoreType in \/etc\/tabby\/tabbyctl\.cfg/);
  });

  it('rejects bad config files clearly', () => {
    const at = (text: string) => configError(() => resolveDatastoreConfig({ configFile: '/c' }, sources({ '/c': text }))).message;
    expect(at('kind: Other\napiVersion: projectcalico.org/v3\n')).toMatch(/kind must be CalicoAPIConfig/);
    expect(at('kind: CalicoAPIConfig\napiVersion: v1\n')).toMatch(/apiVersion must be projectcalico.org\/v3/);
    expect(at(cfg('  etcdEndpoint: http://x:1\n'))).toMatch(/unknown field spec\.etcdEndpoint/);
    expect(at('a: [')).toMatch(/not valid YAML/);
    expect(at(cfg('  etcdEndpoints: 5\n'))).toMatch(/must be a string/);
  });

  it('rejects bad endpoint URLs', () => {
    for (const [value, msg] of [
      ['127.0.0.1:2379', /scheme must be http or https|expected a URL/],
      ['ftp://x:1', /scheme must be http or https/],
      ['not a url', /expected a URL/],
      ['http://x:1/path', /only scheme, host and port/],
      ['http://x:1,https://y:2', /mix http and https/],
      [' , ', /no etcd endpoint/],
    ] as const) {
      expect(configError(() => resolveDatastoreConfig({ etcdEndpoints: value }, sources())).message, value).toMatch(msg);
    }
  });

  it('checks TLS files and their combination', () => {
    const files = { '/ca': 'x', '/crt': 'x', '/key': 'x' };
    const https = 'https://127.0.0.1:2379';
    expect(configError(() => resolveDatastoreConfig({ etcdEndpoints: https, etcdCACertFile: '/missing' }, sources(files))).message).toMatch(/cannot read \/missing \(from --etcd-ca-cert-file\)/);
    expect(configError(() => resolveDatastoreConfig({ etcdCACertFile: '/ca' }, sources(files))).message).toMatch(/use https:\/\/ endpoints/);
    expect(configError(() => resolveDatastoreConfig({ etcdEndpoints: https, etcdCertFile: '/crt', etcdKeyFile: '/key' }, sources(files))).message).toMatch(/needs the CA certificate/);
    expect(configError(() => resolveDatastoreConfig({ etcdEndpoints: https, etcdCACertFile: '/ca', etcdCertFile: '/crt' }, sources(files))).message).toMatch(/both a certificate and its key/);
    expect(resolveDatastoreConfig({ etcdEndpoints: https, etcdCACertFile: '/ca' }, sources(files)).tls).toEqual({ caFile: '/ca' });
  });

  it('validates the key root', () => {
    expect(configError(() => resolveDatastoreConfig({ root: 'calico' }, sources())).message).toMatch(/bad datastore root "calico" from --datastore-root/);
  });

  it('memory type needs no endpoints, and openBackend returns the matching backend', async () => {
    const m = resolveDatastoreConfig({ datastoreType: 'memory' }, sources());
    expect(m).toEqual({ type: 'memory', endpoints: [], root: '/calico' });
    const mb = openBackend(m);
    expect(mb).toBeInstanceOf(MemoryBackend);
    await mb.close();
    const eb = openBackend(resolveDatastoreConfig({}, sources()));
    expect(eb).toBeInstanceOf(EtcdBackend);
    await eb.close();
  });
});
