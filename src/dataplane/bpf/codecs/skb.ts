/**
 * The fields of struct __sk_buff (linux/bpf.h) that BPF_PROG_TEST_RUN lets a caller set for
 * a tc program, as a partial codec: the rest of the 192 bytes stay zero, as the kernel
 * requires. Checked against the object's BTF like every other codec.
 */
import { defineStruct, type StructValue } from './struct.js';

const fields = [
  { name: 'len', type: 'u32', offset: 0 },
  { name: 'mark', type: 'u32', offset: 8 },
  { name: 'priority', type: 'u32', offset: 32 },
  { name: 'ingress_ifindex', type: 'u32', offset: 36 },
  { name: 'ifindex', type: 'u32', offset: 40 },
] as const;

export const skBuff = defineStruct({ name: '__sk_buff', size: 192, fields });
export type SkBuff = StructValue<typeof fields>;
