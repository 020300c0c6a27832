/**
 * The agent side of tabby-cni: turns each request from the CNI socket into one verb
 * (cni/add.ts, del.ts, check.ts, gc.ts), one at a time per pod, with IPAM releases queued
 * (cni/serial-releases.ts), and counts and times every answer by verb and result.
 *
 * Per pod, not per container ID: the host interface and the WorkloadEndpoint are named
 * after the pod, so a late DEL of an old sandbox and the ADD of its replacement must not
 * interleave (the DEL could remove the new sandbox's interface between its ownership check
 * and the removal). A runtime that sends DEL while its ADD still runs gets them in order
 * too, since both name the same pod.
 */
import { CniCode, CniError } from '../cni/errors.js';
import type { CniRequest } from '../cni/protocol.js';
import type { CniHandler } from '../cni/server.js';
import type { CniResult } from '../cni/result.js';
import { KeyedLock } from '../ipam/node-lock.js';
import { cniAdd } from './cni/add.js';
import { attachmentOf } from './cni/attachment.js';
import { cniCheck } from './cni/check.js';
import { cniDel } from './cni/del.js';
import type { CniDeps } from './cni/deps.js';
import { cniGc } from './cni/gc.js';
import { serialReleases } from './cni/serial-releases.js';

export interface AgentCniHandler {
  handle: CniHandler;
  /** Container IDs with a request in flight. */
  readonly busyContainers: Pick<ReadonlySet<string>, 'has'>;
}

export function createCniHandler(given: CniDeps, clock: { now(): number } = { now: () => performance.now() }): AgentCniHandler {
  const deps: CniDeps = { ...given, ipam: serialReleases(given.ipam) };
  const lock = new KeyedLock();
  const busy = new Map<string, number>();
  const enter = (cid: string) => busy.set(cid, (busy.get(cid) ?? 0) + 1);
  const leave = (cid: string) => {
    const n = (busy.get(cid) ?? 1) - 1;
    if (n <= 0) busy.delete(cid);
    else busy.set(cid, n);
  };
  const busyContainers: Pick<ReadonlySet<string>, 'has'> = { has: (k: string) => busy.has(k) };

  const dispatch = async (req: CniRequest): Promise<CniResult | undefined> => {
    switch (req.verb) {
      case 'ADD':
        return cniAdd(req, deps);
      case 'DEL':
        await cniDel(req, deps);
        return undefined;
      case 'CHECK':
        await cniCheck(req, deps);
        return undefined;
      case 'STATUS': {
        const r = deps.readiness();
        if (!r.ready) throw new CniError(CniCode.NotAvailable, `the tabby agent on ${deps.nodeName} is not ready: ${r.reasons.join('; ')}`, 'wait for the agent to sync with the datastore; see its /readyz');
        return undefined;
      }
      case 'GC':
        await cniGc(req, deps, busyContainers);
        return undefined;
    }
  };

  const handle: CniHandler = async (req) => {
    const t0 = clock.now();
    const cid = req.containerId;
    let code = 0;
    try {
      if (!cid) return await dispatch(req);
      enter(cid);
      try {
        return await lock.run(podKey(req, deps.nodeName), () => dispatch(req));
      } finally {
        leave(cid);
      }
    } catch (err) {
      code = err instanceof CniError ? err.cniCode : CniCode.AgentInternal;
      throw err;
    } finally {
      const result = code === 0 ? 'ok' : 'error';
      deps.metrics?.cniRequests.inc({ verb: req.verb, result, code: String(code) });
      deps.metrics?.cniDuration.observe({ verb: req.verb, result }, (clock.now() - t0) / 1000);
      deps.logger?.debug({ op: req.verb, requestId: req.id, containerId: cid, code }, 'CNI request answered');
    }
  };
  return { handle, busyContainers };
}

/** What a request's verb works on: the pod's host interface name (the container ID if the request cannot name one). */
function podKey(req: CniRequest, nodeName: string): string {
  try {
    return attachmentOf(req, nodeName).hostIfName;
  } catch {
    return `container:${req.containerId}`;
  }
}
