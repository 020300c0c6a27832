import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Stable component name, logged as `component` on every line. */
  component?: string;
  /** Write here instead of stderr (file descriptor or path), e.g. the lab's per-node log. */
  destination?: number | string;
}

/**
 * Structured JSON logs. Field names are stable API: `component`, `node`, `op`, `errno`,
 * `ifindex`, `cidr`. Logs go to stderr so stdout stays for command output.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.TABBY_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: true });
  return pino({ level, base: opts.component ? { component: opts.component } : {} }, dest);
}
