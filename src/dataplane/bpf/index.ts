/**
 * The BPF dataplane, as the agent uses it (docs/design/bpf-dataplane.md, "Wiring"):
 *
 *   const probe = probeBpfSupport({ pinDir });            // --dataplane auto|bpf
 *   const dp = new BpfDataplane({ pinDir, uplinkIfName, nodeIPv4, kernel: nativeBpfKernel(), logger });
 *   dp.send(msgs); await dp.apply();                      // like LegacyDataplane
 *   setInterval(() => dp.collectConntrack(), 10_000);     // and readCounters()/mapFill() for metrics
 */
export { BpfDataplane, BpfDataplaneError, type BpfDataplaneOptions, type MapFill } from './bpf-dataplane.js';
export { nativeBpfKernel, DATAPLANE_OBJECT, type NativeKernelOptions } from './native-kernel.js';
export { probeBpfSupport, ensureBpffs, type ProbeResult, type ProbeReason, type ProbeOptions } from './probe.js';
export { pinDirFor, PIN_ROOT } from './pin-dir.js';
export type { BpfKernel, DataplaneMap, LoadedDataplane, MapName, ProgramName } from './kernel.js';
export type { VerdictTotal } from './verdict-counters.js';
export type { ConntrackGcResult, MonotonicClock } from './conntrack-gc.js';
export { DEFAULT_CT_TIMEOUTS, type CtTimeouts } from './codecs/conntrack.js';
