import type { SelectorNode } from './ast.js';
import { canonical } from './canonical.js';
import { compareStrings } from './parser.js';

/** The shape of a Kubernetes metav1.LabelSelector (kept structural: no import from resources/). */
export interface K8sLabelSelectorLike {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: ReadonlyArray<{ key: string; operator: string; values?: readonly string[] }>;
}

/**
 * Translates a Kubernetes label selector into the Calico selector AST with the same meaning,
 * as Calico's policy converter does: matchLabels become `==`, In/NotIn become `in`/`not in`,
 * Exists/DoesNotExist become `has()`/`!has()`, and the empty selector selects everything.
 * Terms are sorted so equal selectors give equal text.
 */
export function fromK8sLabelSelector(sel: K8sLabelSelectorLike): SelectorNode {
  const terms: SelectorNode[] = [];
  for (const key of Object.keys(sel.matchLabels ?? {}).sort(compareStrings)) {
    terms.push({ type: 'eq', label: key, value: (sel.matchLabels as Record<string, string>)[key] as string });
  }
  for (const e of sel.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort(compareStrings);
    switch (e.operator) {
      case 'In':
        terms.push({ type: 'in', label: e.key, values });
        break;
      case 'NotIn':
        terms.push({ type: 'notIn', label: e.key, values });
        break;
      case 'Exists':
        terms.push({ type: 'has', label: e.key });
        break;
      case 'DoesNotExist':
        terms.push({ type: 'not', operand: { type: 'has', label: e.key } });
        break;
      default:
        throw new RangeError(`unknown label selector operator ${JSON.stringify(e.operator)}; expected In, NotIn, Exists or DoesNotExist`);
    }
  }
  if (terms.length === 0) return { type: 'all' };
  return terms.length === 1 ? (terms[0] as SelectorNode) : { type: 'and', operands: terms };
}

/** `fromK8sLabelSelector` as canonical selector text. */
export function k8sLabelSelectorText(sel: K8sLabelSelectorLike): string {
  return canonical(fromK8sLabelSelector(sel));
}
