/**
 * Puts the dataplane programs on tc: from_workload/to_workload on the ingress/egress of each
 * workload's host-side interface as endpoints appear, from_uplink/to_uplink on the uplink.
 * Each hook has one filter of ours at a fixed handle and priority (kernel.ts); apply
 * attaches with tc replace wherever the hook does not already run this object's program,
 * so a new agent (a new object, new program ids) swaps every program in place, atomically.
 * Filters on interfaces nobody wants any more are detached; after InSync, interfaces with
 * the workload prefix that still carry a filter of ours are swept too (a restart adopts).
 */
import type { Logger } from '../../log/logger.js';
import type { Direction } from '../../native/index.js';
import { ManagerApplyError, type ApplyFailure, type Manager } from '../driver.js';
import { workloadEndpointKey, type DataplaneMessage } from '../messages.js';
import type { BpfKernel, LoadedDataplane, ProgramName } from './kernel.js';

export interface AttachManagerOptions {
  kernel: Pick<BpfKernel, 'ifindex' | 'tcQuery' | 'tcAttach' | 'tcDetach' | 'listInterfaces'>;
  dataplane: () => LoadedDataplane;
  uplinkIfName: string;
  /** Host-side workload interfaces start with this (default `cali`); only those are swept. */
  workloadPrefix?: string;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

const MANAGER = 'bpf-attach';
const WORKLOAD_HOOKS: readonly [Direction, ProgramName][] = [
  ['ingress', 'from_workload'],
  ['egress', 'to_workload'],
];
const UPLINK_HOOKS: readonly [Direction, ProgramName][] = [
  ['ingress', 'from_uplink'],
  ['egress', 'to_uplink'],
];

export class AttachManager implements Manager {
  readonly name = MANAGER;
  /** Workload endpoint key -> host-side interface name. */
  private readonly endpoints = new Map<string, string>();
  /** Interfaces we attached to in this process -> their ifindex then. */
  private readonly attached = new Map<string, number>();
  private inSync = false;
  private dirty = true;
  private readonly prefix: string;

  constructor(private readonly opts: AttachManagerOptions) {
    this.prefix = opts.workloadPrefix ?? 'cali';
  }

  onUpdate(msg: DataplaneMessage): void {
    if (msg.type === 'WorkloadEndpointUpdate') this.endpoints.set(workloadEndpointKey(msg.id), msg.ifaceName);
    else if (msg.type === 'WorkloadEndpointRemove') this.endpoints.delete(workloadEndpointKey(msg.id));
    else if (msg.type === 'InSync') this.inSync = true;
    else return;
    this.dirty = true;
  }

  /** The next apply checks every hook again (repairs filters someone else removed or replaced). */
  requestResync(): void {
    this.dirty = true;
  }

  /** Interface name -> the hooks it should carry. */
  private wanted(): Map<string, readonly [Direction, ProgramName][]> {
    const out = new Map<string, readonly [Direction, ProgramName][]>();
    for (const name of this.endpoints.values()) out.set(name, WORKLOAD_HOOKS);
    out.set(this.opts.uplinkIfName, UPLINK_HOOKS);
    return out;
  }

  async apply(): Promise<void> {
    if (!this.dirty) return;
    const { kernel } = this.opts;
    const dp = this.opts.dataplane();
    const failures: ApplyFailure[] = [];
    const wanted = this.wanted();

    for (const [name, hooks] of wanted) {
      try {
        const ifindex = kernel.ifindex(name);
        if (ifindex === null) {
          failures.push({ manager: MANAGER, item: `interface ${name}`, code: 'IFACE_MISSING', message: `interface ${name} does not exist (yet); its programs are attached when it appears` });
          continue;
        }
        for (const [direction, progName] of hooks) {
          const prog = dp.program(progName);
          if (kernel.tcQuery(ifindex, direction) === prog.id) continue;
          kernel.tcAttach(ifindex, direction, prog);
          this.opts.logger?.info({ ifindex, iface: name, direction, program: progName }, 'bpf program attached');
        }
        this.attached.set(name, ifindex);
      } catch (err) {
        failures.push({ manager: MANAGER, item: `interface ${name}`, code: 'TC_ATTACH_FAILED', message: `attaching to ${name}: ${(err as Error).message}` });
      }
    }

    // Interfaces that were ours and are no longer wanted: detach if they still exist.
    for (const [name, ifindex] of [...this.attached]) {
      if (wanted.has(name)) continue;
      try {
        if (kernel.ifindex(name) === ifindex) this.detachAll(ifindex);
        this.attached.delete(name);
      } catch (err) {
        failures.push({ manager: MANAGER, item: `interface ${name}`, code: 'TC_DETACH_FAILED', message: `detaching from ${name}: ${(err as Error).message}` });
      }
    }

    // After a restart: workload interfaces nobody mentioned that still run a program of ours.
    if (this.inSync && kernel.listInterfaces) {
      for (const name of kernel.listInterfaces()) {
        if (!name.startsWith(this.prefix) || wanted.has(name)) continue;
        try {
          const ifindex = kernel.ifindex(name);
          if (ifindex === null) continue;
          if (kernel.tcQuery(ifindex, 'ingress') !== null || kernel.tcQuery(ifindex, 'egress') !== null) {
            this.detachAll(ifindex);
            this.opts.logger?.info({ ifindex, iface: name }, 'bpf programs detached from an interface no endpoint uses');
          }
        } catch (err) {
          failures.push({ manager: MANAGER, item: `interface ${name}`, code: 'TC_DETACH_FAILED', message: `sweeping ${name}: ${(err as Error).message}` });
        }
      }
    }
    this.dirty = failures.length > 0;
    if (failures.length > 0) throw new ManagerApplyError(MANAGER, failures);
  }

  private detachAll(ifindex: number): void {
    for (const [direction] of WORKLOAD_HOOKS) this.opts.kernel.tcDetach(ifindex, direction);
  }
}
