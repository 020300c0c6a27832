/**
 * Writes a benchmark's results as `bench/results/<name>.json` (everything, for tools) and
 * `bench/results/<name>.md` (a table a person reads at a glance).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

export type Cell = string | number;

/** A GitHub-flavoured markdown table; numbers are right-aligned. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const align = headers.map((_, i) => (rows.some((r) => typeof r[i] === 'number') ? '---:' : '---'));
  const line = (cells: readonly Cell[]) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(headers), line(align), ...rows.map(line)].join('\n') + '\n';
}

export interface BenchEnvironment {
  node: string;
  cpus: number;
  cpuModel: string;
  platform: string;
  date: string;
}

/** Where the numbers came from, recorded with every result. */
export function environment(): BenchEnvironment {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: `${process.platform} ${process.arch}`, date: new Date().toISOString() };
}

export async function writeResults(name: string, json: unknown, markdown: string): Promise<{ jsonPath: string; mdPath: string }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const jsonPath = join(RESULTS_DIR, `${name}.json`);
  const mdPath = join(RESULTS_DIR, `${name}.md`);
  await writeFile(jsonPath, JSON.stringify(json, null, 2) + '\n');
  await writeFile(mdPath, markdown);
  return { jsonPath, mdPath };
}

/** Formats a number for a table: 3 significant digits, no exponent. */
export function fmt(n: number, digits = 3): number {
  if (!Number.isFinite(n)) return n;
  return Number(n.toPrecision(digits));
}
