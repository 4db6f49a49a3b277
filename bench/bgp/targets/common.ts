/** Helpers shared by the targets. */
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { NetnsProcess } from '../../../src/kernel/index.js';
import type { RunningTarget } from './types.js';

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** stdout+stderr of a short command, or the error text; never throws. */
export async function capture(file: string, args: string[], timeoutMs = 10_000): Promise<string> {
  const r = await execa(file, args, { reject: false, timeout: timeoutMs, all: true });
  return String(r.all ?? '');
}

export async function pollUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, abort?: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  for (;;) {
    const why = abort?.();
    if (why) throw new Error(`${what}: ${why}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${Math.round(timeoutMs / 1000)} s${lastErr ? ` (${lastErr})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A target made of one or more processes, stopped newest first. */
export class Processes implements Pick<RunningTarget, 'pids' | 'exited' | 'stop'> {
  constructor(readonly list: NetnsProcess[]) {}
  pids(): number[] {
    return this.list.map((p) => p.pid);
  }
  exited(): string | null {
    for (const p of this.list) {
      if (p.exit !== undefined) return `${p.command.split(' ')[0]} exited (${p.exit.code ?? p.exit.signal})`;
    }
    return null;
  }
  async stop(): Promise<void> {
    // SIGTERM with a short grace, then SIGKILL: a daemon holding 1M routes may take long
    // to flush them on the way out, and the namespace goes away right after anyway.
    for (const p of [...this.list].reverse()) await p.stop(1500);
  }
}
