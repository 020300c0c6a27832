/**
 * What a dataplane is, seen from the agent: something messages are sent to and that can be
 * asked to make the kernel match them (felix's driver_defs.go reduced to its two verbs).
 *
 * A driver is made of managers, one per concern (routes, endpoints, later policy). A
 * manager's `onUpdate` is bookkeeping only: it records desired state and never does I/O,
 * so a burst of messages costs no syscalls and cannot fail half-way. `apply` then
 * reconciles the recorded desired state with what the kernel actually has. A manager
 * never throws away a failure: the item stays pending and is retried by the next apply.
 */
import { TabbyError } from '../errors.js';
import type { DataplaneMessage } from './messages.js';

/** One thing a manager could not program this round; retried on the next apply. */
export interface ApplyFailure {
  /** Which manager (e.g. `routes`). */
  manager: string;
  /** What it was working on (e.g. `route 10.65.0.0/26`, or a whole concern such as `ipip`). */
  item: string;
  /** Stable code (`ROUTE_REPLACE_FAILED`, `IPIP_MODULE_MISSING`, ...). */
  code: string;
  /** One line a person can act on. */
  message: string;
}

export interface ApplyReport {
  /** The driver has seen `InSync` (so it also deleted what it no longer wants). */
  inSync: boolean;
  /** Empty when the kernel matches the desired state. */
  failures: ApplyFailure[];
}

export interface Dataplane {
  /** Records messages; no I/O. */
  send(msgs: DataplaneMessage[]): void;
  /** Reconciles the kernel with everything sent so far. Never rejects for per-item failures. */
  apply(): Promise<ApplyReport>;
}

export interface Manager {
  readonly name: string;
  /** Pure bookkeeping; messages a manager does not care about are ignored. */
  onUpdate(msg: DataplaneMessage): void;
  /**
   * Reconciles with the kernel. Does all it can, then rejects with `ManagerApplyError`
   * listing what failed (those items are retried by the next call); other rejections mean
   * the manager could not even start (e.g. listing the kernel's state failed).
   */
  apply(): Promise<void>;
  /** Makes the next apply re-read the kernel even if nothing changed (periodic repair of outside tampering). */
  requestResync?(): void;
}

/** A manager's apply finished with some items not programmed. */
export class ManagerApplyError extends TabbyError {
  constructor(
    readonly manager: string,
    readonly failures: ApplyFailure[],
  ) {
    super(
      'DATAPLANE_APPLY_INCOMPLETE',
      `${manager}: ${failures.length} item(s) not programmed, will retry: ${failures
        .slice(0, 3)
        .map((f) => f.message)
        .join('; ')}${failures.length > 3 ? '; ...' : ''}`,
    );
  }
}

/** Runs every manager's apply and folds their outcomes into one report. */
export async function applyManagers(managers: readonly Manager[], inSync: boolean): Promise<ApplyReport> {
  const failures: ApplyFailure[] = [];
  for (const m of managers) {
    try {
      await m.apply();
    } catch (err) {
      if (err instanceof ManagerApplyError) failures.push(...err.failures);
      else failures.push({ manager: m.name, item: m.name, code: (err as { code?: string }).code ?? 'DATAPLANE_APPLY_FAILED', message: (err as Error).message ?? String(err) });
    }
  }
  return { inSync, failures };
}
