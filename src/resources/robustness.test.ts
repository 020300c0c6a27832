import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocuments } from './documents.js';
import { ResourceValidationError } from './errors.js';
import { validateResource } from './validate.js';

/** Valid documents of every kind, deep enough to reach the cross-field rules. */
const SAMPLES: unknown[] = [
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p', labels: { a: 'b' } }, spec: { cidr: '10.0.0.0/16', blockSize: 26, ipipMode: 'Always', nodeSelector: 'all()', allowedUses: ['Workload'] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, communities: [{ name: 'c', value: '1:2' }], prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c', '3:4'] }] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'p' }, spec: { peerIP: '10.0.0.1:179', asNumber: 1, reachableBy: '10.0.0.254', password: { secretKeyRef: { name: 's', key: 'k' } } } },
  { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { ipv4Address: '10.0.0.1/24' }, addresses: [{ address: '10.0.0.1' }] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', source: { services: { name: 's', namespace: 'n' } }, destination: { nets: ['10.0.0.0/8'], ports: [80] }, http: { paths: [{ exact: '/' }] } }, { action: 'Deny', protocol: 'ICMP', ipVersion: 4, icmp: { type: 1, code: 2 } }] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: 'w' }, spec: { node: 'n', endpoint: 'e', interfaceName: 'c', ipNetworks: ['10.0.0.1/32'], ipNATs: [{ internalIP: '10.0.0.1', externalIP: '1.1.1.1' }], ports: [{ name: 'p', protocol: 'TCP', port: 1 }] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'h' }, spec: { node: 'n', interfaceName: 'eth0', ports: [{ name: 'p', protocol: 'TCP', port: 1 }] } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'k' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 1, endPort: 2 }] }] } },
];

/** Replaces the value found by walking `steps` (each picks a key or index) with `value`. */
function mutate(doc: unknown, steps: number[], value: unknown): unknown {
  const root = structuredClone(doc) as Record<string, unknown>;
  let parent: Record<string, unknown> | unknown[] = root;
  let key: string | number | undefined;
  for (const step of steps) {
    const here: unknown = key === undefined ? parent : (parent as Record<string | number, unknown>)[key];
    if (typeof here !== 'object' || here === null) break;
    const keys: (string | number)[] = Array.isArray(here) ? here.map((_, i) => i) : Object.keys(here);
    if (keys.length === 0) break;
    if (key !== undefined) parent = here as Record<string, unknown>;
    key = keys[step % keys.length];
  }
  if (key === undefined) return value;
  (parent as Record<string | number, unknown>)[key] = value;
  return root;
}

describe('robustness', () => {
  it('validateResource only ever throws ResourceValidationError, on mutated documents', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLES), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), (doc, steps, value) => {
        try {
          validateResource(mutate(doc, steps, value));
        } catch (e) {
          expect(e).toBeInstanceOf(ResourceValidationError);
          expect((e as ResourceValidationError).issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('the samples themselves are valid', () => {
    for (const s of SAMPLES) expect(() => validateResource(s)).not.toThrow();
  });

  it('parseDocuments never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const out = parseDocuments(text, 'fuzz.yaml');
        expect(Array.isArray(out.issues)).toBe(true);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});
