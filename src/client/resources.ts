/**
 * Resource CRUD on the datastore, in the spirit of libcalico-go's clientv3: every write is
 * a compare-and-swap on the revision that was read, metadata that the server owns (uid,
 * creationTimestamp, resourceVersion) is kept, and the few cross-resource rules that a
 * single document cannot check (pools must not overlap; a pool's CIDR and block size are
 * fixed once created) are enforced here.
 */
import { randomUUID } from 'node:crypto';
import type { Backend, KV } from '../datastore/backend.js';
import { ConflictError } from '../datastore/errors.js';
import type { Keys } from '../datastore/keys.js';
import { fromStored, storageKeyParts, toStored, type KindInfo, type Resource } from '../resources/index.js';
import { cidrsOverlap, parseCIDR } from '../net/ip-address.js';
import { ResourceConflictError } from './errors.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ResourceClientOptions {
  now?: () => Date;
  newUid?: () => string;
}

export class ResourceClient {
  private readonly now: () => Date;
  private readonly newUid: () => string;

  constructor(
    private readonly backend: Backend,
    private readonly keys: Keys,
    opts: ResourceClientOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.newUid = opts.newUid ?? randomUUID;
  }

  keyOf(resource: Pick<Resource, 'apiVersion' | 'kind' | 'metadata'>): string {
    return this.keys.resource(storageKeyParts(resource));
  }

  async get(kind: KindInfo, name: string, namespace?: string): Promise<Resource | undefined> {
    const key = this.keys.resource({ group: kind.group, plural: kind.plural, name, ...(kind.namespaced ? { namespace: namespace ?? 'default' } : {}) });
    const kv = await this.backend.get(key);
    return kv ? fromStored(kv.value, kv.revision) : undefined;
  }

  /** All resources of a kind; for namespaced kinds, of one namespace or (undefined) of all. */
  async list(kind: KindInfo, namespace?: string): Promise<Resource[]> {
    const prefix = this.keys.resourcePrefix(kind.plural, kind.namespaced ? namespace : undefined, kind.group);
    const { kvs } = await this.backend.list(prefix);
    return kvs.map((kv) => fromStored(kv.value, kv.revision));
  }

  async create(resource: Resource): Promise<Resource> {
    await this.checkCrossResource(resource, undefined);
    const stored = this.stamp(resource, undefined);
    try {
      const kv = await this.backend.create(this.keyOf(resource), toStored(stored));
      return withRevision(stored, kv);
    } catch (err) {
      if (err instanceof ConflictError) {
        throw new ResourceConflictError('ALREADY_EXISTS', `${describe(resource)} already exists; use 'tabby apply' or 'tabby replace' to change it`);
      }
      throw err;
    }
  }

  /** Replaces an existing resource; with metadata.resourceVersion set, only if it is still that version. */
  async replace(resource: Resource): Promise<Resource> {
    const current = await this.backend.get(this.keyOf(resource));
    if (!current) throw new ResourceConflictError('NOT_FOUND', `${describe(resource)} does not exist; use 'tabby create' or 'tabby apply'`);
    const want = resource.metadata.resourceVersion;
    if (want !== undefined && want !== current.revision) {
      throw new ResourceConflictError('STALE', `${describe(resource)} was changed since resourceVersion ${want} (now ${current.revision}); get it again and reapply your change`);
    }
    return this.update(resource, current);
  }

  /** Creates or updates; reports whether anything changed. */
  async apply(resource: Resource): Promise<{ resource: Resource; outcome: ApplyOutcome }> {
    const current = await this.backend.get(this.keyOf(resource));
    if (!current) return { resource: await this.create(resource), outcome: 'created' };
    const existing = fromStored(current.value, current.revision);
    if (sameContent(existing, resource)) return { resource: existing, outcome: 'unchanged' };
    return { resource: await this.update(resource, current), outcome: 'configured' };
  }

