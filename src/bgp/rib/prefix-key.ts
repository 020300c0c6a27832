import { AFI_IPV4, AFI_IPV6, type Prefix } from '../wire/index.js';

/** Map key of a prefix, e.g. "10.0.0.0/26". */
export const prefixKey = (p: Prefix): string => `${p.prefix}/${p.length}`;

/** The AFI a prefix belongs to (IPv6 text always contains ':'). */
export const prefixAfi = (p: Prefix): number => (p.prefix.includes(':') ? AFI_IPV6 : AFI_IPV4);
