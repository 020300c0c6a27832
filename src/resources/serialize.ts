/**
 * Resources out: YAML and JSON for people, and the JSON value kept in etcd. The stored form
 * is Calico's layout (apiVersion, kind, metadata, spec) without `resourceVersion`, which is
 * the etcd mod revision and is filled back in by `fromStored`.
 */
import { stringify } from 'yaml';
import { ResourceValidationError } from './errors.js';
import { definitionOf } from './registry.js';
import type { ObjectMeta, Resource } from './types.js';
import { collectIssues } from './validate.js';

/** Where a resource lives: `/calico/resources/v3/<group>/<plural>/[<namespace>/]<name>`. */
export interface StorageKeyParts {
  group: string;
  plural: string;
  namespace?: string;
  name: string;
}

export function storageKeyParts(resource: Pick<Resource, 'apiVersion' | 'kind' | 'metadata'>): StorageKeyParts {
  const { info } = definitionOf(resource);
  const parts: StorageKeyParts = { group: info.group, plural: info.plural, name: resource.metadata.name };
  if (info.namespaced) parts.namespace = resource.metadata.namespace ?? 'default';
  return parts;
}

const META_ORDER: (keyof ObjectMeta)[] = ['name', 'namespace', 'uid', 'creationTimestamp', 'resourceVersion', 'labels', 'annotations'];

/** A copy with a stable key order (apiVersion, kind, metadata, spec), so output diffs cleanly. */
function ordered(resource: Resource, opts: { resourceVersion: boolean }): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const k of META_ORDER) {
    if (k === 'resourceVersion' && !opts.resourceVersion) continue;
    const v = resource.metadata[k];
    if (v !== undefined) metadata[k] = v;
  }
  return { apiVersion: resource.apiVersion, kind: resource.kind, metadata, spec: resource.spec };
}

/** The JSON value written to etcd for `resource` (no resourceVersion). */
export function toStored(resource: Resource): string {
  return JSON.stringify(ordered(resource, { resourceVersion: false }));
}

/**
 * Reads a stored value back, validating it (a corrupt or hand-edited value is reported, not
 * trusted) and setting `metadata.resourceVersion` to `revision` when given.
 */
export function fromStored(json: string, revision?: string): Resource {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new ResourceValidationError([{ document: 'stored value', path: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  const { resource, issues } = collectIssues(value, 'stored value');
  if (!resource) throw new ResourceValidationError(issues);
  if (revision !== undefined) resource.metadata.resourceVersion = revision;
  return resource;
}

/** One or more resources as YAML; several become a multi-document stream. */
export function toYAML(resources: Resource | readonly Resource[]): string {
  const list = Array.isArray(resources) ? resources : [resources as Resource];
  return list.map((r) => stringify(ordered(r, { resourceVersion: true }), { lineWidth: 0 })).join('---\n');
}

/** One resource as a JSON object, several as a `kind: List` (as kubectl and calicoctl print). */
export function toJSON(resources: Resource | readonly Resource[]): string {
  if (!Array.isArray(resources)) return JSON.stringify(ordered(resources as Resource, { resourceVersion: true }), null, 2);
  const items = resources.map((r: Resource) => ordered(r, { resourceVersion: true }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2);
}
