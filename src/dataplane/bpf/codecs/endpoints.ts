/**
 * Codecs of bpf/lib/endpoints.h: the `endpoints` hash (host-side ifindex -> container MAC,
 * flags, identity). Checked against BTF by test/bpf/dataplane-layout.test.ts.
 */
import { defineStruct, type StructValue } from './struct.js';

export const ENDPOINTS_MAP = 'endpoints';

/** enum endpoint_flags. */
export const ENDPOINT_FLAG = { macKnown: 1 << 0 } as const;

const keyFields = [{ name: 'ifindex', type: 'u32', offset: 0 }] as const;

/** The map's key is a bare __u32 ifindex. */
export const endpointKey = defineStruct({ name: 'endpoint_key', size: 4, fields: keyFields });

const valueFields = [
  { name: 'mac', type: 'mac', offset: 0 },
  { name: 'flags', type: 'u16', offset: 6 },
  { name: 'identity', type: 'u32', offset: 8 },
] as const;

/** struct endpoint_value. */
export const endpointValue = defineStruct({ name: 'endpoint_value', size: 12, fields: valueFields });
export type EndpointValue = StructValue<typeof valueFields>;
