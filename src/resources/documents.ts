/**
 * Reading a file's worth of resources: multi-document YAML, JSON, and `kind: List` (or a
 * top-level array) of items. Every document is checked and every problem is collected, each
 * with the document, the field path and the line of the offending field, so a caller can
 * show all mistakes at once and refuse to write anything if there is one.
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ResourceValidationError, type ValidationIssue } from './errors.js';
import { isPlainObject } from './schema.js';
import type { Resource } from './types.js';
import { collectIssues } from './validate.js';

export interface ParsedDocuments {
  /** The valid resources, typed and defaulted, in file order. */
  resources: Resource[];
  /** Every problem found; empty when the whole input is valid. */
  issues: ValidationIssue[];
}

/**
 * Parses and validates `text` (named `source` in messages). Never throws for bad input:
 * problems come back in `issues` (use `assertValid` to turn them into a
 * `ResourceValidationError`). Empty documents (a trailing `---`) are skipped.
 */
export function parseDocuments(text: string, source: string): ParsedDocuments {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const out: ParsedDocuments = { resources: [], issues: [] };
  const lineOf = (offset: number): number => lines.linePos(offset).line;

  // parseAllDocuments returns an EmptyStream (an array with .empty) for blank input.
  [...docs].forEach((doc, docIndex) => {
    const docLine = lineOf(doc.contents?.range[0] ?? doc.range[0]);
    const docName = `${source} document ${docIndex + 1}`;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const line = err.linePos?.[0].line ?? docLine;
        out.issues.push({ document: docName, path: '', message: `YAML syntax error: ${firstLine(err.message)}`, line });
      }
      return;
    }
    let value: unknown;
    try {
      // Throws on an alias to an unknown anchor, or an alias bomb past maxAliasCount.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.issues.push({ document: docName, path: '', message: `YAML error: ${firstLine((e as Error).message)}`, line: docLine });
      return;
    }
    if (value === null || value === undefined) return;

    const items = listItems(value);
    if (items === undefined) {
      check(value, [], docName, doc, lineOf, out);
    } else if (typeof items === 'string') {
      out.issues.push({ document: docName, path: 'items', message: items, line: docLine });
    } else {
      const prefix: (string | number)[] = Array.isArray(value) ? [] : ['items'];
      items.forEach((item, i) => {
        check(item, [...prefix, i], `${docName} item ${i + 1}`, doc, lineOf, out);
      });
    }
  });
  return out;
}

/** Throws `ResourceValidationError` with every issue when there is any; returns the resources. */
export function assertValid(parsed: ParsedDocuments): Resource[] {
  if (parsed.issues.length > 0) throw new ResourceValidationError(parsed.issues);
  return parsed.resources;
}

/** The items of a `kind: List` (or a top-level array); a string when the List itself is malformed. */
function listItems(value: unknown): unknown[] | string | undefined {
  if (Array.isArray(value)) return value;
  if (!isPlainObject(value) || value.kind !== 'List') return undefined;
  for (const k of Object.keys(value)) {
    if (!['apiVersion', 'kind', 'items', 'metadata'].includes(k)) return `unknown field ${JSON.stringify(k)} in a List; allowed fields: apiVersion, kind, items, metadata`;
  }
  if (!Array.isArray(value.items)) return 'a List needs an items list';
  return value.items;
}

function check(
  value: unknown,
  prefix: (string | number)[],
  document: string,
  doc: Document,
  lineOf: (offset: number) => number,
  out: ParsedDocuments,
): void {
  const { resource, issues } = collectIssues(value, document);
  if (resource) out.resources.push(resource);
  for (const issue of issues) {
    const line = nodeLine(doc, [...prefix, ...splitPath(issue.path)], lineOf);
    out.issues.push(line === undefined ? issue : { ...issue, line });
  }
}

/**
 * The line of the deepest existing YAML node along `path`. A map entry is located by its key
 * (so `spec:` rather than the first line inside it), and a missing field points at its
 * parent's key.
 */
function nodeLine(doc: Document, path: (string | number)[], lineOf: (offset: number) => number): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const parent: unknown = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const last = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isNode(pair.key) && pair.key.range) return lineOf(pair.key.range[0]);
    } else if (isSeq(parent) && typeof last === 'number') {
      const item: unknown = parent.items[last];
      if (isNode(item) && item.range) return lineOf(item.range[0]);
    }
  }
  return isNode(doc.contents) && doc.contents.range ? lineOf(doc.contents.range[0]) : undefined;
}

/** The inverse of formatPath: `spec.ingress[0].ports[1]` -> ['spec', 'ingress', 0, 'ports', 1]. */
function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/\[("(?:[^"\\]|\\.)*")\]|\[(\d+)\]|([^.[\]]+)/g)) {
    if (m[1] !== undefined) out.push(JSON.parse(m[1]) as string);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
