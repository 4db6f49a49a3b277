/**
 * A NetnsScope is one run's worth of namespaces and processes: everything it makes carries
 * its unique prefix, it remembers what it made, and cleanup() removes exactly that.
 *
 * Cleanup also happens when the run is cut short: on SIGINT, SIGTERM or SIGHUP, and at
 * process exit, every live scope is torn down synchronously (SIGKILL to its processes,
 * `ip netns delete` of its namespaces), because nothing asynchronous runs after that point.
 * A scope never deletes a namespace whose name lacks its prefix, even one it was told about.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { UserError } from '../common/errors.js';
import { logger } from '../log/logger.js';
import { addBridge, addVethPair, type BridgeOptions, type VethEnd, type VethOptions } from './links.js';
import { checkNetnsName } from './names.js';
import { createNetns, deleteNetns, netnsExists, NETNS_DIR, type CreateNetnsOptions } from './netns.js';
import { spawnInNetns, type NetnsProcess, type SpawnOptions } from './process.js';

const log = logger('kernel.scope');

export interface NetnsScopeOptions {
  /**
   * The prefix for this scope's names: 2-12 lowercase letters and digits, starting with a
   * letter. Default: "tt" and 5 random base-36 characters, unique per run.
   */
  prefix?: string;
}

/** Something went wrong while tearing a scope down; every step was still tried. */
export class CleanupError extends UserError {
  constructor(
    message: string,
    readonly failures: readonly unknown[],
  ) {
    super(message);
    this.name = 'CleanupError';
  }
}

function randomPrefix(): string {
  const n = randomBytes(4).readUInt32BE(0) % 36 ** 5;
  return `tt${n.toString(36).padStart(5, '0')}`;
}

export class NetnsScope {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly processes: NetnsProcess[] = [];
  private closed = false;

  constructor(options: NetnsScopeOptions = {}) {
    if (options.prefix !== undefined && !/^[a-z][a-z0-9]{1,11}$/.test(options.prefix)) {
      throw new UserError(
        `netns scope prefix "${options.prefix}": use 2-12 lowercase letters and digits, starting with a letter`,
      );
    }
    let prefix = options.prefix ?? randomPrefix();
    // A random prefix that some namespace already carries is not unique: draw again.
    while (options.prefix === undefined && netnsWithPrefix(prefix).length > 0) prefix = randomPrefix();
    this.prefix = prefix;
    live.add(this);
    installExitHandlers();
  }

  /** The full namespace name for a suffix: "<prefix>-<suffix>". */
  name(suffix: string): string {
    return checkNetnsName(`${this.prefix}-${suffix}`, `netns scope ${this.prefix}`);
  }

  /** Whether a namespace name belongs to this scope's prefix. */
  owns(netns: string): boolean {
    return netns.startsWith(`${this.prefix}-`);
  }

