/**
 * Which dataplane the agent runs. The BPF dataplane's driver is not part of this build
 * yet, so `auto` settles on legacy and says why, and an explicit `bpf` is refused with a
 * message that says what to do instead. When the BPF driver lands, `auto` will probe the
 * kernel here (syscall, bpffs, BTF, tc attach) and prefer bpf; the reasons are stable
 * strings because they are exported as a metric label.
 */
import type { DataplaneChoice } from './config.js';
import { AgentError } from './errors.js';

export type DataplaneMode = 'legacy' | 'bpf';

/** Stable metric label values. */
export type ModeReason = 'requested' | 'bpf-not-built';

export interface DataplaneDecision {
  mode: DataplaneMode;
  reason: ModeReason;
  /** One line for the log. */
  explanation: string;
}

/** Whether this build has a BPF dataplane driver (the composition root can wire one). */
export const BPF_DRIVER_BUILT = false;

export function chooseDataplane(choice: DataplaneChoice, bpfBuilt: boolean = BPF_DRIVER_BUILT): DataplaneDecision {
  if (choice === 'legacy') return { mode: 'legacy', reason: 'requested', explanation: 'legacy dataplane (kernel routes) as requested by --dataplane legacy' };
  if (!bpfBuilt) {
    if (choice === 'bpf') {
      throw new AgentError(
        'DATAPLANE_UNAVAILABLE',
        'the bpf dataplane is not available in this build of tabby; run with --dataplane legacy (or auto, which picks legacy)',
      );
    }
    return {
      mode: 'legacy',
      reason: 'bpf-not-built',
      explanation: 'dataplane auto: using legacy (kernel routes) because this build has no bpf dataplane driver yet',
    };
  }
  return { mode: 'bpf', reason: 'requested', explanation: `bpf dataplane (--dataplane ${choice})` };
}
