/**
 * A real etcd (the Debian `/usr/bin/etcd`, 3.4) for the integration lane.
 *
 * Each server gets its own temp data dir and free loopback ports, so any number of test
 * files (and helpers running in parallel) can start one without colliding. Use it as:
 *
 *   let etcd: EtcdServer;
 *   beforeAll(async () => { etcd = await startEtcd(); });
 *   afterAll(async () => { await etcd?.cleanup(); });
 *
 * `stop()`/`start()` keep the data dir and ports (a restart of the same member), `kill()`
 * is SIGKILL, `cleanup()` kills and removes the data dir. A process exit hook SIGKILLs any
 * server still running, and etcd runs under `setpriv --pdeathsig SIGKILL`, so even a
 * killed test worker never leaves etcd behind (its temp data dir may stay).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdBackend, type EtcdBackendOptions } from '../../src/datastore/etcd.js';

const execFileP = promisify(execFile);

export const ETCD_BINARY = process.env.TABBY_ETCD_BINARY ?? '/usr/bin/etcd';
const SETPRIV = '/usr/bin/setpriv';

/** Server-side TLS: clients must present a certificate signed by `caFile` when `clientCertAuth`. */
export interface EtcdServerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertAuth?: boolean;
  /** Client cert/key used by the health check (required when clientCertAuth). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface StartEtcdOptions {
  tls?: EtcdServerTls;
  /** How long to wait for /health to answer (default 30 s). */
  readyTimeoutMs?: number;
}

export interface EtcdServer {
  /** Client URLs, e.g. ["http://127.0.0.1:40123"]. Stable across stop()/start(). */
  endpoints: string[];
  dataDir: string;
  /** The server's TLS settings, if any (CA/cert/key paths for clients too). */
  tls?: EtcdServerTls;
  /** SIGTERM and wait for exit. No-op when not running. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. No-op when not running. */
  kill(): Promise<void>;
  /** Start again with the same data dir and ports; resolves when healthy. */
  start(): Promise<void>;
  /** stop() then start(): the same member with its data, on the same ports. */
  restart(): Promise<void>;
  /** kill() and remove the data dir. Safe to call more than once. */
  cleanup(): Promise<void>;
}

let counter = 0;
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function healthOnce(url: string, tls: EtcdServerTls | undefined, files: TlsBytes | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL('/health', url);
    const opts = { timeout: 1000 };
    const onRes = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      res.on('error', () => resolve(false));
    };
    const req =
      u.protocol === 'https:' && tls && files
        ? httpsRequest(u, { ...opts, ca: files.ca, cert: files.cert, key: files.key }, onRes)
        : httpRequest(u, opts, onRes);
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

interface TlsBytes {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

class EtcdProcess implements EtcdServer {
  endpoints: string[];
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderrTail = '';
  private removed = false;

  constructor(
    readonly dataDir: string,
    readonly name: string,
    private clientPort: number,
    private peerPort: number,
    readonly tls: EtcdServerTls | undefined,
    private readyTimeoutMs: number,
  ) {
    this.endpoints = [this.clientUrl()];
  }

  private clientUrl(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
  }

  /** Re-pick ports (only before the first successful start, when a port was stolen). */
  async repickPorts(): Promise<void> {
    this.clientPort = await freePort();
    this.peerPort = await freePort();
    this.endpoints = [this.clientUrl()];
  }

