/**
 * A long-lived `ip -force -batch -` child: lines go in through stdin in chunks, with
 * back-pressure; `-force` keeps it going past a failing line, and for each one it prints the
 * error and then "Command failed -:N" on stderr, N counting lines since it started.
 *
 * To know when a run of lines is done (and which of them failed), each run ends with a
 * sentinel line that always fails without touching anything: `link show dev tortie:none`
 * (':' is not allowed in interface names, so no such device can exist). stderr is one
 * ordered stream, so once the sentinel's failure shows up, every earlier line has been
 * applied and its failure, if any, reported.
 *
 * iproute2 6.1 keeps about 4 KiB per applied line for the life of the process (400 MB
 * after 100k routes), so a child is retired after `maxLines` lines and a fresh one takes
 * over; the next one is started ahead of time so the switch costs nothing.
 *
 * A line that `ip` cannot parse makes it exit, not fail: callers must only pass lines they
 * have validated. If the child dies anyway, the run in progress rejects with IpBatchError.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from '../../log/logger.js';

const SENTINEL = 'link show dev tortie:none';
const SENTINEL_FAILED = /Command failed -:(\d+)$/;

export class IpBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpBatchError';
  }
}

export interface IpBatchOptions {
  /** `ip -n NETNS`: work in that named namespace instead of our own. */
  netns?: string;
  /** Retire a child after this many lines (default 25,000: about 100 MB of iproute2's leak). */
  maxLines?: number;
  /** Bytes per stdin write (default 64 KiB). */
  chunkBytes?: number;
  log?: Logger;
  /** The ip binary (default "ip"). */
  ip?: string;
}

/** Line index (0-based, within the run) to the error text `ip` printed for it. */
export type LineFailures = Map<number, string>;

class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Lines written so far (ip's line counter). */
  written = 0;
  private stderrTail = '';
  private pendingText: string[] = [];
  /** Failures seen since the current run started: absolute line number to text. */
  failures = new Map<number, string>();
  private waiter: { line: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  exited = false;
  exitReason = '';

  constructor(args: string[], ip: string) {
    this.proc = spawn(ip, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.resume(); // nothing we send prints, but never let a full pipe block it
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => this.onStderr(d));
    this.proc.stdin.on('error', () => undefined); // EPIPE when it died: reported through 'exit'
    this.proc.on('error', (err) => this.onExit(`could not run ip: ${err.message}`));
    this.proc.on('exit', (code, signal) => this.onExit(signal ? `killed by ${signal}` : `exit status ${code}`));
  }

  private onStderr(data: string): void {
    const text = this.stderrTail + data;
    const lines = text.split('\n');
    this.stderrTail = lines.pop()!;
    for (const l of lines) {
      const m = SENTINEL_FAILED.exec(l);
      if (m === null) {
        if (l.trim() !== '') this.pendingText.push(l.trim());
        continue;
      }
      const n = Number(m[1]);
      const why = this.pendingText.join('; ');
      this.pendingText = [];
      if (this.waiter !== null && n === this.waiter.line) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve();
      } else {
        this.failures.set(n, why || 'failed');
      }
    }
  }

  private onExit(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    const text = [...this.pendingText, this.stderrTail.trim()].filter((s) => s !== '').join('; ');
    this.exitReason = text ? `${reason}: ${text}` : reason;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(new IpBatchError(`ip -batch ${this.exitReason}`));
    }
  }

  /** Resolves once the sentinel written as absolute line `line` has come back. */
  waitFor(line: number): Promise<void> {
    if (this.exited) return Promise.reject(new IpBatchError(`ip -batch ${this.exitReason}`));
    return new Promise((resolve, reject) => {
      this.waiter = { line, resolve, reject };
    });
  }

  /** Writes, and waits for 'drain' when the pipe is full. */
  async write(text: string): Promise<void> {
    if (this.exited) throw new IpBatchError(`ip -batch ${this.exitReason}`);
    if (this.proc.stdin.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.proc.stdin.off('drain', done);
        this.proc.off('exit', done);
        resolve();
      };
      this.proc.stdin.on('drain', done);
      this.proc.on('exit', done);
    });
    if (this.exited) throw new IpBatchError(`ip -batch ${this.exitReason}`);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** Runs batches of iproute2 lines through long-lived children, one run at a time. */
export class IpBatch {
  private current: Child | null = null;
  private spare: Child | null = null;
  private readonly args: string[];
  private readonly maxLines: number;
  private readonly chunkBytes: number;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: IpBatchOptions = {}) {
    this.args = [...(options.netns === undefined ? [] : ['-n', options.netns]), '-force', '-batch', '-'];
    this.maxLines = options.maxLines ?? 25_000;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
  }

  private spawnChild(): Child {
    return new Child(this.args, this.options.ip ?? 'ip');
  }

  private takeChild(): Child {
    if (this.current !== null && !this.current.exited && this.current.written < this.maxLines) return this.current;
    if (this.current !== null) void this.current.close();
    this.current = this.spare !== null && !this.spare.exited ? this.spare : this.spawnChild();
    this.spare = null;
    return this.current;
  }

  /**
   * Applies `count` lines (`line(i)` for i in 0..count-1, each without a newline) and
   * resolves with the ones that failed. Runs are serialized. Rejects with IpBatchError
   * if a child died: then lines of the run may or may not have been applied.
   */
  run(count: number, line: (i: number) => string): Promise<LineFailures> {
    const result = this.busy.then(() => this.runNow(count, line));
    this.busy = result.catch(() => undefined);
    return result;
  }

  private async runNow(count: number, line: (i: number) => string): Promise<LineFailures> {
    if (this.closed) throw new IpBatchError('ip -batch is closed');
    const failures: LineFailures = new Map();
    let i = 0;
    while (i < count) {
      const child = this.takeChild();
      // This child's share of the run: up to its line budget (at least one line).
      const room = Math.max(1, this.maxLines - child.written);
      const end = Math.min(count, i + room);
      const firstAbs = child.written + 1; // ip numbers lines from 1
      const startIndex = i;
      child.failures = new Map();
      let buf = '';
      for (; i < end; i++) {
        buf += line(i) + '\n';
        if (buf.length >= this.chunkBytes) {
          await child.write(buf);
          buf = '';
        }
      }
      child.written += end - startIndex;
      const sentinelLine = child.written + 1;
      child.written += 1;
      const done = child.waitFor(sentinelLine);
      await child.write(buf + SENTINEL + '\n');
      // Warm up the next child while this one works through its lines.
      if (child.written >= this.maxLines && this.spare === null && end < count) this.spare = this.spawnChild();
      await done;
      for (const [abs, why] of child.failures) failures.set(startIndex + (abs - firstAbs), why);
    }
    return failures;
  }

  /** Ends the children (they finish what they were given first). */
  async close(): Promise<void> {
    this.closed = true;
    await this.busy;
    const all = [this.current, this.spare].filter((c): c is Child => c !== null);
    this.current = this.spare = null;
    await Promise.all(all.map((c) => c.close()));
  }
}
