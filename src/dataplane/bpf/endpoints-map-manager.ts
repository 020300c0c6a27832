/**
 * Keeps the `endpoints` map (host-side ifindex -> container MAC, flags) equal to the
 * WorkloadEndpointUpdates received. Same shape as the routes manager: bookkeeping in
 * onUpdate, mark and sweep in apply (deletions only after InSync).
 */
import type { Logger } from '../../log/logger.js';
import { ManagerApplyError, type ApplyFailure, type Manager } from '../driver.js';
import { workloadEndpointKey, type DataplaneMessage, type WorkloadEndpointUpdate } from '../messages.js';
import { ENDPOINT_FLAG, endpointKey, endpointValue } from './codecs/endpoints.js';
import type { DataplaneMap } from './kernel.js';
import { reconcileMap } from './map-reconciler.js';

export interface EndpointsMapManagerOptions {
  map: () => DataplaneMap;
  ifindex: (name: string) => number | null;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

const MANAGER = 'bpf-endpoints';
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export class EndpointsMapManager implements Manager {
  readonly name = MANAGER;
  private readonly desired = new Map<string, WorkloadEndpointUpdate>();
  private inSync = false;
  private dirty = true;

  constructor(private readonly opts: EndpointsMapManagerOptions) {}

  onUpdate(msg: DataplaneMessage): void {
    if (msg.type === 'WorkloadEndpointUpdate') this.desired.set(workloadEndpointKey(msg.id), msg);
    else if (msg.type === 'WorkloadEndpointRemove') this.desired.delete(workloadEndpointKey(msg.id));
    else if (msg.type === 'InSync') this.inSync = true;
    else return;
    this.dirty = true;
  }

  requestResync(): void {
    this.dirty = true;
  }

  async apply(): Promise<void> {
    if (!this.dirty) return;
    const failures: ApplyFailure[] = [];
    const want = new Map<string, Buffer>();
    for (const [key, w] of this.desired) {
      const ifindex = this.opts.ifindex(w.ifaceName);
      if (ifindex === null) {
        failures.push({ manager: MANAGER, item: `endpoint ${key}`, code: 'IFACE_MISSING', message: `endpoint ${key}: interface ${w.ifaceName} does not exist (yet); retrying` });
        continue;
      }
      const macKnown = w.mac !== undefined && MAC_RE.test(w.mac);
      want.set(
        endpointKey.encode({ ifindex }).toString('hex'),
        endpointValue.encode({ mac: macKnown ? (w.mac as string) : '00:00:00:00:00:00', flags: macKnown ? ENDPOINT_FLAG.macKnown : 0, identity: 0 }),
      );
    }
    // While an interface is missing its old entry (if any) must survive the sweep.
    const sweep = this.inSync && failures.length === 0;
    const res = reconcileMap(this.opts.map(), want, { sweep });
    for (const f of res.failed) {
      failures.push({ manager: MANAGER, item: `endpoint ifindex ${endpointKey.decode(Buffer.from(f.key, 'hex')).ifindex}`, code: 'ENDPOINT_MAP_WRITE_FAILED', message: `endpoints map: ${(f.error as Error).message}` });
    }
    if (res.written + res.deleted > 0) this.opts.logger?.info({ written: res.written, deleted: res.deleted }, 'bpf endpoints map updated');
    this.dirty = failures.length > 0;
    if (failures.length > 0) throw new ManagerApplyError(MANAGER, failures);
  }
}
