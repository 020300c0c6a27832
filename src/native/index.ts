/**
 * The typed wrapper over the native libbpf addon (native/, build/Release/tabby_native.node).
 * See docs/design/native.md for the shape of the binding and its error model.
 */
export { NativeError, errnoName } from './errors.js';
export { BpfObject, BpfProgram, type OpenOptions, type ProgramInfo, type ObjectMapInfo, type TestRunOptions, type TestRunResult } from './object.js';
export { BpfMap, type MapInfo, type MapValue, type MapEntry } from './map.js';
export { Tc, type TcTarget, type TcFilterRef, type TcAttachment, type TcFilter, type TcListedFilter, type AttachOptions } from './tc.js';
export { Interfaces, ifindex, type NetnsOptions } from './interfaces.js';
export { readBtfStruct, type BtfStruct, type BtfMember } from './btf.js';
export { unpin, possibleCpus } from './pins.js';
export { loadBinding } from './loader.js';
export { packageRoot, addonPath, bpfObjectPath } from './paths.js';
export type { Direction, UpdateFlag, GlobalValue } from './validate.js';
