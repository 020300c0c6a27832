import { describe, expect, it } from 'vitest';
import { fromK8sLabelSelector, k8sLabelSelectorText, parseSelectorAst, selectorFromAst } from './index.js';

describe('Kubernetes label selectors', () => {
  it('translates every operator', () => {
    const text = k8sLabelSelectorText({
      matchLabels: { tier: 'web', app: 'shop' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'dev', 'prod'] },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'owner', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(text).toBe(
      '(app == "shop" && tier == "web" && env in {"dev", "prod"} && zone not in {"a"} && has(owner) && !has(legacy))',
    );
    expect(parseSelectorAst(text)).toEqual(fromK8sLabelSelector({
      matchLabels: { app: 'shop', tier: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['dev', 'prod'] },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'owner', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    }));
  });

  it('selects everything when empty', () => {
    expect(k8sLabelSelectorText({})).toBe('all()');
    expect(selectorFromAst(fromK8sLabelSelector({})).matches({})).toBe(true);
  });

  it('matches with Kubernetes semantics', () => {
    const sel = selectorFromAst(fromK8sLabelSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }));
    expect(sel.matches({})).toBe(true);
    expect(sel.matches({ env: 'dev' })).toBe(true);
    expect(sel.matches({ env: 'prod' })).toBe(false);
  });

  it('refuses unknown operators', () => {
    expect(() => fromK8sLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Gt' }] })).toThrow(/unknown label selector operator/);
  });
});
