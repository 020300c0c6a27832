import type { RawBinding, RawBtfMember, RawBtfStruct } from './binding.js';
import { loadBinding } from './loader.js';
import { checkPath, checkString } from './validate.js';

export type BtfMember = RawBtfMember;
export type BtfStruct = RawBtfStruct;

/**
 * The layout of struct `name` from the BTF of the object file at `path` (no load, no root
 * needed). For a loaded object use BpfObject.btfStruct.
 */
export function readBtfStruct(path: string, name: string, binding: Pick<RawBinding, 'btfStruct'> = loadBinding()): BtfStruct {
  checkPath('btf__parse_elf', 'object path', path);
  checkString('btf__find_by_name_kind', 'struct name', name);
  return binding.btfStruct(path, name);
}
