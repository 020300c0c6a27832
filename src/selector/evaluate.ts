import type { Labels, MatchOptions, SelectorNode } from './ast.js';

const has = (labels: Labels, key: string): boolean => Object.prototype.hasOwnProperty.call(labels, key);

/**
 * Evaluates `node` against a label map with Calico's semantics: a comparison on a label that
 * is absent is false, except the negative ones (`!=`, `not in`), which are true; `global()`
 * is true only for non-namespaced objects (`opts.global`).
 */
export function evaluate(node: SelectorNode, labels: Labels, opts: MatchOptions = {}): boolean {
  switch (node.type) {
    case 'all':
      return true;
    case 'global':
      return opts.global === true;
    case 'has':
      return has(labels, node.label);
    case 'eq':
      return has(labels, node.label) && labels[node.label] === node.value;
    case 'ne':
      return !has(labels, node.label) || labels[node.label] !== node.value;
    case 'contains':
      return has(labels, node.label) && (labels[node.label] as string).includes(node.value);
    case 'startsWith':
      return has(labels, node.label) && (labels[node.label] as string).startsWith(node.value);
    case 'endsWith':
      return has(labels, node.label) && (labels[node.label] as string).endsWith(node.value);
    case 'in':
      return has(labels, node.label) && node.values.includes(labels[node.label] as string);
    case 'notIn':
      return !has(labels, node.label) || !node.values.includes(labels[node.label] as string);
    case 'not':
      return !evaluate(node.operand, labels, opts);
    case 'and':
      return node.operands.every((o) => evaluate(o, labels, opts));
    case 'or':
      return node.operands.some((o) => evaluate(o, labels, opts));
  }
}