  /** Namespaces this scope created and has not removed yet, in creation order. */
  get netnsNames(): readonly string[] {
    return [...this.namespaces];
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`netns scope ${this.prefix} is already cleaned up`);
  }

  private assertOwned(netns: string, what: string): void {
    if (!this.namespaces.includes(netns)) {
      throw new UserError(`${what}: netns ${netns} was not made by netns scope ${this.prefix}`);
    }
  }

  /** Creates namespace "<prefix>-<suffix>" with lo up (and IPv6 DAD off), and returns its name. */
  async netns(suffix: string, options: CreateNetnsOptions = {}): Promise<string> {
    this.assertOpen();
    const name = this.name(suffix);
    if (this.namespaces.includes(name)) throw new UserError(`netns scope ${this.prefix}: netns ${name} exists already`);
    // Recorded before it exists, so an interrupt in the middle still removes it.
    this.namespaces.push(name);
    try {
      await createNetns(name, options);
    } catch (err) {
      this.namespaces.splice(this.namespaces.indexOf(name), 1);
      throw err;
    }
    return name;
  }

  /** A veth pair between two namespaces of this scope. */
  async veth(a: VethEnd, b: VethEnd, options: VethOptions = {}): Promise<void> {
    this.assertOpen();
    this.assertOwned(a.netns, `veth ${a.name}`);
    this.assertOwned(b.netns, `veth ${b.name}`);
    await addVethPair(a, b, options);
  }

  /** A bridge inside a namespace of this scope. */
  async bridge(netns: string, name: string, options: BridgeOptions = {}): Promise<void> {
    this.assertOpen();
    this.assertOwned(netns, `bridge ${name}`);
    await addBridge(netns, name, options);
  }

  /** A long-lived process inside a namespace of this scope, stopped by cleanup(). */
  async spawn(netns: string, file: string, args: readonly string[] = [], options: SpawnOptions = {}): Promise<NetnsProcess> {
    this.assertOpen();
    this.assertOwned(netns, `process ${file}`);
    const proc = await spawnInNetns(netns, file, args, options);
    this.processes.push(proc);
    return proc;
  }

  /** Deletes one namespace of this scope before the end of the run. */
  async removeNetns(netns: string): Promise<void> {
    this.assertOwned(netns, 'remove');
    await this.stopProcessesIn(netns);
    await deleteNetns(netns);
    this.namespaces.splice(this.namespaces.indexOf(netns), 1);
  }

  private async stopProcessesIn(netns: string | undefined, graceMs?: number): Promise<unknown[]> {
    const failures: unknown[] = [];
    const mine = this.processes.filter((p) => netns === undefined || p.netns === netns);
    // Newest first: a later process may depend on an earlier one (a client on its server).
    await Promise.all(
      mine.reverse().map((p) =>
        p.stop(graceMs).catch((err: unknown) => {
          failures.push(err);
        }),
      ),
    );
    for (const p of mine) this.processes.splice(this.processes.indexOf(p), 1);
    return failures;
  }

  /**
   * Stops the scope's processes (SIGTERM, SIGKILL after graceMs), then deletes its
   * namespaces, which takes their links along. Safe to call more than once. Tries every
   * step, and throws one CleanupError listing what failed.
   */
  async cleanup(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures = await this.stopProcessesIn(undefined, options.graceMs);
    for (const netns of [...this.namespaces].reverse()) {
      if (!this.owns(netns)) continue; // cannot happen (names are made here); never delete a stranger's
      try {
        if (netnsExists(netns)) await deleteNetns(netns);
      } catch (err) {
        failures.push(err);
      }
    }
    this.namespaces.length = 0;
    live.delete(this);
    if (failures.length > 0) {
      const first = failures[0] instanceof Error ? failures[0].message : String(failures[0]);
      throw new CleanupError(`netns scope ${this.prefix}: ${failures.length} cleanup step(s) failed; first: ${first}`, failures);
    }
  }

  /** The last-resort teardown for signals and exit: synchronous, best effort, no waiting. */
  cleanupSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.processes) {
      try {
        p.killNow();
      } catch {
        // Best effort: keep going with the namespaces.
      }
    }
    this.processes.length = 0;
    for (const netns of [...this.namespaces].reverse()) {
      if (!this.owns(netns)) continue;
      try {
        execFileSync('ip', ['netns', 'delete', netns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // Already gone, or the kernel refused: nothing more we can do while exiting.
      }
    }
    this.namespaces.length = 0;
    live.delete(this);
  }
}

/** Namespaces on this machine whose names start with `prefix-`: what a scope could have left. */
export function netnsWithPrefix(prefix: string): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${prefix}-`));
  } catch {
    return [];
  }
}

const live = new Set<NetnsScope>();
let handlersInstalled = false;

function cleanupAllSync(reason: string): void {
  if (live.size === 0) return;
  log.warn({ reason, scopes: [...live].map((s) => s.prefix) }, 'cleaning up network namespaces left behind');
  for (const scope of [...live]) scope.cleanupSync();
}

/**
 * Once per process: tear every live scope down on exit and on terminating signals. After
 * cleaning up on a signal, if nobody else listens for it, die of that same signal so the
 * parent sees the right status (130 for SIGINT in a shell).
 */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => cleanupAllSync('exit'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupAllSync(sig);
      if (process.listenerCount(sig) > 1) return; // another handler decides how to exit
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
