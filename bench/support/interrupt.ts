/**
 * Cleanup for a benchmark run that is cut short. A bench owns namespaces, veths, daemons
 * and temp dirs that its `finally` removes, but a `finally` runs only when the code
 * reaches it:
 * - SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal went away) end the process at once;
 * - when whatever reads our output goes away (`bench ... | head`, a killed parent shell
 *   around `$(...)`), the next progress line fails with EPIPE, and Node throws an
 *   unhandled stream error, exiting past every `finally`.
 * Each of these runs `cleanup` once, then exits 130. Output errors are swallowed from then
 * on: the cleanup's own messages have nowhere to go either.
 */
export function cleanUpOnInterrupt(cleanup: () => unknown): void {
  let stopping = false;
  const stop = (why: string, canReport: boolean): void => {
    if (stopping) return;
    stopping = true;
    if (canReport) process.stderr.write(`\n${why}: cleaning up\n`);
    void Promise.resolve()
      .then(cleanup)
      .catch((err: unknown) => {
        if (canReport) process.stderr.write(`cleanup failed: ${(err as Error)?.message ?? String(err)}\n`);
      })
      .finally(() => process.exit(130));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => stop(sig, sig !== 'SIGHUP'));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => stop(`output closed (${err.code ?? err.message})`, false));
  }
}
