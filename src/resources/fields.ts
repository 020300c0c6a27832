/**
 * Checks for the value types Calico's API shares across kinds: names, labels, selectors,
 * addresses, ports, protocols, AS numbers and durations. Messages say what is allowed.
 */
import { parseSelector, SelectorSyntaxError } from '../selector/index.js';
import { formatCIDR, isMasked, parseCIDR, parseCIDROrIP, parseIP } from '../net/ip-address.js';
import { byType, type Check, int, str } from './schema.js';
import type { Port, Protocol } from './types.js';

// ---- names --------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters. */
export function dnsLabelProblem(s: string): string | undefined {
  if (s.length > 63) return `${JSON.stringify(s)} is ${s.length} characters long; a DNS-1123 label has at most 63`;
  if (!DNS_LABEL.test(s)) {
    return `${JSON.stringify(s)} is not a DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Kubernetes DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length > 253) return `${JSON.stringify(s)} is ${s.length} characters long; a name has at most 253`;
  if (!DNS_SUBDOMAIN.test(s)) {
    return `${JSON.stringify(s)} is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 chars. */
export function labelKeyProblem(k: string): string | undefined {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix === '' || dnsSubdomainProblem(prefix))) {
    return `label key ${JSON.stringify(k)} has an invalid prefix: it must be a DNS subdomain such as example.com`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `label key ${JSON.stringify(k)} is invalid: the name part must be 1-63 characters of letters, digits, '-', '_', '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export const labelValue: Check<string> = str({
  test: (v) =>
    v === '' || (v.length <= 63 && QUALIFIED_NAME.test(v))
      ? undefined
      : `label value ${JSON.stringify(v)} is invalid: at most 63 characters of letters, digits, '-', '_', '.', starting and ending with a letter or digit`,
});

// ---- selectors ----------------------------------------------------------------------

export function selectorProblem(s: string, opts: { allowGlobal?: boolean } = {}): string | undefined {
  try {
    const sel = parseSelector(s);
    if (!opts.allowGlobal && sel.toString().includes('global()')) {
      return 'global() may only be used in a rule\'s namespaceSelector';
    }
    return undefined;
  } catch (e) {
    if (e instanceof SelectorSyntaxError) return `invalid selector ${JSON.stringify(s)}: ${e.reason} at position ${e.position}`;
    throw e;
  }
}

export const selector: Check<string> = str({ test: (s) => selectorProblem(s) });

// ---- addresses ----------------------------------------------------------------------

export const ipAddress: Check<string> = str({
  test: (s) => (parseIP(s) ? undefined : `${JSON.stringify(s)} is not a valid IPv4 or IPv6 address`),
});

export const ipv4Address: Check<string> = str({
  test: (s) => (parseIP(s)?.version === 4 ? undefined : `${JSON.stringify(s)} is not a valid IPv4 address`),
});

/** A CIDR or a bare address (taken as /32 or /128), as Calico's `net` fields accept. */
export const cidrOrIP: Check<string> = str({
  test: (s) => (parseCIDROrIP(s) ? undefined : `${JSON.stringify(s)} is not a valid CIDR (such as 10.0.0.0/16) or IP address`),
});

/**
 * A network prefix whose host bits are zero, returned in canonical text (as Calico
 * normalises a pool's CIDR before storing it: `FD00:0::/64` becomes `fd00::/64`).
 */
export const maskedCIDR: Check<string> = (v, ctx) => {
  const s = str({
    test: (text) => {
      const c = parseCIDR(text);
      if (!c) return `${JSON.stringify(text)} is not a valid CIDR such as 10.0.0.0/16 or fd00::/64`;
      if (!isMasked(c)) return `${text} is not masked: did you mean ${formatCIDR(c, { masked: true })}?`;
      return undefined;
    },
  })(v, ctx);
  const c = s === undefined ? undefined : parseCIDR(s);
  return c ? formatCIDR(c) : undefined;
};

/** An interface address with its prefix length, "10.0.0.1/24" (a bare address is accepted too). */
export function hostCIDR(version: 4 | 6): Check<string> {
  return str({
    test: (s) => {
      const c = parseCIDROrIP(s);
      if (!c || c.version !== version) {
        return `${JSON.stringify(s)} is not an IPv${version} address with prefix length such as ${version === 4 ? '10.0.0.1/24' : 'fd00::1/64'}`;
      }
      return undefined;
    },
  });
}

const MAC = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/;
export const macAddress: Check<string> = str({
  test: (s) => (MAC.test(s) ? undefined : `${JSON.stringify(s)} is not a MAC address such as ee:ee:ee:ee:ee:ee`),
});

// ---- ports and protocols ------------------------------------------------------------

const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;
const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58, SCTP: 132, UDPLite: 136 };

/** Protocol name (any case, normalised to Calico's spelling) or number 1..255. */
export const protocol: Check<Protocol> = byType<Protocol>(
  {
    string: (v, ctx) => {
      const s = v as string;
      if (/^[0-9]+$/.test(s)) return protocol(Number(s), ctx);
      const name = PROTOCOL_NAMES.find((p) => p.toLowerCase() === s.toLowerCase());
      return name ?? ctx.error(`${JSON.stringify(s)} is not a protocol; allowed: ${PROTOCOL_NAMES.join(', ')} or a number 1-255`);
    },
    number: (v, ctx) => int({ min: 1, max: 255 })(v, ctx),
  },
  `a protocol (${PROTOCOL_NAMES.join(', ')} or a number 1-255)`,
);

/** The protocols whose packets carry ports (Calico's SupportsPorts). */
export function protocolHasPorts(p: Protocol | undefined): boolean {
  if (p === undefined) return false;
  const n = typeof p === 'number' ? p : PROTOCOL_NUMBERS[p];
  return n === 6 || n === 17 || n === 132 || n === 136;
}

export function protocolNumber(p: Protocol): number {
  return typeof p === 'number' ? p : (PROTOCOL_NUMBERS[p] as number);
}

/** IANA service name rules (what Kubernetes accepts as a named port). */
export function namedPortProblem(s: string): string | undefined {
  if (s.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) || !/[a-z]/.test(s) || s.includes('--')) {
    return `${JSON.stringify(s)} is not a port: use a number 1-65535, a range "min:max", or a port name (up to 15 lowercase letters, digits and '-', with at least one letter)`;
  }
  return undefined;
}

/** A rule port: 80, "80", "8000:9000", or a named port "http". Numbers are normalised. */
export const port: Check<Port> = byType<Port>(
  {
    number: (v, ctx) => int({ min: 1, max: 65535 })(v, ctx),
    string: (v, ctx) => {
      const s = v as string;
      const range = /^([0-9]+):([0-9]+)$/.exec(s);
      if (range) {
        const lo = Number(range[1]);
        const hi = Number(range[2]);
        if (lo < 1 || hi > 65535) return ctx.error(`port range ${s} is out of range; ports are 1-65535`);
        if (lo > hi) return ctx.error(`port range ${s} is reversed; write it as ${hi}:${lo}`);
        return lo === hi ? lo : s;
      }
      if (/^[0-9]+$/.test(s)) return int({ min: 1, max: 65535 })(Number(s), ctx);
      const problem = namedPortProblem(s);
      return problem ? ctx.error(problem) : s;
    },
  },
  'a port (a number 1-65535, a range "min:max" or a port name)',
);

// ---- BGP ----------------------------------------------------------------------------

const MAX_AS = 4294967295;

/** AS number: an integer 0..4294967295, a decimal string, or asdot "1.10" (= 1*65536+10). */
export const asNumber: Check<number> = byType<number>(
  {
    number: (v, ctx) =>
      Number.isInteger(v)
        ? int({ min: 0, max: MAX_AS })(v, ctx)
        : // YAML reads an unquoted asdot 1.10 as the float 1.1.
          ctx.error(`${String(v)} is not an AS number; write asdot notation in quotes, such as "1.10"`),
    string: (v, ctx) => {
      const s = v as string;
      const dot = /^([0-9]+)\.([0-9]+)$/.exec(s);
      if (dot) {
        const hi = Number(dot[1]);
        const lo = Number(dot[2]);
        if (hi > 65535 || lo > 65535) return ctx.error(`AS number ${s} is out of range: in asdot form both parts are 0-65535`);
        return hi * 65536 + lo;
      }
      if (/^[0-9]+$/.test(s)) return int({ min: 0, max: MAX_AS })(Number(s), ctx);
      return ctx.error(`${JSON.stringify(s)} is not an AS number; use 0-${MAX_AS} or asdot notation such as 1.10`);
    },
  },
  `an AS number (0-${MAX_AS} or asdot "1.10")`,
);

const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
/** A Go duration such as "30s", "1m30s", "500ms". */
export const duration: Check<string> = str({
  test: (s) => (DURATION.test(s) ? undefined : `${JSON.stringify(s)} is not a duration; use a number with a unit, such as 30s, 2m or 1h30m`),
});
