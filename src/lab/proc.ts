/**
 * A lab's long-lived processes: started detached (they outlive `tortie lab up`), each the
 * leader of its own process group, output to a log file, and recorded by PID and start
 * time. They are stopped by that record alone, so `lab down` from another process (or after
 * a crash) stops exactly them.
 *
 * Processes inside a node start through `nsenter --net=/run/netns/NAME`, never `ip netns
 * exec`: the latter's private mount namespace would hide what they do from everyone else.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { UserError } from '../common/errors.js';
import { netnsPath } from '../kernel/netns.js';
import { isAlive, processStartTime, type ProcessRecord } from './state.js';

export interface StartOptions {
  netns?: string;
  env?: Record<string, string>;
  cwd?: string;
  log: string;
  what: string;
  node?: string;
}

/** Starts `file args` (in `netns` if given), detached, and returns its record. */
export async function startDetached(file: string, args: readonly string[], options: StartOptions): Promise<ProcessRecord> {
  const [cmd, argv] = options.netns ? ['nsenter', [`--net=${netnsPath(options.netns)}`, '--', file, ...args]] : [file, [...args]];
  const fd = openSync(options.log, 'a');
  let child;
  try {
    child = spawn(cmd, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new UserError(`cannot start ${options.what} (${file}): ${err.message}`)));
  });
  child.unref();
  const pid = child.pid!;
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new UserError(`${options.what} (${file}) exited at once; see ${options.log}`);
  return { what: options.what, node: options.node, pid, startTime, log: options.log };
}

function signalGroup(p: ProcessRecord, sig: NodeJS.Signals): void {
  if (!isAlive(p)) return;
  try {
    process.kill(-p.pid, sig); // the group it leads: helpers it forked go too
  } catch {
    try {
      process.kill(p.pid, sig);
    } catch {
      // gone
    }
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * SIGTERM to each (and its process group), then SIGKILL to whatever is still alive after
 * graceMs. Resolves when all are gone; returns those that would not die.
 */
export async function stopProcesses(procs: readonly ProcessRecord[], graceMs = 3000): Promise<ProcessRecord[]> {
  for (const p of procs) signalGroup(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (procs.some(isAlive) && Date.now() < deadline) await delay(50);
  for (const p of procs) signalGroup(p, 'SIGKILL');
  const killDeadline = Date.now() + 3000;
  while (procs.some(isAlive) && Date.now() < killDeadline) await delay(50);
  return procs.filter(isAlive);
}
