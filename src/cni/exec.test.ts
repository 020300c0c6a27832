/**
 * The shim's path through the agent: `tabby-cni-exec/1` requests served by serveCniSocket
 * and run in-process by runCniInAgent must print exactly what the Node plugin prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniCode, CniError } from './errors.js';
import { EXEC_PROTOCOL, decodeExecAnswer, encodeExecAnswer, encodeExecRequest } from './exec-protocol.js';
import { runCniInAgent } from './in-agent.js';
import { runCni } from './plugin.js';
import { okAnswer, type CniRequest } from './protocol.js';
import type { CniResult } from './result.js';
import { serveCniSocket, type CniHandler, type CniSocketServer } from './server.js';

let dir: string;
let counter = 0;
const servers: CniSocketServer[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `tabby-cni-exec-${process.pid}-${counter++}-`));
});
afterEach(async () => {
  try {
    for (const s of servers.splice(0)) await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const result: CniResult = {
  interfaces: [{ name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/proc/self/ns/net' }],
  ips: [{ address: '10.65.0.7/32', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0' }],
};
// /proc/self/ns/net is on nsfs, so the plugin's netns check passes without root.
const env = (cmd: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web' });
const conf = (version: string, over: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: version, name: 'net', type: 'tabby-cni', ...over });

/** Sends raw bytes as the shim does and returns everything the agent wrote before closing. */
function exchange(path: string, bytes: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ path }, () => s.write(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

async function serve(handler: CniHandler): Promise<string> {
  const path = join(dir, 'cni.sock');
  servers.push(await serveCniSocket(path, handler));
  return path;
}

describe('tabby-cni-exec/1', () => {
  it('frames the answer as a header with the byte length, whatever the text', () => {
    const out = { stdout: '{"msg": "ünïcødé ✓"}\n', exitCode: 1 as const };
    const bytes = encodeExecAnswer(out);
    expect(bytes.subarray(0, bytes.indexOf(0x0a)).toString()).toBe(`${EXEC_PROTOCOL} 1 ${Buffer.byteLength(out.stdout)}`);
    expect(decodeExecAnswer(bytes)).toEqual(out);
    expect(decodeExecAnswer(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(decodeExecAnswer(Buffer.from('tabby-cni-exec/1 7 0\n'))).toBeUndefined();
  });

  it('runs ADD through the handler and prints what the Node plugin prints, in each version', async () => {
    const seen: CniRequest[] = [];
    const path = await serve(async (req) => {
      seen.push(req);
      return req.verb === 'ADD' ? result : undefined;
    });
    for (const version of ['0.3.1', '1.0.0']) {
      const answer = decodeExecAnswer(await exchange(path, encodeExecRequest(env('ADD'), conf(version))));
      // The same plugin run against a fake transport answering with the same result.
      const expected = await runCni({ env: env('ADD'), stdin: conf(version), send: async () => ({ result }) });
      expect(answer).toEqual(expected);
      expect(answer?.exitCode).toBe(0);
    }
    expect(seen[0]).toMatchObject({ verb: 'ADD', containerId: 'c1', netns: '/proc/self/ns/net', ifname: 'eth0', network: 'net', pod: { namespace: 'ns', name: 'web' } });
    const del = decodeExecAnswer(await exchange(path, encodeExecRequest({ ...env('DEL'), CNI_NETNS: '' }, conf('1.0.0'))));
    expect(del).toEqual({ stdout: '', exitCode: 0 });
    expect(seen.map((r) => r.verb)).toEqual(['ADD', 'ADD', 'DEL']);
  });

  it('passes the agent\'s errors and the plugin\'s local checks through as CNI errors', async () => {
    const path = await serve(async (req) => {
      if (req.verb === 'ADD') throw new CniError(CniCode.PoolExhausted, 'pool default-ipv4 is full', 'add a pool');
      return undefined;
    });
    const full = decodeExecAnswer(await exchange(path, encodeExecRequest(env('ADD'), conf('1.0.0'))));
    expect(full?.exitCode).toBe(1);
    expect(JSON.parse(full!.stdout)).toEqual({ cniVersion: '1.0.0', code: 101, msg: 'pool default-ipv4 is full', details: 'add a pool' });
    const noType = decodeExecAnswer(await exchange(path, encodeExecRequest(env('ADD'), JSON.stringify({ cniVersion: '1.0.0', name: 'net' }))));
    expect(JSON.parse(noType!.stdout).code).toBe(CniCode.InvalidNetworkConfig);
    const badNetns = decodeExecAnswer(await exchange(path, encodeExecRequest({ ...env('ADD'), CNI_NETNS: join(dir, 'nope') }, conf('1.0.0'))));
    expect(JSON.parse(badNetns!.stdout)).toMatchObject({ code: CniCode.InvalidEnvironment, msg: `CNI_NETNS ${join(dir, 'nope')} does not exist` });
    const version = decodeExecAnswer(await exchange(path, encodeExecRequest({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')));
    expect(JSON.parse(version!.stdout).cniVersion).toBe('0.4.0');
  });

  it('answers a malformed exec request with code 6', async () => {
    const path = await serve(async () => undefined);
    const answer = decodeExecAnswer(await exchange(path, `${JSON.stringify({ protocol: EXEC_PROTOCOL, env: 'x' })}\n`));
    expect(answer?.exitCode).toBe(1);
    expect(JSON.parse(answer!.stdout).code).toBe(CniCode.DecodingFailure);
  });

  it('answers 104 naming the request when the handler takes longer than timeout_seconds', async () => {
    const fired: number[] = [];
    const timers = {
      setTimeout: (fn: () => void, ms: number) => {
        fired.push(ms);
        queueMicrotask(fn); // time is up at once
        return 1;
      },
      clearTimeout: () => undefined,
    };
    const out = await runCniInAgent(
      { protocol: EXEC_PROTOCOL, env: env('ADD'), stdin: conf('1.0.0', { timeout_seconds: 2 }) },
      { answer: () => new Promise(() => undefined), timers },
    );
    expect(fired).toEqual([2000]);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: CniCode.AgentTimeout });
    expect(JSON.parse(out.stdout).msg).toMatch(/did not answer ADD for container c1 within 2000 ms \(request [0-9a-f-]+\)/);
    // A prompt answer is not affected by the bound.
    const ok = await runCniInAgent({ protocol: EXEC_PROTOCOL, env: env('ADD'), stdin: conf('1.1.0') }, { answer: async (req) => okAnswer(req.id, result) });
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout).ips).toEqual(result.ips);
  });
});