  private args(): string[] {
    const client = this.clientUrl();
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.name}=${peer}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.name}`,
      '--logger=zap',
      '--log-level=error',
    ];
    if (this.tls) {
      args.push(`--cert-file=${this.tls.certFile}`, `--key-file=${this.tls.keyFile}`, `--trusted-ca-file=${this.tls.caFile}`);
      if (this.tls.clientCertAuth) args.push('--client-cert-auth');
    }
    return args;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`etcd ${this.name}: start() after cleanup()`);
    if (this.child) return;
    this.stderrTail = '';
    // setpriv --pdeathsig: the kernel kills etcd if the test worker dies without cleaning up.
    const [cmd, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGKILL', ETCD_BINARY, ...this.args()]] : [ETCD_BINARY, this.args()];
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    running.add(child);
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        exitInfo = `code ${code} signal ${signal}`;
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.on('error', (err) => {
        exitInfo = `spawn error: ${err.message}`;
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString()).slice(-4000);
    });

    let files: TlsBytes | undefined;
    if (this.tls) {
      files = { ca: await readFile(this.tls.caFile) };
      if (this.tls.clientCertFile && this.tls.clientKeyFile) {
        files.cert = await readFile(this.tls.clientCertFile);
        files.key = await readFile(this.tls.clientKeyFile);
      }
    }
    const deadline = Date.now() + this.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (exitInfo !== undefined) {
        throw new EtcdStartError(`etcd ${this.name} exited during start (${exitInfo}): ${this.stderrTail.trim()}`, this.stderrTail);
      }
      if (await healthOnce(this.endpoints[0]!, this.tls, files)) return;
      await sleep(100);
    }
    await this.kill();
    throw new EtcdStartError(`etcd ${this.name} not healthy at ${this.endpoints[0]} after ${this.readyTimeoutMs} ms: ${this.stderrTail.trim()}`, this.stderrTail);
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(sig);
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited!.then(() => 'exited' as const), timer])) === 'timeout') {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM', 10_000);
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL', 10_000);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    await this.kill();
    if (!this.removed) {
      this.removed = true;
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}

export class EtcdStartError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
    this.name = 'EtcdStartError';
  }
}

/**
 * Starts a fresh single-member etcd on free loopback ports and waits until it is healthy.
 * Retries with new ports if one was taken between picking and binding.
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  const name = `tabby-etcd-${process.pid}-${++counter}`;
  const dataDir = await mkdtemp(join(tmpdir(), `${name}-`));
  const server = new EtcdProcess(dataDir, name, await freePort(), await freePort(), opts.tls, opts.readyTimeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      return server;
    } catch (err) {
      const inUse = err instanceof EtcdStartError && /address already in use/i.test(err.stderr);
      if (!inUse || attempt >= 5) {
        await server.cleanup();
        throw err;
      }
      // A fresh data dir so the member is not half-initialised with the old peer URL.
      await rm(dataDir, { recursive: true, force: true });
      await server.repickPorts();
    }
  }
}

/** An EtcdBackend connected to `server` (with its TLS files when it has TLS). */
export function etcdBackendFor(server: EtcdServer, opts: Partial<EtcdBackendOptions> = {}): EtcdBackend {
  const tls =
    server.tls && server.tls.clientCertFile && server.tls.clientKeyFile
      ? { caFile: server.tls.caFile, certFile: server.tls.clientCertFile, keyFile: server.tls.clientKeyFile }
      : server.tls
        ? { caFile: server.tls.caFile }
        : undefined;
  return new EtcdBackend({
    endpoints: server.endpoints,
    dialTimeoutMs: 2_000,
    requestTimeoutMs: 3_000,
    ...(tls ? { tls } : {}),
    ...opts,
  });
}

/** Runs `etcdctl` (API v3) against `server`, e.g. `etcdctl(server, 'compact', '5')`. */
export async function etcdctl(server: EtcdServer, ...args: string[]): Promise<string> {
  const tlsArgs = server.tls
    ? [
        `--cacert=${server.tls.caFile}`,
        ...(server.tls.clientCertFile ? [`--cert=${server.tls.clientCertFile}`] : []),
        ...(server.tls.clientKeyFile ? [`--key=${server.tls.clientKeyFile}`] : []),
      ]
    : [];
  const { stdout } = await execFileP('etcdctl', [`--endpoints=${server.endpoints.join(',')}`, ...tlsArgs, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 15_000,
  });
  return stdout;
}

export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * Generates a throwaway CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate with `openssl` into a new temp dir (the caller removes `dir`).
 */
export async function generateTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), `tabby-certs-${process.pid}-${++counter}-`));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileP('openssl', args, { timeout: 30_000 });
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tabby-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await writeFile(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, cn] of [['server', 'localhost'], ['client', 'tabby-test-client']] as const) {
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    await ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${who}.ext`), '-out', f(`${who}.crt`));
  }
  return {
    dir,
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
  };
}
