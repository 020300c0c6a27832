/**
 * `ipam check`: reads every block, affinity and handle once and reports inconsistencies.
 * Read-only; each problem names the key(s) and what a person would do about it. The
 * allocator's write order means the only problems a crash can leave are handle counts
 * that are too high and unfinished claims; everything else points at a bug or a hand edit.
 */
import type { Backend } from '../datastore/backend.js';
import * as blk from './block.js';
import { formatIPv4, ordinalToAddress, parseCidr } from './cidr.js';
import { nodeOfAffinity } from './model.js';
import { IpamStore } from './store.js';

export type IpamProblemKind =
  | 'allocation-without-endpoint'
  | 'endpoint-without-allocation'
  | 'allocation-without-handle'
  | 'handle-without-addresses'
  | 'handle-count-mismatch'
  | 'block-affinity-mismatch'
  | 'affinity-without-block'
  | 'duplicate-address'
  | 'block-inconsistent';

export interface IpamProblem {
  kind: IpamProblemKind;
  message: string;
  address?: string;
  handle?: string;
  block?: string;
  node?: string;
}

export interface IpamCheckTotals {
  blocks: number;
  affinities: number;
  handles: number;
  /** Allocated addresses over all blocks. */
  allocations: number;
  /** Allocations whose `node` attribute differs from the block's affine node. */
  borrowed: number;
  /** Addresses per block-affine node (`""` for blocks without affinity). */
  perNode: Record<string, number>;
}

export interface IpamCheckReport {
  ok: boolean;
  totals: IpamCheckTotals;
  problems: IpamProblem[];
}

export interface CheckIpamOptions {
  backend: Backend;
  root?: string;
  /**
   * The live workloads. When given, an allocation whose handle is not in `handles` and whose
   * address is not in `ips` (nor a key of `owners`) is reported as leaked; an address in
   * `owners` (address -> the endpoint using it) that IPAM has not allocated is reported too.
   */
  endpoints?: { handles?: Iterable<string>; ips?: Iterable<string>; owners?: ReadonlyMap<string, string> };
}

