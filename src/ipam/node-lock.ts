/**
 * Runs tasks one at a time per key. IPAM serialises the allocations of one node inside its
 * agent (Calico's CNI plugin takes a host-wide file lock for the same reason): concurrent
 * calls of one node all write the same affine block, and letting them race there only
 * burns the bounded CAS retries. Different nodes still race, through compare-and-swap.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
