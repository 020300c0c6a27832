/**
 * The Calico selector language. Parse once with `parseSelector`, then call `matches` as
 * often as needed; `toString()` gives the canonical text (see canonical.ts).
 */
import type { Labels, MatchOptions, SelectorNode } from './ast.js';
import { canonical } from './canonical.js';
import { evaluate } from './evaluate.js';
import { parseSelectorAst } from './parser.js';

export type { Labels, MatchOptions, SelectorNode, SetOp, ValueOp } from './ast.js';
export { SelectorSyntaxError } from './errors.js';
export { canonical } from './canonical.js';
export { evaluate } from './evaluate.js';
export { parseSelectorAst } from './parser.js';

export interface Selector {
  matches(labels: Readonly<Record<string, string>>, opts?: { global?: boolean }): boolean;
  /** The canonical text. */
  toString(): string;
  readonly ast: SelectorNode;
}

class ParsedSelector implements Selector {
  private text: string | undefined;

  constructor(readonly ast: SelectorNode) {}

  matches(labels: Labels, opts?: MatchOptions): boolean {
    return evaluate(this.ast, labels, opts);
  }

  toString(): string {
    this.text ??= canonical(this.ast);
    return this.text;
  }
}

/** Parses `text`; throws `SelectorSyntaxError` (with `position`) when it is not valid. */
export function parseSelector(text: string): Selector {
  return new ParsedSelector(parseSelectorAst(text));
}
export { fromK8sLabelSelector, k8sLabelSelectorText, type K8sLabelSelectorLike } from './from-k8s.js';

/** Wraps an already-built AST (e.g. from `fromK8sLabelSelector`) as a Selector. */
export function selectorFromAst(ast: SelectorNode): Selector {
  return new ParsedSelector(ast);
}
