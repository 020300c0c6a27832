/**
 * Decoding one untrusted object into a typed, defaulted Resource. `checkResource` reports
 * every problem through a Reporter and never throws; `validateResource` is the throwing
 * front door for a single object.
 */
import { ResourceValidationError, type ValidationIssue } from './errors.js';
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValue } from './fields.js';
import type { KindDefinition } from './kind-definition.js';
import { definitionFor, definitionOf, definitionsNamed, KIND_DEFINITIONS } from './registry.js';
import { Ctx, describeValue, formatPath, isPlainObject, obj, str, stringMap, type PathSegment, type Reporter } from './schema.js';
import type { ObjectMeta, Resource } from './types.js';

export const DEFAULT_NAMESPACE = 'default';

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec'];

const metadataFields = obj<ObjectMeta>({
  name: { check: str({ nonEmpty: true }), required: true },
  namespace: str({ test: dnsLabelProblem }),
  uid: str(),
  creationTimestamp: str({
    test: (s) => (Number.isNaN(Date.parse(s)) ? `${JSON.stringify(s)} is not an RFC 3339 timestamp such as 2024-01-02T03:04:05Z` : undefined),
  }),
  resourceVersion: str(),
  labels: stringMap(labelValue, labelKeyProblem),
  annotations: stringMap(str(), labelKeyProblem),
});

/** `Kind/name` or `Kind/namespace/name`, used to name a resource in messages. */
export function resourceRef(r: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return r.metadata.namespace ? `${r.kind}/${r.metadata.namespace}/${r.metadata.name}` : `${r.kind}/${r.metadata.name}`;
}

function findDefinition(value: Record<string, unknown>, ctx: Ctx): KindDefinition | undefined {
  const { apiVersion, kind } = value;
  if (kind === undefined) return ctx.at('kind').error('is required');
  if (typeof kind !== 'string') return ctx.at('kind').error(`expected a string, got ${describeValue(kind)}`);
  const named = definitionsNamed(kind);
  if (named.length === 0) {
    const known = [...new Set(KIND_DEFINITIONS.map((d) => d.info.kind))].join(', ');
    const hint = KIND_DEFINITIONS.find((d) => d.info.kind.toLowerCase() === kind.toLowerCase());
    return ctx.at('kind').error(`unknown kind ${JSON.stringify(kind)}${hint ? ` (did you mean ${hint.info.kind}?)` : ''}; known kinds: ${known}`);
  }
  const allowed = named.map((d) => d.info.apiVersion);
  if (apiVersion === undefined) return ctx.at('apiVersion').error(`is required; for ${kind} use ${allowed.join(' or ')}`);
  const def = typeof apiVersion === 'string' ? definitionFor(apiVersion, kind) : undefined;
  if (!def) {
    return ctx.at('apiVersion').error(`${JSON.stringify(apiVersion)} is not an apiVersion of kind ${kind}; use ${allowed.join(' or ')}`);
  }
  return def;
}

/**
 * Checks one document. Returns the defaulted resource when nothing was reported, otherwise
 * `undefined` (the problems went to `reporter`).
 */
export function checkResource(value: unknown, reporter: Reporter): Resource | undefined {
  let problems = 0;
  const counting: Reporter = {
    report(path, message) {
      problems++;
      reporter.report(path, message);
    },
  };
  const ctx = new Ctx(counting);
  if (!isPlainObject(value)) {
    ctx.error(`a resource must be an object with apiVersion, kind, metadata and spec, got ${describeValue(value)}`);
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (!TOP_LEVEL.includes(k)) ctx.at(k).error(`unknown field ${JSON.stringify(k)}; allowed fields: ${TOP_LEVEL.join(', ')}`);
  }
  const def = findDefinition(value, ctx);

  let meta: ObjectMeta | undefined;
  if (value.metadata === undefined || value.metadata === null) ctx.at('metadata').error('is required (with at least a name)');
  else meta = metadataFields(value.metadata, ctx.at('metadata'));
  if (!def) return undefined;

  // A bad or missing name was reported above; kind rules that look at the name see ''.
  const m: ObjectMeta = { ...meta, name: meta?.name ?? '' };
  if (def.info.namespaced) {
    m.namespace ??= DEFAULT_NAMESPACE;
  } else if (m.namespace !== undefined) {
    ctx.at('metadata', 'namespace').error(`${def.info.kind} is not namespaced; remove metadata.namespace`);
    delete m.namespace;
  }

  let spec: unknown = value.spec;
  if (spec === undefined || spec === null) {
    if (!def.specOptional) ctx.at('spec').error(`is required for ${def.info.kind}`);
    spec = {};
  }
  const checkedSpec = def.checkSpec(spec, ctx.at('spec'), m);

  if (m.name) {
    const nameProblem = def.nameProblem ? def.nameProblem(m.name, checkedSpec) : dnsSubdomainProblem(m.name);
    if (nameProblem) ctx.at('metadata', 'name').error(nameProblem);
  }
  if (problems > 0) return undefined;
  const resource = { apiVersion: def.info.apiVersion, kind: def.info.kind, metadata: m, spec: checkedSpec } as Resource;
  return withDefaults(resource);
}

/**
 * Returns `resource` with Calico's defaults filled in (namespace `default` for namespaced
 * kinds, IPPool blockSize/modes/nodeSelector, policy tier/types, ...). Pure; idempotent.
 */
export function withDefaults<R extends Resource>(resource: R): R {
  const def = definitionOf(resource);
  const metadata = { ...resource.metadata };
  if (def.info.namespaced) metadata.namespace ??= DEFAULT_NAMESPACE;
  return { ...resource, metadata, spec: def.withDefaults(resource.spec as never, metadata) } as R;
}

/** Collects issues for one object, naming it `document`. */
export function collectIssues(value: unknown, document: string): { resource?: Resource; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const ref = describeRef(value);
  const resource = checkResource(value, {
    report(path: readonly PathSegment[], message: string) {
      issues.push({ document, path: formatPath(path), message, ...(ref ? { resource: ref } : {}) });
    },
  });
  return resource ? { resource, issues } : { issues };
}

/** A best-effort `Kind/name` of an object that may be invalid. */
export function describeRef(value: unknown): string | undefined {
  if (!isPlainObject(value) || typeof value.kind !== 'string') return undefined;
  const md = value.metadata;
  if (!isPlainObject(md) || typeof md.name !== 'string') return undefined;
  return resourceRef({
    kind: value.kind,
    metadata: { name: md.name, ...(typeof md.namespace === 'string' ? { namespace: md.namespace } : {}) },
  });
}

/**
 * Validates one object and returns it typed and defaulted; throws `ResourceValidationError`
 * listing every problem. `where` names it in messages (`source` document `index + 1`).
 */
export function validateResource(value: unknown, where?: { source: string; index: number }): Resource {
  const document = where ? `${where.source} document ${where.index + 1}` : '';
  const { resource, issues } = collectIssues(value, document);
  if (!resource) throw new ResourceValidationError(issues);
  return resource;
}
