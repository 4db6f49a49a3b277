/**
 * Long-lived processes inside a named network namespace (daemons, echo servers, BGP peers).
 *
 * They start through `nsenter --net=/run/netns/NAME`, not `ip netns exec`: the latter gives
 * its command a private mount namespace, so anything the process does with `ip netns` (or
 * mounts) is invisible outside and vanishes with it. nsenter switches only the network
 * namespace and then execs the command, so the pid we hold is the command's own pid.
 *
 * Each process leads its own process group, so stop() reaches helpers it forked too,
 * and a Ctrl-C on the terminal reaches only us: we decide the order of shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { formatCommand } from './exec.js';
import { checkNetnsName } from './names.js';
import { netnsExists, netnsPath } from './netns.js';
import { UserError } from '../common/errors.js';

export interface SpawnOptions {
  /** Extra environment variables, on top of this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Append stdout and stderr to this file instead of keeping them in memory. */
  logFile?: string;
  /** How much captured output to keep, from the end (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface ProcessExit {
  /** Exit status, or null if a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NetnsProcess {
  readonly pid: number;
  readonly netns: string;
  /** The command line, for messages. */
  readonly command: string;
  /** Settles when the process has exited (it never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** How it exited, once it has. */
  readonly exit: ProcessExit | undefined;
  /** stdout and stderr interleaved as they arrived (or the log file's contents). */
  output(): string;
  /** SIGTERM, then SIGKILL if still alive after graceMs (default 3000). Safe to call twice. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL at once, synchronously: for emergency cleanup on a signal or at exit. */
  killNow(): void;
}

/** Starts `file args` inside the namespace and resolves once the kernel has started it. */
export async function spawnInNetns(
  netns: string,
  file: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): Promise<NetnsProcess> {
  checkNetnsName(netns);
  if (!netnsExists(netns)) throw new UserError(`cannot start ${file} in netns ${netns}: no such network namespace`);
  const command = formatCommand(file, args);
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', file, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
      detached: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    if (logFd !== undefined) closeSync(logFd);
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new UserError(`cannot start ${command} in netns ${netns}: ${err.message}`)));
  });
  return new SpawnedProcess(child, netns, command, options);
}

class SpawnedProcess implements NetnsProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  exit: ProcessExit | undefined;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(
    child: ChildProcess,
    readonly netns: string,
    readonly command: string,
    private readonly options: SpawnOptions,
  ) {
    this.pid = child.pid!;
    this.maxBytes = options.maxOutputBytes ?? 1 << 20;
    child.stdout?.on('data', (b: Buffer) => this.keep(b));
    child.stderr?.on('data', (b: Buffer) => this.keep(b));
    // 'exit', not 'close': a grandchild holding our pipes must not delay the news.
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  private keep(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.maxBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
  }

  output(): string {
    if (this.options.logFile !== undefined) {
      try {
        return readFileSync(this.options.logFile, 'utf8');
      } catch {
        return '';
      }
    }
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Signals our process group (led by our pid); quiet if it is already gone. */
  private signal(sig: NodeJS.Signals): void {
    if (this.exit) return;
    try {
      process.kill(-this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  async stop(graceMs = 3000): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const first = await Promise.race([this.exited, graceOver]);
    clearTimeout(timer);
    if (first === 'late') this.signal('SIGKILL');
    return this.exited;
  }

  killNow(): void {
    this.signal('SIGKILL');
  }
}
