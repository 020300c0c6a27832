/**
 * A tiny strict-decoding toolkit. A `Check<T>` looks at one untrusted value, reports every
 * problem it sees through the context (with the field path), and returns the value it
 * accepted, or `undefined` when it reported a problem. Objects are strict: a field the schema
 * does not name is an error, as with calicoctl. Checks never throw, so one pass collects all
 * problems in a document.
 */

export type PathSegment = string | number;

export interface Reporter {
  report(path: readonly PathSegment[], message: string): void;
}

export class Ctx {
  constructor(
    private readonly reporter: Reporter,
    readonly path: readonly PathSegment[] = [],
  ) {}

  at(...segments: PathSegment[]): Ctx {
    return new Ctx(this.reporter, [...this.path, ...segments]);
  }

  error(message: string): undefined {
    this.reporter.report(this.path, message);
    return undefined;
  }
}

export type Check<T> = (value: unknown, ctx: Ctx) => T | undefined;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    // Map keys such as "app.kubernetes.io/name" are bracketed so the path stays unambiguous.
    else if (!/^[A-Za-z0-9_-]+$/.test(seg)) out += `[${JSON.stringify(seg)}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** "a string", "the number 5", "a list", ... for "expected X, got Y" messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
    case 'number':
    case 'boolean':
      return `${typeof v} ${String(v)}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** Sets a key even when it is "__proto__" (plain assignment would replace the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface StrOptions {
  oneOf?: readonly string[];
  nonEmpty?: boolean;
  maxLength?: number;
  /** Returns an error message when the string is not acceptable. */
  test?: (s: string) => string | undefined;
}

export function str(opts: StrOptions = {}): Check<string> {
  return (v, ctx) => {
    if (typeof v !== 'string') return ctx.error(`expected a string, got ${describeValue(v)}`);
    if (opts.oneOf && !opts.oneOf.includes(v)) {
      return ctx.error(`${JSON.stringify(v)} is not allowed; allowed values: ${opts.oneOf.join(', ')}`);
    }
    if (opts.nonEmpty && v === '') return ctx.error('must not be empty');
    if (opts.maxLength !== undefined && v.length > opts.maxLength) {
      return ctx.error(`is ${v.length} characters long; the maximum is ${opts.maxLength}`);
    }
    const problem = opts.test?.(v);
    if (problem) return ctx.error(problem);
    return v;
  };
}

export function bool(): Check<boolean> {
  return (v, ctx) => (typeof v === 'boolean' ? v : ctx.error(`expected true or false, got ${describeValue(v)}`));
}

export function int(opts: { min?: number; max?: number } = {}): Check<number> {
  return (v, ctx) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return ctx.error(`expected an integer, got ${describeValue(v)}`);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      return ctx.error(`${v} is out of range; allowed: ${opts.min ?? '-inf'} to ${opts.max ?? 'inf'}`);
    }
    return v;
  };
}

export function num(): Check<number> {
  return (v, ctx) => (typeof v === 'number' && Number.isFinite(v) ? v : ctx.error(`expected a number, got ${describeValue(v)}`));
}

export function list<T>(item: Check<T>, opts: { nonEmpty?: boolean; unique?: boolean } = {}): Check<T[]> {
  return (v, ctx) => {
    if (!Array.isArray(v)) return ctx.error(`expected a list, got ${describeValue(v)}`);
    if (opts.nonEmpty && v.length === 0) return ctx.error('must not be an empty list');
    const out: T[] = [];
    const seen = new Set<string>();
    v.forEach((el, i) => {
      const r = item(el, ctx.at(i));
      if (r === undefined) return;
      out.push(r);
      if (opts.unique) {
        const key = JSON.stringify(r);
        if (seen.has(key)) ctx.at(i).error(`${JSON.stringify(r)} is listed more than once`);
        seen.add(key);
      }
    });
    return out;
  };
}

/** A map from string keys to values; `key` reports bad keys (the path names the key). */
export function stringMap<T>(value: Check<T>, key?: (k: string) => string | undefined): Check<Record<string, T>> {
  return (v, ctx) => {
    if (!isPlainObject(v)) return ctx.error(`expected a map, got ${describeValue(v)}`);
    const out: Record<string, T> = {};
    for (const [k, el] of Object.entries(v)) {
      const keyProblem = key?.(k);
      if (keyProblem) {
        ctx.at(k).error(keyProblem);
        continue;
      }
      const r = value(el, ctx.at(k));
      if (r !== undefined) setOwn(out, k, r);
    }
    return out;
  };
}

export interface Field {
  check: Check<unknown>;
  required?: boolean;
}

export type Fields = Record<string, Field | Check<unknown>>;

export function required(check: Check<unknown>): Field {
  return { check, required: true };
}

/**
 * A strict object: unknown fields are errors, required fields must be present. A field set
 * to `null` counts as absent (YAML `key:` with no value), as Go's decoder treats it.
 */
export function obj<T>(fields: Fields): Check<T> {
  const names = Object.keys(fields);
  return (v, ctx) => {
    if (!isPlainObject(v)) return ctx.error(`expected an object, got ${describeValue(v)}`);
    const out: Record<string, unknown> = {};
    for (const [k, el] of Object.entries(v)) {
      // Own properties only: a key such as "valueOf" must not find Object.prototype's.
      const f = Object.hasOwn(fields, k) ? fields[k] : undefined;
      if (!f) {
        ctx.at(k).error(`unknown field ${JSON.stringify(k)}; allowed fields: ${names.join(', ')}`);
        continue;
      }
      if (el === null) continue;
      const check = typeof f === 'function' ? f : f.check;
      const r = check(el, ctx.at(k));
      if (r !== undefined) out[k] = r;
    }
    for (const k of names) {
      const f = fields[k];
      if (typeof f === 'object' && f.required && (v[k] === undefined || v[k] === null)) ctx.at(k).error('is required');
    }
    // The object may lack fields that were reported as bad; callers treat it as partial.
    return out as T;
  };
}

/** Accepts whatever the first check that claims the value's JS type accepts. */
export function byType<T>(checks: Partial<Record<'string' | 'number' | 'boolean' | 'object', Check<T>>>, expected: string): Check<T> {
  return (v, ctx) => {
    const t = typeof v;
    const check = (t === 'string' || t === 'number' || t === 'boolean' || t === 'object') && v !== null ? checks[t] : undefined;
    if (!check) return ctx.error(`expected ${expected}, got ${describeValue(v)}`);
    return check(v, ctx);
  };
}

/** Runs `extra` (cross-field rules) on what `check` accepted. */
export function refine<T>(check: Check<T>, extra: (value: T, ctx: Ctx) => void): Check<T> {
  return (v, ctx) => {
    const r = check(v, ctx);
    if (r !== undefined) extra(r, ctx);
    return r;
  };
}
