/**
 * IPAM documents exactly as stored in etcd, in Calico's JSON shapes, so a Calico user
 * reading the keys with etcdctl recognises them. Parsers validate just enough that the
 * block functions can trust the shape; anything else is `CORRUPT_RECORD` naming the key.
 */
import { IpamError } from './errors.js';

export interface AllocationAttribute {
  handle_id: string | null;
  secondary: Record<string, string> | null;
}

export interface BlockDoc {
  cidr: string;
  /** `host:<node>` when a node holds the block's affinity, null otherwise. */
  affinity: string | null;
  strictAffinity: boolean;
  /** Per ordinal: index into `attributes`, or null when free. */
  allocations: (number | null)[];
  /** Free ordinals in the order they will be handed out (released ones go to the end). */
  unallocated: number[];
  attributes: AllocationAttribute[];
  deleted: boolean;
  /** Bumped by every allocation; the value at allocation time guards releases. */
  sequenceNumber: number;
  sequenceNumberForAllocation: Record<string, number>;
}

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface AffinityDoc {
  state: AffinityState;
  deleted: boolean;
}

export interface HandleDoc {
  handleID: string;
  /** Block CIDR -> number of addresses this handle holds in it. */
  block: Record<string, number>;
  deleted: boolean;
}

export interface IpamConfig {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  /** 0 means unlimited. */
  maxBlocksPerHost: number;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = { strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0 };

/** What IPAM needs of an IPPool resource (validation of the resource is not IPAM's job). */
export interface IpPool {
  name: string;
  cidr: string;
  blockSize: number;
  nodeSelector: string;
  disabled: boolean;
  ipipMode: string;
  vxlanMode: string;
  natOutgoing: boolean;
}

export function affinityFor(node: string): string {
  return `host:${node}`;
}

/** The node of a `host:<node>` affinity, or undefined. */
export function nodeOfAffinity(affinity: string | null): string | undefined {
  return affinity?.startsWith('host:') ? affinity.slice(5) : undefined;
}

function corrupt(key: string, what: string): IpamError {
  return new IpamError('CORRUPT_RECORD', `IPAM record ${key} is not valid (${what}); inspect it with etcdctl get ${key}`);
}

function parseJson(key: string, value: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    throw corrupt(key, `not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(key, 'not a JSON object');
  return doc as Record<string, unknown>;
}

export function parseBlock(key: string, value: string): BlockDoc {
  const d = parseJson(key, value);
  if (typeof d.cidr !== 'string') throw corrupt(key, 'cidr missing');
  if (!Array.isArray(d.allocations) || !Array.isArray(d.unallocated) || !Array.isArray(d.attributes)) {
    throw corrupt(key, 'allocations/unallocated/attributes must be arrays');
  }
  const allocations = d.allocations.map((a) => (a === null || a === undefined ? null : Number(a)));
  const unallocated = d.unallocated.map(Number);
  if (allocations.some((a) => a !== null && !Number.isInteger(a)) || unallocated.some((u) => !Number.isInteger(u))) {
    throw corrupt(key, 'non-integer ordinal');
  }
  const seqFor: Record<string, number> = {};
  if (typeof d.sequenceNumberForAllocation === 'object' && d.sequenceNumberForAllocation !== null) {
    for (const [k, v] of Object.entries(d.sequenceNumberForAllocation as Record<string, unknown>)) seqFor[k] = Number(v);
  }
  return {
    cidr: d.cidr,
    affinity: typeof d.affinity === 'string' ? d.affinity : null,
    strictAffinity: d.strictAffinity === true,
    allocations,
    unallocated,
    attributes: (d.attributes as unknown[]).map((a) => {
      const o = (a ?? {}) as Record<string, unknown>;
      return {
        handle_id: typeof o.handle_id === 'string' ? o.handle_id : null,
        secondary: typeof o.secondary === 'object' && o.secondary !== null ? (o.secondary as Record<string, string>) : null,
      };
    }),
    deleted: d.deleted === true,
    sequenceNumber: Number(d.sequenceNumber ?? 0),
    sequenceNumberForAllocation: seqFor,
  };
}

export function parseAffinity(key: string, value: string): AffinityDoc {
  const d = parseJson(key, value);
  if (d.state !== 'pending' && d.state !== 'confirmed' && d.state !== 'pendingDeletion') {
    // Calico writes "" for confirmed in some versions; treat an absent state as confirmed.
    if (d.state === undefined || d.state === '') return { state: 'confirmed', deleted: d.deleted === true };
    throw corrupt(key, `unknown affinity state ${JSON.stringify(d.state)}`);
  }
  return { state: d.state, deleted: d.deleted === true };
}

export function parseHandle(key: string, value: string): HandleDoc {
  const d = parseJson(key, value);
  if (typeof d.handleID !== 'string') throw corrupt(key, 'handleID missing');
  const block: Record<string, number> = {};
  if (typeof d.block === 'object' && d.block !== null) {
    for (const [k, v] of Object.entries(d.block as Record<string, unknown>)) block[k] = Number(v);
  }
  return { handleID: d.handleID, block, deleted: d.deleted === true };
}

export function parseIpamConfig(key: string, value: string): IpamConfig {
  const d = parseJson(key, value);
  return {
    strictAffinity: d.strictAffinity === true,
    autoAllocateBlocks: d.autoAllocateBlocks !== false,
    maxBlocksPerHost: Number.isInteger(d.maxBlocksPerHost) ? (d.maxBlocksPerHost as number) : 0,
  };
}

/** Reads the IPAM-relevant part of an IPPool resource (`projectcalico.org/v3`). */
export function parsePool(key: string, value: string): IpPool {
  const d = parseJson(key, value);
  const meta = (d.metadata ?? {}) as Record<string, unknown>;
  const spec = (d.spec ?? {}) as Record<string, unknown>;
  if (typeof spec.cidr !== 'string') throw corrupt(key, 'spec.cidr missing');
  return {
    name: typeof meta.name === 'string' ? meta.name : key.slice(key.lastIndexOf('/') + 1),
    cidr: spec.cidr,
    blockSize: typeof spec.blockSize === 'number' ? spec.blockSize : 26,
    nodeSelector: typeof spec.nodeSelector === 'string' ? spec.nodeSelector : 'all()',
    disabled: spec.disabled === true,
    ipipMode: typeof spec.ipipMode === 'string' ? spec.ipipMode : 'Never',
    vxlanMode: typeof spec.vxlanMode === 'string' ? spec.vxlanMode : 'Never',
    natOutgoing: spec.natOutgoing === true,
  };
}

export const stringify = (doc: unknown): string => JSON.stringify(doc);
