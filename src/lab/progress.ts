/**
 * Progress for steps that take a while, on stderr: on a terminal a spinner with the elapsed
 * time once a step has run for a second; otherwise one line per step when it ends, with its
 * time when it took more than a second. Quiet mode prints nothing.
 */
export class Progress {
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY) && !quiet;
  }

  info(text: string): void {
    if (!this.quiet) this.out.write(`${text}\n`);
  }

  async step<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let i = 0;
    let shown = false;
    const timer = this.tty
      ? setInterval(() => {
          const s = (Date.now() - started) / 1000;
          if (s < 1) return;
          shown = true;
          this.out.write(`\r\x1b[K${frames[i++ % frames.length]} ${label} (${s.toFixed(0)} s)`);
        }, 100)
      : undefined;
    const took = () => {
      const s = (Date.now() - started) / 1000;
      return s >= 1 ? ` (${s.toFixed(1)} s)` : '';
    };
    try {
      const value = await fn();
      if (timer) clearInterval(timer);
      if (!this.quiet) this.out.write(`${shown ? '\r\x1b[K' : ''}✓ ${label}${took()}\n`);
      return value;
    } catch (err) {
      if (timer) clearInterval(timer);
      if (!this.quiet) this.out.write(`${shown ? '\r\x1b[K' : ''}✗ ${label}${took()}\n`);
      throw err;
    }
  }
}
