/**
 * Go-style durations ("30s", "1m30s", "500ms"), the form Calico's BGP fields use
 * (`keepaliveTime`, `maxRestartTime`, `nodeMeshMaxRestartTime`). Returns seconds, or
 * undefined for anything that is not one (the resource validator rejects those at write
 * time; the speaker falls back to its default for documents written by other means).
 */
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const WHOLE = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

export function goDurationSeconds(text: unknown): number | undefined {
  if (typeof text !== 'string' || !WHOLE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_SECONDS[m[2] as string] ?? 0);
  return total;
}
