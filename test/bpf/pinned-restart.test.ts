// Maps pinned by one process are reopened by a new process with their contents intact:
// process A loads the object with a pin directory, writes entries and exits; process B
// opens the pinned map by path and prints what it finds.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot, possibleCpus } from '../../src/native/index.js';
import { isRoot, needsRoot } from '../support/root.js';
import { countersObject, ensureBpffs, newPinDir, removePinDir, sweepStalePins } from './support.js';

function node(script: string, args: string[]): { stdout: string; pid: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(packageRoot(), 'test/bpf/fixtures', script), ...args], {
    cwd: packageRoot(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout.trim(), pid: r.pid ?? 0 };
}

describe.skipIf(!isRoot)(needsRoot('pinned maps survive the process that made them'), () => {
  let dir: string;

  beforeAll(() => {
    ensureBpffs();
    sweepStalePins();
    dir = newPinDir();
  });
  afterAll(() => {
    if (dir) removePinDir(dir);
  });

  it('process B reads what process A wrote', () => {
    const cpus = possibleCpus();
    const entries = [1, 2, 3].flatMap((ifindex) =>
      [0, 1].map((direction) => ({
        key: { ifindex: ifindex * 100, direction },
        perCpu: Array.from({ length: cpus }, (_, cpu) => ({
          packets: String(ifindex * 1000 + direction * 10 + cpu),
          bytes: String(2n ** 40n + BigInt(ifindex * 7 + cpu)),
          dropped: String(cpu),
          malformed: String(direction),
        })),
      })),
    );

    const a = node('pin-writer.ts', [countersObject(), dir, JSON.stringify(entries)]);
    expect(a.stdout).toMatch(/^written 6 pid \d+$/);
    expect(existsSync(join(dir, 'counters'))).toBe(true);

    const b = node('pin-reader.ts', [join(dir, 'counters')]);
    const read = JSON.parse(b.stdout) as { pid: number; info: Record<string, unknown>; entries: unknown[] };
    expect(read.pid).not.toBe(Number(/pid (\d+)/.exec(a.stdout)?.[1]));
    expect(read.info).toMatchObject({ name: 'counters', type: 'percpu_hash', keySize: 8, valueSize: 32, maxEntries: 16384, perCpu: true });
    expect(read.entries).toEqual(entries);

    // A third process loading the object with the same pin directory reuses the pinned map
    // (LIBBPF_PIN_BY_NAME) instead of making an empty one: old and new entries are both there.
    const more = [{ key: { ifindex: 900, direction: 1 }, perCpu: entries[0]?.perCpu ?? [] }];
    expect(node('pin-writer.ts', [countersObject(), dir, JSON.stringify(more)]).stdout).toMatch(/^written 1 /);
    const again = JSON.parse(node('pin-reader.ts', [join(dir, 'counters')]).stdout) as { info: { id: number }; entries: unknown[] };
    expect(again.info.id).toBe((read.info as { id: number }).id);
    expect(again.entries).toEqual([...entries, ...more]);

    removePinDir(dir);
    expect(existsSync(dir)).toBe(false);
  });
});
