import { CniCode, CniError } from './errors.js';
import { isSupportedVersion, versionAtLeast, type CniVersion } from './versions.js';

/**
 * The result in its 1.x shape, which is what the agent answers and what tabby keeps
 * internally. Fields marked 1.1 are dropped when printing for an older version.
 */
export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1 */
  mtu?: number;
  /** Netns path for container-side interfaces; absent for host-side ones. */
  sandbox?: string;
  /** 1.1 */
  socketPath?: string;
  /** 1.1 */
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR, e.g. "10.65.0.7/32". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1 */
  mtu?: number;
  /** 1.1 */
  advmss?: number;
  /** 1.1 */
  priority?: number;
  /** 1.1 */
  table?: number;
  /** 1.1 */
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** A result as printed for some version: the 1.x shape, or 0.3/0.4 with `version` on each ip. */
export type PrintedResult = { cniVersion: string } & Record<string, unknown>;

const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** "4" or "6" for a CIDR address; throws for something that is neither. */
export function ipFamily(cidr: string): '4' | '6' {
  const m = CIDR_V4.exec(cidr);
  if (m) {
    const octets = m.slice(1, 5).map(Number);
    if (octets.every((o) => o <= 255) && Number(m[5]) <= 32) return '4';
  } else {
    const slash = cidr.lastIndexOf('/');
    const addr = cidr.slice(0, slash);
    const len = Number(cidr.slice(slash + 1));
    if (slash > 0 && addr.includes(':') && /^[0-9A-Fa-f:.]+$/.test(addr) && Number.isInteger(len) && len >= 0 && len <= 128) {
      return '6';
    }
  }
  throw new Error(`"${cidr}" is not an address in CIDR form (a.b.c.d/len or x:y::z/len)`);
}

function bad(where: string, what: string): CniError {
  return new CniError(CniCode.DecodingFailure, `${where} is not a valid CNI result`, what);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: Record<string, unknown>, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(where, `"${k}" must be a string`);
  return v;
}

function optInt(o: Record<string, unknown>, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(where, `"${k}" must be an integer`);
  return v;
}

function optStrings(o: Record<string, unknown>, k: string, where: string): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw bad(where, `"${k}" must be a list of strings`);
  return v as string[];
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/**
 * Reads a result printed in any supported version (0.3.x/0.4.0 ips have `version`, which
 * is checked against the address and dropped) into the 1.x shape. `where` names the
 * source in error messages, e.g. "prevResult" or "the agent's answer". Throws CniError 6.
 */
export function parseResult(raw: unknown, where = 'result'): CniResult {
  if (!isObj(raw)) throw bad(where, 'expected a JSON object');
  const out: CniResult = {};
  if (raw.interfaces !== undefined) {
    if (!Array.isArray(raw.interfaces)) throw bad(where, '"interfaces" must be a list');
    out.interfaces = raw.interfaces.map((i, n) => {
      const w = `${where}.interfaces[${n}]`;
      if (!isObj(i)) throw bad(w, 'expected an object');
      const name = optString(i, 'name', w);
      if (!name) throw bad(w, '"name" is required');
      const iface: CniInterface = { name };
      assign(iface, 'mac', optString(i, 'mac', w));
      assign(iface, 'mtu', optInt(i, 'mtu', w));
      assign(iface, 'sandbox', optString(i, 'sandbox', w));
      assign(iface, 'socketPath', optString(i, 'socketPath', w));
      assign(iface, 'pciID', optString(i, 'pciID', w));
      return iface;
    });
  }
  if (raw.ips !== undefined) {
    if (!Array.isArray(raw.ips)) throw bad(where, '"ips" must be a list');
    out.ips = raw.ips.map((ip, n) => {
      const w = `${where}.ips[${n}]`;
      if (!isObj(ip)) throw bad(w, 'expected an object');
      const address = optString(ip, 'address', w);
      if (!address) throw bad(w, '"address" is required');
      let family: '4' | '6';
      try {
        family = ipFamily(address);
      } catch (e) {
        throw bad(w, (e as Error).message);
      }
      const version = optString(ip, 'version', w);
      if (version !== undefined && version !== family) {
        throw bad(w, `"version" is "${version}" but ${address} is IPv${family}`);
      }
      const cfg: CniIpConfig = { address };
      assign(cfg, 'gateway', optString(ip, 'gateway', w));
      const idx = optInt(ip, 'interface', w);
      if (idx !== undefined) {
        if (idx < 0 || idx >= (out.interfaces?.length ?? 0)) {
          throw bad(w, `"interface" ${idx} does not index "interfaces" (${out.interfaces?.length ?? 0} entries)`);
        }
        cfg.interface = idx;
      }
      return cfg;
    });
  }
  if (raw.routes !== undefined) {
    if (!Array.isArray(raw.routes)) throw bad(where, '"routes" must be a list');
    out.routes = raw.routes.map((r, n) => {
      const w = `${where}.routes[${n}]`;
      if (!isObj(r)) throw bad(w, 'expected an object');
      const dst = optString(r, 'dst', w);
      if (!dst) throw bad(w, '"dst" is required');
      const route: CniRoute = { dst };
      assign(route, 'gw', optString(r, 'gw', w));
      for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) assign(route, k, optInt(r, k, w));
      return route;
    });
  }
  if (raw.dns !== undefined) {
    if (!isObj(raw.dns)) throw bad(where, '"dns" must be an object');
    const w = `${where}.dns`;
    const dns: CniDns = {};
    assign(dns, 'nameservers', optStrings(raw.dns, 'nameservers', w));
    assign(dns, 'domain', optString(raw.dns, 'domain', w));
    assign(dns, 'search', optStrings(raw.dns, 'search', w));
    assign(dns, 'options', optStrings(raw.dns, 'options', w));
    out.dns = dns;
  }
  return out;
}

/**
 * Produces the result as printed for `version`: 1.1.0 keeps everything; 1.0.0 drops the
 * 1.1-only fields; 0.3.x/0.4.0 also drop them and add `version: "4"|"6"` to each ip.
 * Empty optional lists are left out (as the reference plugins do), `dns` always present.
 */
export function convertResult(result: CniResult, version: CniVersion): PrintedResult {
  if (!isSupportedVersion(version)) {
    throw new CniError(CniCode.IncompatibleVersion, `cannot print a result for cniVersion "${String(version)}"`);
  }
  const v11 = versionAtLeast(version, '1.1.0');
  const legacy = !versionAtLeast(version, '1.0.0');
  const out: PrintedResult = { cniVersion: version };
  if (result.interfaces?.length) {
    out.interfaces = result.interfaces.map((i) => {
      const o: CniInterface = { name: i.name };
      assign(o, 'mac', i.mac);
      if (v11) assign(o, 'mtu', i.mtu);
      assign(o, 'sandbox', i.sandbox);
      if (v11) {
        assign(o, 'socketPath', i.socketPath);
        assign(o, 'pciID', i.pciID);
      }
      return o;
    });
  }
  if (result.ips?.length) {
    out.ips = result.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      if (legacy) o.version = ipFamily(ip.address);
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (result.routes?.length) {
    out.routes = result.routes.map((r) => {
      const o: CniRoute = { dst: r.dst };
      assign(o, 'gw', r.gw);
      if (v11) for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) assign(o, k, r[k]);
      return o;
    });
  }
  out.dns = { ...(result.dns ?? {}) };
  return out;
}
