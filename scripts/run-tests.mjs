#!/usr/bin/env node
// Runs the vitest lanes (all by default, or the ones named on the command line) and ends
// with one plain summary line, "tests: N passed, N failed, N skipped", that CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const lanes = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const root = typeof process.getuid === 'function' && process.getuid() === 0;
for (const lane of lanes.length ? lanes : ['bpf', 'integration']) {
  if (lane !== 'unit' && !root) console.log(`${lane} lane: skipped: needs root`);
}

const dir = mkdtempSync(join(tmpdir(), 'tabby-test-'));
const out = join(dir, 'results.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extra];
for (const lane of lanes) args.push('--project', lane);
const res = spawnSync('npx', args, { stdio: 'inherit' });

let passed = 0, failed = 0, skipped = 0;
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  skipped = report.numPendingTests + report.numTodoTests;
  if (!report.success && failed === 0) failed = 1; // a file that failed to load counts
} catch {
  failed = Math.max(1, failed);
}
rmSync(dir, { recursive: true, force: true });
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(res.status === 0 && failed === 0 ? 0 : 1);
