/**
 * A WorkloadWiring for unit tests: keeps interfaces in a map and mirrors them as links of
 * a MemoryRouteKernel (so a route through `caliX` can be programmed exactly when the
 * interface exists, as in Linux). `failWire(name)` makes the next wire of that interface
 * fail; `addStray(name)` plants a leftover interface as a crashed run would leave it.
 */
import type { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import type { HostInterface, WiredWorkload, WorkloadInterfaceSpec, WorkloadWiring } from '../dataplane/linux/workload-wiring.js';

export class FakeWorkloadWiring implements WorkloadWiring {
  readonly wired = new Map<string, WorkloadInterfaceSpec & { ifindex: number }>();
  readonly ops: string[] = [];
  private next = 100;
  private readonly failing = new Set<string>();

  constructor(private readonly kernel?: MemoryRouteKernel) {}

  failWire(hostIfName: string): void {
    this.failing.add(hostIfName);
  }

  addStray(name: string): void {
    this.wired.set(name, { netnsPath: '', containerIfName: 'eth0', hostIfName: name, addresses: [], ifindex: this.next++ });
    this.kernel?.addLink(name);
  }

  async wire(spec: WorkloadInterfaceSpec): Promise<WiredWorkload> {
    this.ops.push(`wire ${spec.hostIfName}`);
    if (this.failing.delete(spec.hostIfName)) throw new Error(`fake: cannot create veth ${spec.hostIfName}`);
    if (this.wired.has(spec.hostIfName)) throw new Error(`fake: ${spec.hostIfName} exists (EEXIST)`);
    const ifindex = this.next++;
    this.wired.set(spec.hostIfName, { ...spec, ifindex });
    this.kernel?.addLink(spec.hostIfName);
    const mac = `02:00:00:00:${((ifindex >> 8) & 0xff).toString(16).padStart(2, '0')}:${(ifindex & 0xff).toString(16).padStart(2, '0')}`;
    return { hostIfName: spec.hostIfName, hostIfIndex: ifindex, containerIfName: spec.containerIfName, containerIfIndex: 2, containerMac: mac, hostMac: 'ee:ee:ee:ee:ee:ee' };
  }

  async unwire(hostIfName: string): Promise<void> {
    this.ops.push(`unwire ${hostIfName}`);
    this.wired.delete(hostIfName);
    this.kernel?.removeLink(hostIfName);
  }

  async hostInterface(name: string): Promise<HostInterface | undefined> {
    const w = this.wired.get(name);
    return w ? { name: w.hostIfName, ifindex: w.ifindex } : undefined;
  }

  async listHostInterfaces(prefix: string): Promise<HostInterface[]> {
    return [...this.wired.values()].filter((w) => w.hostIfName.startsWith(prefix)).map((w) => ({ name: w.hostIfName, ifindex: w.ifindex }));
  }
}