export async function checkIpam(opts: CheckIpamOptions): Promise<IpamCheckReport> {
  const store = new IpamStore(opts.backend, opts.root);
  const [blocks, affinities, handles] = await Promise.all([store.listBlocks(), store.listAffinities(), store.listHandles()]);
  const problems: IpamProblem[] = [];
  const totals: IpamCheckTotals = { blocks: blocks.length, affinities: affinities.length, handles: handles.length, allocations: 0, borrowed: 0, perNode: {} };
  const liveHandles = opts.endpoints?.handles ? new Set(opts.endpoints.handles) : undefined;
  const owners = opts.endpoints?.owners ?? new Map<string, string>();
  const liveIps = new Set([...(opts.endpoints?.ips ?? []), ...owners.keys()]);
  const checkEndpoints = opts.endpoints !== undefined;

  const holder = new Map<string, string>(); // address -> block
  const counted = new Map<string, Map<string, number>>(); // handle -> block -> n
  for (const b of blocks) {
    const cidr = parseCidr(b.doc.cidr);
    const affNode = nodeOfAffinity(b.doc.affinity);
    problems.push(...blockShapeProblems(b.key, b.doc));
    for (const a of blk.allocationsOf(b.doc)) {
      const address = formatIPv4(ordinalToAddress(cidr, a.ordinal));
      totals.allocations++;
      totals.perNode[affNode ?? ''] = (totals.perNode[affNode ?? ''] ?? 0) + 1;
      if (a.attrs?.node !== undefined && a.attrs.node !== affNode) totals.borrowed++;
      const other = holder.get(address);
      if (other !== undefined) {
        problems.push({ kind: 'duplicate-address', address, block: b.doc.cidr, message: `${address} is allocated in both block ${other} and block ${b.doc.cidr}` });
      }
      holder.set(address, b.doc.cidr);
      if (a.handle === null) {
        problems.push({ kind: 'allocation-without-handle', address, block: b.doc.cidr, message: `${address} in block ${b.doc.cidr} has no handle; release it with tabby ipam release --ip ${address}` });
        continue;
      }
      const perBlock = counted.get(a.handle) ?? new Map<string, number>();
      perBlock.set(b.doc.cidr, (perBlock.get(b.doc.cidr) ?? 0) + 1);
      counted.set(a.handle, perBlock);
      if (checkEndpoints && !liveHandles?.has(a.handle) && !liveIps.has(address)) {
        problems.push({
          kind: 'allocation-without-endpoint',
          address,
          handle: a.handle,
          block: b.doc.cidr,
          message: `${address} (handle ${a.handle}) belongs to no live workload; release it with tabby ipam release --ip ${address}`,
        });
      }
    }
  }

  for (const [address, owner] of owners) {
    if (holder.has(address)) continue;
    problems.push({
      kind: 'endpoint-without-allocation',
      address,
      message: `${owner} uses ${address}, which IPAM has not allocated; another workload may get it: recreate the workload so it gets a real allocation`,
    });
  }

  const handleDocs = new Map(handles.map((h) => [h.doc.handleID, h]));
  for (const [handle, perBlock] of counted) {
    const h = handleDocs.get(handle);
    if (!h) {
      problems.push({ kind: 'allocation-without-handle', handle, message: `blocks ${[...perBlock.keys()].join(', ')} hold addresses of handle ${handle}, whose record ${store.keys.handle(handle)} is missing` });
      continue;
    }
    const names = new Set([...perBlock.keys(), ...Object.keys(h.doc.block)]);
    for (const name of names) {
      const inBlock = perBlock.get(name) ?? 0;
      const inHandle = h.doc.block[name] ?? 0;
      if (inBlock !== inHandle) {
        problems.push({
          kind: 'handle-count-mismatch',
          handle,
          block: name,
          message: `handle ${handle} counts ${inHandle} address(es) in block ${name} but the block holds ${inBlock}; release by handle after its workload is gone`,
        });
      }
    }
  }
  for (const h of handles) {
    if (!counted.has(h.doc.handleID)) {
      problems.push({ kind: 'handle-without-addresses', handle: h.doc.handleID, message: `handle ${h.doc.handleID} holds no address; release it by handle (tabby ipam release --handle ${h.doc.handleID})` });
    }
  }

  const blockByCidr = new Map(blocks.map((b) => [b.doc.cidr, b]));
  const affinityKeys = new Set(affinities.map((a) => `${a.node} ${a.cidr.base}/${a.cidr.prefix}`));
  for (const a of affinities) {
    const name = `${formatIPv4(a.cidr.base)}/${a.cidr.prefix}`;
    const b = blockByCidr.get(name);
    if (!b) {
      problems.push({ kind: 'affinity-without-block', node: a.node, block: name, message: `node ${a.node} has a ${a.doc.state} affinity for block ${name}, which does not exist (an unfinished claim; the node's next allocation finishes it)` });
    } else if (nodeOfAffinity(b.doc.affinity) !== a.node) {
      problems.push({ kind: 'block-affinity-mismatch', node: a.node, block: name, message: `node ${a.node} has an affinity for block ${name}, but the block says ${b.doc.affinity ?? 'no affinity'}` });
    }
  }
  for (const b of blocks) {
    const node = nodeOfAffinity(b.doc.affinity);
    const cidr = parseCidr(b.doc.cidr);
    if (node !== undefined && !affinityKeys.has(`${node} ${cidr.base}/${cidr.prefix}`)) {
      problems.push({ kind: 'block-affinity-mismatch', node, block: b.doc.cidr, message: `block ${b.doc.cidr} says ${b.doc.affinity} but ${store.keys.affinity(node, cidr)} does not exist` });
    }
  }
  return { ok: problems.length === 0, totals, problems };
}

/** A block's arrays must agree: every ordinal is either allocated or listed free, once. */
function blockShapeProblems(key: string, b: import('./model.js').BlockDoc): IpamProblem[] {
  const out: IpamProblem[] = [];
  const size = 2 ** (32 - parseCidr(b.cidr).prefix);
  const bad = (what: string) => out.push({ kind: 'block-inconsistent', block: b.cidr, message: `block ${b.cidr} (${key}): ${what}` });
  if (b.allocations.length !== size) bad(`has ${b.allocations.length} allocation slots, expected ${size}`);
  const free = new Set<number>();
  for (const o of b.unallocated) {
    if (free.has(o)) bad(`ordinal ${o} is listed free twice`);
    free.add(o);
    if (b.allocations[o] !== null && b.allocations[o] !== undefined) bad(`ordinal ${o} is both allocated and free`);
  }
  b.allocations.forEach((idx, o) => {
    if (idx === null && !free.has(o)) bad(`ordinal ${o} is neither allocated nor free (lost)`);
    if (idx !== null && (idx < 0 || idx >= b.attributes.length)) bad(`ordinal ${o} points at missing attribute ${idx}`);
  });
  return out;
}
