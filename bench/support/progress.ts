/**
 * A progress line on stderr: rewritten in place on a terminal, one line per update
 * (at most every `everyMs`) otherwise, so logs of CI runs stay short.
 */
export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly everyMs = 1000,
  ) {}

  update(done: number): void {
    const now = performance.now();
    if (done < this.total && now - this.last < (this.tty ? 100 : this.everyMs)) return;
    this.last = now;
    const pct = this.total > 0 ? Math.floor((100 * done) / this.total) : 100;
    const line = `${this.label}: ${done}/${this.total} (${pct}%)`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }

  done(extra = ''): void {
    process.stderr.write(`${this.tty ? '\r\x1b[K' : ''}${this.label}: done${extra ? ` (${extra})` : ''}\n`);
  }
}
