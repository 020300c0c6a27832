/**
 * Calls a CNI plugin the way a container runtime does: the plugin binary as a child
 * process, CNI_* in its environment, the network configuration on stdin, the result (or
 * a CNI error object) on stdout. The lab runs it inside the node's namespace, as kubelet
 * would on that node.
 */
import { LabCniError } from './errors.js';
import { runCommand } from './run-command.js';

export type CniVerb = 'ADD' | 'DEL' | 'CHECK' | 'STATUS';

export interface CniCall {
  /** argv prefix of the plugin, e.g. [node, dist/cni/main.js] or ['/usr/lib/cni/bridge']. */
  plugin: string[];
  verb: CniVerb;
  containerId: string;
  /** Path of the pod's netns; '' for DEL after the namespace is gone. */
  netnsPath: string;
  ifname: string;
  args: Record<string, string>;
  netconf: Record<string, unknown>;
  /** The namespace the plugin runs in (the node's). */
  runIn?: string;
  cniPath?: string;
  timeoutMs?: number;
}

export interface CniAddResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
}

export function cniEnv(call: CniCall): NodeJS.ProcessEnv {
  const args = Object.entries(call.args)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  return {
    ...process.env,
    CNI_COMMAND: call.verb,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netnsPath,
    CNI_IFNAME: call.ifname,
    CNI_ARGS: args,
    CNI_PATH: call.cniPath ?? '/usr/lib/cni',
  };
}

/** Runs the plugin; resolves with the parsed stdout (ADD) or throws LabCniError with the plugin's code and message. */
export async function invokeCni(call: CniCall): Promise<CniAddResult | undefined> {
  const r = await runCommand(call.plugin, {
    ...(call.runIn ? { netns: call.runIn } : {}),
    env: cniEnv(call),
    stdin: JSON.stringify(call.netconf),
    timeoutMs: call.timeoutMs ?? 90_000,
  });
  const out = r.stdout.trim();
  if (r.code !== 0) {
    let err: { code?: number; msg?: string; details?: string } = {};
    try {
      err = JSON.parse(out) as typeof err;
    } catch {
      /* not a CNI error object: report stderr below */
    }
    const code = typeof err.code === 'number' ? err.code : 999;
    const msg = err.msg ?? (r.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${r.code}`);
    throw new LabCniError(code, msg, err.details, `CNI ${call.verb} for ${call.containerId} failed with code ${code}: ${msg}${err.details ? ` (${err.details})` : ''}`);
  }
  if (call.verb !== 'ADD') return undefined;
  try {
    return JSON.parse(out) as CniAddResult;
  } catch {
    throw new LabCniError(999, 'unreadable result', undefined, `CNI ADD for ${call.containerId} printed no JSON result: ${out.slice(0, 500)}`);
  }
}

/** The first IPv4 address of an ADD result, without its prefix length. */
export function firstIPv4(result: CniAddResult | undefined): string | undefined {
  for (const ip of result?.ips ?? []) {
    const addr = ip.address.split('/')[0] ?? '';
    if (/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return addr;
  }
  return undefined;
}
