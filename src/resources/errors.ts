import { TabbyError } from '../errors.js';

/**
 * One problem found in one document. `document` names where the document came from, e.g.
 * `pools.yaml document 2` or `list.yaml document 1 item 3` (empty for an object that came
 * from no file); `path` is the field, e.g. `spec.ingress[0].destination.ports[1]`
 * (empty when the problem is the document as a whole); `message` says what is wrong and what
 * is allowed.
 */
export interface ValidationIssue {
  document: string;
  path: string;
  message: string;
  /** 1-based line of the offending field in the source text, when known. */
  line?: number;
  /** `Kind/name` (or `Kind/namespace/name`) of the resource, when it could be read. */
  resource?: string;
}

/** Every problem found in a set of documents; the message lists them all, one per line. */
export class ResourceValidationError extends TabbyError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[]) {
    super('RESOURCE_INVALID', formatIssues(issues));
    this.issues = issues;
  }
}

/** An unknown kind name or alias (the message lists the known ones). */
export class UnknownKindError extends TabbyError {
  constructor(readonly kindOrAlias: string, known: string[]) {
    super('UNKNOWN_KIND', `unknown resource kind ${JSON.stringify(kindOrAlias)}; known kinds: ${known.join(', ')}`);
  }
}

export function formatIssue(i: ValidationIssue): string {
  const where = i.line !== undefined ? `${i.document}, line ${i.line}` : i.document;
  const parts = [where ? `${where}:` : '', i.resource ?? '', i.path ? `${i.path}:` : '', i.message];
  return parts.filter((p) => p !== '').join(' ');
}

function formatIssues(issues: ValidationIssue[]): string {
  if (issues.length === 1) return `invalid resource: ${formatIssue(issues[0] as ValidationIssue)}`;
  return `${issues.length} problems in resources:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`;
}
