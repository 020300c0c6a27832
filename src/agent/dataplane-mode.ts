/**
 * Which dataplane the agent runs, decided once at start:
 *
 *   --dataplane legacy   legacy, no probe
 *   --dataplane bpf      bpf if the probe passes, else a clear error (the agent exits 1)
 *   --dataplane auto     bpf if the probe passes, else legacy, with the probe's reason
 *
 * The probe (src/dataplane/bpf/probe.ts) is real: it checks BTF, mounts bpffs if needed,
 * loads the very dataplane object through the verifier and round-trips a tc attach. It is
 * injected so unit tests decide its answer. Reasons are stable strings: they are the
 * `reason` label of `tabby_dataplane_mode`.
 */
import type { ProbeReason, ProbeResult } from '../dataplane/bpf/probe.js';
import type { DataplaneChoice } from './config.js';
import { AgentError } from './errors.js';

export type DataplaneMode = 'legacy' | 'bpf';

/** Stable metric label values: `requested`, `bpf-supported` (auto, probe passed), or the probe's failure reason. */
export type ModeReason = 'requested' | 'bpf-supported' | ProbeReason;

export interface DataplaneDecision {
  mode: DataplaneMode;
  reason: ModeReason;
  /** One line for the log. */
  explanation: string;
}

/** Runs the bpf probe (only called when bpf is a candidate). */
export type BpfProbe = () => ProbeResult;

export function chooseDataplane(choice: DataplaneChoice, probe: BpfProbe): DataplaneDecision {
  if (choice === 'legacy') return { mode: 'legacy', reason: 'requested', explanation: 'dataplane legacy (kernel routes) as requested by --dataplane legacy' };
  const result = probe();
  if (choice === 'bpf') {
    if (!result.ok) {
      throw new AgentError(
        'DATAPLANE_UNAVAILABLE',
        `--dataplane bpf: this node cannot run the bpf dataplane (${result.reason}): ${result.message}; fix that, or run with --dataplane legacy (or auto, which falls back to legacy)`,
      );
    }
    return { mode: 'bpf', reason: 'requested', explanation: 'dataplane bpf as requested by --dataplane bpf (probe passed: BTF, bpffs, verifier, tc)' };
  }
  if (result.ok) return { mode: 'bpf', reason: 'bpf-supported', explanation: 'dataplane auto: using bpf (probe passed: BTF, bpffs, verifier, tc)' };
  return {
    mode: 'legacy',
    reason: result.reason,
    explanation: `dataplane auto: using legacy (kernel routes) because the bpf probe failed (${result.reason}): ${result.message}`,
  };
}
