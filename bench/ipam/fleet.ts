/**
 * Starts allocator processes (allocator.ts, built JS), waits until all are connected, and
 * releases them together; collects their results. Used by the IPAM benchmark and the IPAM
 * integration tests. Each process is stopped by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AllocatorJob, AllocatorResult } from './allocator.js';

/** The built allocator: beside this file when running from dist/, else in dist/. */
export function allocatorScript(): string {
  const here = fileURLToPath(import.meta.url);
  const script = here.includes('/dist/bench/ipam/')
    ? fileURLToPath(new URL('./allocator.js', import.meta.url))
    : fileURLToPath(new URL('../../dist/bench/ipam/allocator.js', import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first (allocators run from built JS to start fast)`);
  return script;
}

export class Allocator {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly assigned: Promise<void>;
  readonly done: Promise<AllocatorResult>;
  cycles = 0;
  stderr = '';
  private events = new Map<string, (value: unknown) => void>();

  constructor(readonly job: AllocatorJob, script: string) {
    // TORTIE_ALLOCATOR_NODE_ARGS adds node flags, e.g. "--cpu-prof" to profile the allocators.
    const extra = (process.env.TORTIE_ALLOCATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, ['--enable-source-maps', ...extra, script, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const when = <T>(event: string) => new Promise<T>((resolve) => this.events.set(event, resolve as (v: unknown) => void));
    this.ready = when('ready');
    this.assigned = when('assigned');
    const done = when<AllocatorResult>('done');
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const msg = JSON.parse(line) as { event: string; n?: number };
        if (msg.event === 'cycle') this.cycles = msg.n!;
        this.events.get(msg.event)?.(msg);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    const exited = new Promise<never>((_, reject) =>
      this.child.on('exit', (code, signal) => {
        // Give a 'done' line that arrived with the exit the chance to win the race.
        setImmediate(() => reject(new Error(`allocator for ${job.node} (pid ${this.child.pid}) exited (${signal ?? code}) before it was done: ${this.stderr.trim()}`)));
      }),
    );
    this.done = Promise.race([done, exited]);
    // A killed allocator's promises are expected to reject; callers that care await them.
    this.done.catch(() => undefined);
    this.ready = Promise.race([this.ready, exited]);
    this.ready.catch(() => undefined);
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
}

export class Fleet {
  constructor(readonly allocators: Allocator[]) {}

  static async start(jobs: AllocatorJob[]): Promise<Fleet> {
    const script = allocatorScript();
    const fleet = new Fleet(jobs.map((j) => new Allocator(j, script)));
    try {
      await Promise.all(fleet.allocators.map((a) => a.ready));
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  go(): void {
    for (const a of this.allocators) a.go();
  }

  results(): Promise<AllocatorResult[]> {
    return Promise.all(this.allocators.map((a) => a.done));
  }

  /** Kills whatever still runs (by PID) and waits for it to go. */
  async stop(): Promise<void> {
    for (const a of this.allocators) a.kill();
    await Promise.all(this.allocators.map((a) => a.exited()));
  }
}
