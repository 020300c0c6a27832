import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendCniRequest } from './client.js';
import { CniCode, CniError } from './errors.js';
import { PROTOCOL_VERSION, type CniRequest } from './protocol.js';
import { serveCniSocket, type CniSocketServer } from './server.js';

let dir: string;
let counter = 0;
const servers: CniSocketServer[] = [];
const rawServers: Server[] = [];
const rawSockets: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `tabby-cni-${process.pid}-${counter++}-`));
});
afterEach(async () => {
  try {
    for (const s of servers.splice(0)) await s.close();
    for (const s of rawSockets.splice(0)) s.destroy();
    for (const s of rawServers.splice(0)) await new Promise((r) => s.close(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function request(verb: CniRequest['verb'] = 'ADD'): CniRequest {
  return {
    protocol: PROTOCOL_VERSION,
    id: `req-${counter++}`,
    verb,
    cniVersion: '1.0.0',
    network: 'net',
    containerId: 'c1',
    netns: '/var/run/netns/x',
    ifname: 'eth0',
    args: {},
    config: { cniVersion: '1.0.0', name: 'net', type: 'tabby-cni' },
  };
}

const opts = (socketPath: string, timeoutMs = 5000) => ({ socketPath, connectTimeoutMs: 2000, timeoutMs });

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a rejection');
}

describe('serveCniSocket + sendCniRequest', () => {
  it('dispatches a request to the handler and returns its result', async () => {
    const path = join(dir, 'sub', 'cni.sock');
    const seen: CniRequest[] = [];
    servers.push(
      await serveCniSocket(path, async (req) => {
        seen.push(req);
        return req.verb === 'ADD' ? { ips: [{ address: '10.65.0.2/32' }] } : undefined;
      }),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const req = request();
    await expect(sendCniRequest(req, opts(path))).resolves.toEqual({ result: { ips: [{ address: '10.65.0.2/32' }] } });
    await expect(sendCniRequest(request('DEL'), opts(path))).resolves.toEqual({});
    expect(seen.map((r) => r.verb)).toEqual(['ADD', 'DEL']);
    expect(seen[0]).toEqual(req);
  });

  it('passes a handler CniError through with its code, and wraps other failures as code 100', async () => {
    const path = join(dir, 'cni.sock');
    servers.push(
      await serveCniSocket(path, async (req) => {
        if (req.verb === 'ADD') return new CniError(CniCode.PoolExhausted, 'pool default-ipv4 is full', 'add a pool');
        if (req.verb === 'CHECK') throw new CniError(CniCode.UnknownContainer, 'no such attachment');
        throw new Error('boom');
      }),
    );
    const e1 = await rejection(sendCniRequest(request('ADD'), opts(path)));
    expect([e1.cniCode, e1.msg, e1.details]).toEqual([101, 'pool default-ipv4 is full', 'add a pool']);
    expect((await rejection(sendCniRequest(request('CHECK'), opts(path)))).cniCode).toBe(3);
    const e3 = await rejection(sendCniRequest(request('GC'), opts(path)));
    expect(e3.cniCode).toBe(100);
    expect(e3.msg).toMatch(/failed handling GC: boom/);
  });

  it('answers an unreadable request with code 6 and another protocol with 105', async () => {
    const path = join(dir, 'cni.sock');
    servers.push(await serveCniSocket(path, async () => undefined));
    const ask = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ path }, () => s.write(line));
        let out = '';
        s.on('data', (d) => (out += d.toString()));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
    expect(JSON.parse(await ask('not json\n')).error.code).toBe(6);
    const other = JSON.parse(await ask(JSON.stringify({ ...request(), protocol: 'tabby-cni/9' }) + '\n'));
    expect(other.error.code).toBe(105);
    expect(other.ok).toBe(false);
  });

  it('replaces a stale socket file and refuses a live one or a regular file', async () => {
    const path = join(dir, 'cni.sock');
    const first = await serveCniSocket(path, async () => undefined);
    await expect(serveCniSocket(path, async () => undefined)).rejects.toThrow(/another process already serves/);
    await first.close();
    // A socket file left by a dead process: a child binds it and is SIGKILLed, so nobody unlinks it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('error', reject);
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    servers.push(await serveCniSocket(path, async () => undefined));
    await expect(sendCniRequest(request('STATUS'), opts(path))).resolves.toEqual({});
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    await expect(serveCniSocket(file, async () => undefined)).rejects.toThrow(/not a socket/);
  });
});

describe('serveCniSocket hang-up', () => {
  it('aborts the handler signal when the plugin gives up', async () => {
    const path = join(dir, 'slow.sock');
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const aborted = new Promise<boolean>((resolve) => {
      void serveCniSocket(path, async (_req, ctx) => {
        ctx.signal.addEventListener('abort', () => resolve(true));
        await released;
        return undefined;
      }).then((s) => {
        servers.push(s);
        // The client times out after 100 ms and hangs up; the handler must hear about it.
        void sendCniRequest(request(), opts(path, 100)).catch(() => undefined);
      });
    });
    expect(await aborted).toBe(true);
    release();
  });
});

describe('sendCniRequest failures', () => {
  it('reports a missing socket as code 11 with the fix', async () => {
    const e = await rejection(sendCniRequest(request(), opts(join(dir, 'none.sock'))));
    expect(e.cniCode).toBe(11);
    expect(e.msg).toMatch(/is `tabby agent` running on this node\? socket .*none\.sock not reachable: ENOENT/);
  });

  it('reports an agent that never answers as code 104', async () => {
    const path = join(dir, 'mute.sock');
    const mute = createServer((s) => void rawSockets.push(s));
    rawServers.push(mute);
    await new Promise<void>((r) => mute.listen(path, r));
    const e = await rejection(sendCniRequest(request(), opts(path, 150)));
    expect(e.cniCode).toBe(104);
    expect(e.details).toMatch(/timeout_seconds/);
  });

  it('reports a dropped connection as code 5 and garbage as 105', async () => {
    const path = join(dir, 'rude.sock');
    let mode: 'drop' | 'garbage' = 'drop';
    const rude = createServer((s) => {
      rawSockets.push(s);
      if (mode === 'drop') s.destroy();
      else s.end('hello\n');
    });
    rawServers.push(rude);
    await new Promise<void>((r) => rude.listen(path, r));
    expect((await rejection(sendCniRequest(request(), opts(path)))).cniCode).toBe(5);
    mode = 'garbage';
    expect((await rejection(sendCniRequest(request(), opts(path)))).cniCode).toBe(105);
  });
});
