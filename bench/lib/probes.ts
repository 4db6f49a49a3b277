/**
 * The runner's side of the probes: start an injector or a monitor inside a namespace of a
 * NetnsScope (so cleanup stops it), read its JSON-line reports, wait for an event with a
 * deadline and a stall limit, and give orders by signal.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NetnsProcess, NetnsScope } from '../../src/kernel/index.js';
import type { InjectorJob } from './injector.js';
import type { MonitorJob } from './monitor.js';

export interface ProbeEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

/**
 * The node arguments that run a probe script: the built JS beside this file when running
 * from dist/; from the TypeScript sources (through test/register.mjs) otherwise, so a test
 * exercises the current source.
 */
export function probeCommand(kind: 'injector' | 'monitor'): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return [fileURLToPath(new URL(`./${kind}.js`, import.meta.url))];
  const ts = fileURLToPath(new URL(`./${kind}.ts`, import.meta.url));
  const register = fileURLToPath(new URL('../../test/register.mjs', import.meta.url));
  if (!existsSync(register)) throw new Error(`cannot run ${ts}: ${register} is missing`);
  return ['--no-warnings', '--import', register, ts];
}

export class ProbeFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeFailed';
  }
}

export class Probe {
  readonly events: ProbeEvent[] = [];
  private consumed = 0;
  private partial = '';
  /** Non-JSON output (errors, stack traces), for failure messages. */
  readonly text: string[] = [];

  constructor(
    readonly name: string,
    readonly process: NetnsProcess,
  ) {}

  get pid(): number {
    return this.process.pid;
  }

  /** Reads what the probe printed since the last call. */
  poll(): void {
    const out = this.process.output();
    if (out.length <= this.consumed) return;
    const fresh = this.partial + out.slice(this.consumed);
    this.consumed = out.length;
    const lines = fresh.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{')) {
        try {
          this.events.push(JSON.parse(line) as ProbeEvent);
          continue;
        } catch {
          // fall through: keep as text
        }
      }
      if (line.trim() !== '') this.text.push(line);
    }
  }

  last(event: string): ProbeEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.event === event) return this.events[i];
    return undefined;
  }

  /** Events named `event`, optionally only those after index `from`. */
  find(event: string, from = 0, where?: (e: ProbeEvent) => boolean): ProbeEvent | undefined {
    for (let i = from; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.event === event && (where === undefined || where(e))) return e;
    }
    return undefined;
  }

  describe(): string {
    this.poll();
    const failure = this.events.find((e) => ['fatal', 'session-error', 'notification-received', 'closed'].includes(e.event));
    const exit = this.process.exit;
    const parts = [
      failure ? JSON.stringify(failure) : '',
      exit ? `exited ${exit.code ?? exit.signal}` : '',
      this.text.slice(-3).join(' | '),
    ].filter((p) => p !== '');
    return `${this.name}: ${parts.join('; ') || 'no report'}`;
  }

  /** SIGUSR2: the injector's next phase; the monitor's counts. */
  order(): void {
    process.kill(this.process.pid, 'SIGUSR2');
  }

  async stop(): Promise<void> {
    await this.process.stop(1000);
  }
}

export interface WaitEventOptions {
  /** Overall deadline, ms. */
  timeoutMs: number;
  /** Fail if `progress()` returns the same value for this long, ms. */
  stallMs?: number;
  progress?: () => string;
  /** Called about once a second while waiting (for progress lines). */
  tick?: (elapsedMs: number) => void;
  /** Probes whose death means the wait is over. */
  watch?: Probe[];
  /** Checked on every poll; a string is a failure reason. */
  check?: () => string | null;
  intervalMs?: number;
}

/** Polls until `ready()` gives a value; throws ProbeFailed on deadline, stall or a dead probe. */
export async function waitUntil<T>(what: string, ready: () => T | undefined | null | false, o: WaitEventOptions): Promise<T> {
  const start = Date.now();
  let lastProgress = o.progress?.() ?? '';
  let lastChange = start;
  let lastTick = start;
  for (;;) {
    for (const p of o.watch ?? []) p.poll();
    const v = ready();
    if (v !== undefined && v !== null && v !== false) return v;
    const now = Date.now();
    for (const p of o.watch ?? []) {
      if (p.process.exit !== undefined) throw new ProbeFailed(`waiting for ${what}: ${p.describe()}`);
      const bad = p.events.find((e) => e.event === 'fatal' || e.event === 'session-error' || e.event === 'notification-received');
      if (bad) throw new ProbeFailed(`waiting for ${what}: ${p.describe()}`);
    }
    const reason = o.check?.();
    if (reason) throw new ProbeFailed(`waiting for ${what}: ${reason}`);
    if (o.progress) {
      const p = o.progress();
      if (p !== lastProgress) {
        lastProgress = p;
        lastChange = now;
      } else if (o.stallMs !== undefined && now - lastChange > o.stallMs) {
        throw new ProbeFailed(`waiting for ${what}: no progress for ${Math.round((now - lastChange) / 1000)} s (${p})`);
      }
    }
    if (now - start > o.timeoutMs) throw new ProbeFailed(`waiting for ${what}: timed out after ${Math.round(o.timeoutMs / 1000)} s`);
    if (o.tick && now - lastTick >= 1000) {
      lastTick = now;
      o.tick(now - start);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 10));
  }
}

async function start(scope: NetnsScope, netns: string, kind: 'injector' | 'monitor', job: unknown): Promise<Probe> {
  const proc = await scope.spawn(netns, process.execPath, [...probeCommand(kind), JSON.stringify(job)], {
    maxOutputBytes: 16 << 20,
  });
  return new Probe(kind, proc);
}

export function startInjector(scope: NetnsScope, netns: string, job: InjectorJob): Promise<Probe> {
  return start(scope, netns, 'injector', job);
}

export function startMonitor(scope: NetnsScope, netns: string, job: MonitorJob): Promise<Probe> {
  return start(scope, netns, 'monitor', job);
}