  /**
   * Deletes the resource. With `current` (a copy the caller just read), only if it is still
   * that version (else STALE), and without reading it again.
   */
  async delete(kind: KindInfo, name: string, namespace?: string, opts: { current?: Resource } = {}): Promise<Resource> {
    const existing = opts.current ?? (await this.get(kind, name, namespace));
    if (!existing) throw new ResourceConflictError('NOT_FOUND', `${kind.kind} ${qualified(kind, name, namespace)} does not exist`);
    try {
      await this.backend.delete(this.keyOf(existing), existing.metadata.resourceVersion);
    } catch (err) {
      if (err instanceof ConflictError && err.reason === 'NOT_FOUND') {
        throw new ResourceConflictError('NOT_FOUND', `${describe(existing)} was deleted by someone else meanwhile`);
      }
      if (err instanceof ConflictError) {
        throw new ResourceConflictError('STALE', `${describe(existing)} changed while it was being deleted; try again`);
      }
      throw err;
    }
    return existing;
  }

  private async update(resource: Resource, current: KV): Promise<Resource> {
    const existing = fromStored(current.value, current.revision);
    await this.checkCrossResource(resource, existing);
    const stored = this.stamp(resource, existing);
    try {
      const kv = await this.backend.update(this.keyOf(resource), toStored(stored), current.revision);
      return withRevision(stored, kv);
    } catch (err) {
      if (err instanceof ConflictError) {
        throw new ResourceConflictError('STALE', `${describe(resource)} was changed by someone else while it was being written; try again`);
      }
      throw err;
    }
  }

  /** Server-owned metadata: kept from the existing copy, or made for a new one. */
  private stamp(resource: Resource, existing: Resource | undefined): Resource {
    const metadata = { ...resource.metadata };
    delete metadata.resourceVersion;
    metadata.uid = existing?.metadata.uid ?? resource.metadata.uid ?? this.newUid();
    metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? resource.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...resource, metadata } as Resource;
  }

  private async checkCrossResource(resource: Resource, existing: Resource | undefined): Promise<void> {
    if (resource.kind !== 'IPPool') return;
    const spec = resource.spec;
    if (existing && existing.kind === 'IPPool') {
      if (existing.spec.cidr !== spec.cidr) {
        throw new ResourceConflictError('IMMUTABLE', `${describe(resource)}: spec.cidr cannot change (${existing.spec.cidr} -> ${spec.cidr}); create a new pool, disable this one, and delete it once it is empty`);
      }
      if (existing.spec.blockSize !== spec.blockSize) {
        throw new ResourceConflictError('IMMUTABLE', `${describe(resource)}: spec.blockSize cannot change (${existing.spec.blockSize} -> ${spec.blockSize}); create a new pool instead`);
      }
    }
    const mine = parseCIDR(spec.cidr);
    if (!mine) return; // validation already reported it
    const kv = await this.backend.list(this.keys.resourcePrefix('ippools'));
    for (const other of kv.kvs) {
      const pool = fromStored(other.value);
      if (pool.kind !== 'IPPool' || pool.metadata.name === resource.metadata.name) continue;
      const theirs = parseCIDR(pool.spec.cidr);
      if (theirs && cidrsOverlap(mine, theirs)) {
        throw new ResourceConflictError('OVERLAP', `${describe(resource)}: spec.cidr ${spec.cidr} overlaps IPPool ${pool.metadata.name} (${pool.spec.cidr}); pools must not overlap`);
      }
    }
  }
}

function withRevision(resource: Resource, kv: KV): Resource {
  return { ...resource, metadata: { ...resource.metadata, resourceVersion: kv.revision } } as Resource;
}

/** Same labels, annotations and spec: applying it again would change nothing. */
function sameContent(a: Resource, b: Resource): boolean {
  const strip = (r: Resource): string => JSON.stringify({ l: r.metadata.labels ?? {}, a: r.metadata.annotations ?? {}, s: r.spec });
  return strip(a) === strip(b);
}

export function describe(resource: Pick<Resource, 'kind' | 'metadata'>): string {
  const ns = resource.metadata.namespace;
  return `${resource.kind} ${ns ? `${ns}/` : ''}${resource.metadata.name}`;
}

function qualified(kind: KindInfo, name: string, namespace?: string): string {
  return kind.namespaced ? `${namespace ?? 'default'}/${name}` : name;
}
