#!/usr/bin/env node
// tabby-cni: the CNI plugin executable. All logic is in plugin.ts; this file only does I/O.
import { createLogger } from '../log/logger.js';
import type { LevelWithSilent } from 'pino';
import { runCni } from './plugin.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return ''; // run by hand (e.g. VERSION): nothing is piped in
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const outcome = await runCni({
  env: process.env,
  stdin: await readStdin(),
  // stderr only: stdout carries the CNI result. Quiet by default, runtimes keep stderr.
  makeLogger: (level) =>
    createLogger({ component: 'cni', level: (level ?? process.env.TABBY_LOG_LEVEL ?? 'warn') as LevelWithSilent }),
});
process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;
