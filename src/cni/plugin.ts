import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { sendCniRequest, type ClientOptions } from './client.js';
import { parseCniEnv, type CniInvocation } from './env.js';
import { CniCode, CniError } from './errors.js';
import { checkNetnsPath } from './netns-check.js';
import { parseNetConf, reportVersion, type NetConf } from './netconf.js';
import { PROTOCOL_VERSION, type AgentVerb, type CniRequest } from './protocol.js';
import { convertResult, type CniResult } from './result.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './versions.js';

/** Everything the plugin touches, injected so units can run it without a socket or netns. */
export interface PluginDeps {
  env: Readonly<Record<string, string | undefined>>;
  stdin: string;
  send?: (req: CniRequest, opts: ClientOptions) => Promise<{ result?: CniResult }>;
  /** Returns what is wrong with a netns path, or undefined when it is fine. */
  checkNetns?: (path: string) => Promise<string | undefined>;
  newId?: () => string;
  /** Called once the config is read, with its `log_level` if any. */
  makeLogger?: (level: string | undefined) => Logger;
}

/** What to print on stdout and how to exit. */
export interface PluginOutcome {
  stdout: string;
  exitCode: 0 | 1;
}

function failure(err: CniError, version: string): PluginOutcome {
  return { stdout: `${JSON.stringify(err.toJSON(version), null, 2)}\n`, exitCode: 1 };
}

function buildRequest(inv: CniInvocation, conf: NetConf, id: string): CniRequest {
  const req: CniRequest = {
    protocol: PROTOCOL_VERSION,
    id,
    verb: inv.verb as AgentVerb,
    cniVersion: conf.cniVersion,
    network: conf.name,
    containerId: inv.containerId,
    netns: inv.netns,
    ifname: inv.ifname,
    args: inv.args.raw,
    config: conf.raw,
  };
  if (inv.args.podNamespace && inv.args.podName) {
    req.pod = { namespace: inv.args.podNamespace, name: inv.args.podName };
    if (inv.args.podInfraContainerId) req.pod.infraContainerId = inv.args.podInfraContainerId;
    if (inv.args.podUid) req.pod.uid = inv.args.podUid;
  }
  if (conf.prevResult) req.prevResult = conf.prevResult;
  if (conf.validAttachments) req.validAttachments = conf.validAttachments;
  return req;
}

/**
 * Runs one CNI invocation: validates locally (env, config, version, netns), answers
 * VERSION itself, forwards the other verbs to the agent and prints its answer in the
 * runtime's cniVersion. Never throws: every failure becomes a CNI error object.
 */
export async function runCni(deps: PluginDeps): Promise<PluginOutcome> {
  const version = reportVersion(deps.stdin) ?? LATEST_VERSION;
  let inv: CniInvocation;
  try {
    inv = parseCniEnv(deps.env);
  } catch (e) {
    return failure(asCniError(e), version);
  }
  if (inv.verb === 'VERSION') {
    // Answered in the version the runtime asked about when we speak it, else the newest.
    const out = { cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] };
    return { stdout: `${JSON.stringify(out)}\n`, exitCode: 0 };
  }
  const verb = inv.verb;
  let conf: NetConf;
  try {
    conf = parseNetConf(deps.stdin, verb);
  } catch (e) {
    return failure(asCniError(e), version);
  }
  const logger = deps.makeLogger?.(conf.logLevel);

  if (verb === 'ADD' || verb === 'CHECK') {
    const problem = await (deps.checkNetns ?? checkNetnsPath)(inv.netns);
    if (problem) {
      // Code 4, not 3: the runtime handed us a bad CNI_NETNS; 3 would tell it that no
      // cleanup (DEL) is needed, which is the agent's call to make, not the plugin's.
      return failure(
        new CniError(CniCode.InvalidEnvironment, problem, 'the runtime must create the network namespace before calling ADD and pass its path in CNI_NETNS'),
        conf.cniVersion,
      );
    }
  }

  const req = buildRequest(inv, conf, (deps.newId ?? randomUUID)());
  logger?.debug({ op: verb, requestId: req.id, containerId: req.containerId }, 'forwarding to agent');
  let answer: { result?: CniResult };
  try {
    answer = await (deps.send ?? sendCniRequest)(req, {
      socketPath: conf.agentSocket,
      connectTimeoutMs: conf.connectTimeoutMs,
      timeoutMs: conf.timeoutMs,
    });
  } catch (e) {
    const err = asCniError(e);
    if (verb === 'DEL' && err.cniCode === CniCode.UnknownContainer) {
      return { stdout: '', exitCode: 0 }; // nothing to delete: DEL is idempotent
    }
    if (verb === 'STATUS' && (err.cniCode === CniCode.TryAgainLater || err.cniCode === CniCode.AgentTimeout)) {
      // STATUS has its own codes (1.1.0): an agent that is not there cannot serve ADD.
      logger?.warn({ op: verb, requestId: req.id, code: err.cniCode }, err.msg);
      return failure(new CniError(CniCode.NotAvailable, err.msg, err.details), conf.cniVersion);
    }
    logger?.warn({ op: verb, requestId: req.id, code: err.cniCode }, err.msg);
    return failure(err, conf.cniVersion);
  }

  if (verb !== 'ADD') return { stdout: '', exitCode: 0 };
  if (!answer.result) {
    return failure(new CniError(CniCode.AgentProtocol, `the agent answered ADD (request ${req.id}) without a result`, 'this is a bug in the agent; report it'), conf.cniVersion);
  }
  try {
    return { stdout: `${JSON.stringify(convertResult(answer.result, conf.cniVersion), null, 2)}\n`, exitCode: 0 };
  } catch (e) {
    return failure(new CniError(CniCode.AgentProtocol, `the agent's result cannot be printed as ${conf.cniVersion}`, (e as Error).message), conf.cniVersion);
  }
}

function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  return new CniError(CniCode.AgentInternal, `tabby-cni failed unexpectedly: ${(e as Error)?.message ?? String(e)}`, 'this is a bug; report it with the CNI config and environment');
}
