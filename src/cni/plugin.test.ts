import { describe, expect, it } from 'vitest';
import type { ClientOptions } from './client.js';
import { CniCode, CniError } from './errors.js';
import { runCni, type PluginDeps } from './plugin.js';
import type { CniRequest } from './protocol.js';
import type { CniResult } from './result.js';

const result: CniResult = {
  interfaces: [{ name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' }, { name: 'eth0', sandbox: '/var/run/netns/p' }],
  ips: [{ address: '10.65.0.7/32', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
};

const addEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/p', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web' };
const conf = (over: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'tabby-cni', agent_socket: '/run/t.sock', timeout_seconds: 3, ...over });

/** A fake agent: records requests, answers with `answer`. */
function fakeAgent(answer: (req: CniRequest) => { result?: CniResult } | CniError) {
  const calls: { req: CniRequest; opts: ClientOptions }[] = [];
  const send = async (req: CniRequest, opts: ClientOptions) => {
    calls.push({ req, opts });
    const a = answer(req);
    if (a instanceof CniError) throw a;
    return a;
  };
  return { calls, send };
}

function deps(over: Partial<PluginDeps>): PluginDeps {
  return { env: addEnv, stdin: conf(), checkNetns: async () => undefined, newId: () => 'id-1', ...over };
}

describe('runCni', () => {
  it('answers VERSION locally in the asked version', async () => {
    const agent = fakeAgent(() => ({}));
    const out = await runCni(deps({ env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"0.4.0"}', send: agent.send }));
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    expect(agent.calls).toHaveLength(0);
    expect(JSON.parse((await runCni(deps({ env: { CNI_COMMAND: 'VERSION' }, stdin: '' }))).stdout).cniVersion).toBe('1.1.0');
  });

  it('forwards ADD with the env-derived fields and prints the result in the config version', async () => {
    const agent = fakeAgent(() => ({ result }));
    const out = await runCni(deps({ stdin: conf({ cniVersion: '0.3.1' }), send: agent.send }));
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout).ips).toEqual([{ version: '4', interface: 1, address: '10.65.0.7/32' }]);
    const { req, opts } = agent.calls[0]!;
    expect(req).toMatchObject({ id: 'id-1', verb: 'ADD', network: 'net', containerId: 'c1', netns: '/var/run/netns/p', ifname: 'eth0', cniVersion: '0.3.1' });
    expect(req.pod).toEqual({ namespace: 'ns', name: 'web' });
    expect(opts).toEqual({ socketPath: '/run/t.sock', connectTimeoutMs: 3000, timeoutMs: 3000 });
  });

  it('checks the netns before contacting the agent', async () => {
    const agent = fakeAgent(() => ({ result }));
    const out = await runCni(deps({ send: agent.send, checkNetns: async (p) => `CNI_NETNS ${p} does not exist` }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 4, msg: 'CNI_NETNS /var/run/netns/p does not exist' });
    expect(agent.calls).toHaveLength(0);
  });

  it('does not check the netns on DEL, and treats "unknown container" as done', async () => {
    let checked = 0;
    const agent = fakeAgent(() => new CniError(CniCode.UnknownContainer, 'nothing to delete'));
    const out = await runCni(deps({ env: { ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, send: agent.send, checkNetns: async () => `${++checked}` }));
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(checked).toBe(0);
    expect(agent.calls[0]?.req.netns).toBe('');
  });

  it('prints the agent error with its code, in the config version', async () => {
    const agent = fakeAgent(() => new CniError(CniCode.PoolExhausted, 'pool p is full', 'grow it'));
    const out = await runCni(deps({ stdin: conf({ cniVersion: '0.4.0' }), send: agent.send }));
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '0.4.0', code: 101, msg: 'pool p is full', details: 'grow it' });
  });

  it('turns an unreachable agent into 50 for STATUS and keeps 11 for DEL', async () => {
    const down = fakeAgent(() => new CniError(CniCode.TryAgainLater, 'is `tabby agent` running on this node? ...'));
    const status = await runCni(deps({ env: { CNI_COMMAND: 'STATUS' }, stdin: conf({ cniVersion: '1.1.0' }), send: down.send }));
    expect(JSON.parse(status.stdout).code).toBe(50);
    expect(JSON.parse(status.stdout).msg).toMatch(/tabby agent/);
    const del = await runCni(deps({ env: { ...addEnv, CNI_COMMAND: 'DEL' }, send: down.send }));
    expect(JSON.parse(del.stdout).code).toBe(11);
  });

  it('forwards CHECK with prevResult and GC with the keep-list, printing nothing on success', async () => {
    const agent = fakeAgent(() => ({}));
    const prev = { cniVersion: '1.1.0', ...result };
    const check = await runCni(deps({ env: { ...addEnv, CNI_COMMAND: 'CHECK' }, stdin: conf({ cniVersion: '1.1.0', prevResult: prev }), send: agent.send }));
    expect(check).toEqual({ stdout: '', exitCode: 0 });
    expect(agent.calls[0]?.req.prevResult).toEqual(result);
    const keep = [{ containerID: 'c1', ifname: 'eth0' }];
    const gc = await runCni(deps({ env: { CNI_COMMAND: 'GC' }, stdin: conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': keep }), send: agent.send }));
    expect(gc).toEqual({ stdout: '', exitCode: 0 });
    expect(agent.calls[1]?.req.validAttachments).toEqual(keep);
  });

  it('refuses an ADD answer without a result as a protocol error', async () => {
    const agent = fakeAgent(() => ({}));
    const out = await runCni(deps({ send: agent.send }));
    expect(JSON.parse(out.stdout).code).toBe(105);
  });
});
