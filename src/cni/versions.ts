/**
 * CNI spec versions tabby-cni speaks. Results are produced in three shapes: 0.3.x/0.4.0
 * (ips carry `version`), 1.0.0, and 1.1.0 (adds interface mtu/socketPath/pciID and
 * route mtu/advmss/priority/table/scope). STATUS and GC exist from 1.1.0, CHECK from 0.4.0.
 */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version, used when the caller did not say which one it speaks. */
export const LATEST_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compares two dotted versions numerically; -1, 0 or 1. Missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}
