/**
 * A benchmark target: a BGP daemon started in the target namespace between the injector
 * (AS 65001, 10.0.1.1) and the monitor (AS 65002, 10.0.2.2), as AS 65000. Both of its
 * sessions are passive: the probes connect, so a session comes up as soon as the daemon
 * listens, with no connect-retry wait. Every target passes every route on (accept all,
 * both ways) and, for the fib scenario, installs its best routes into the main table of
 * the target namespace.
 */
import type { NetnsScope } from '../../../src/kernel/index.js';

export interface TargetContext {
  scope: NetnsScope;
  /** The target namespace. */
  netns: string;
  /** A private temp folder for config, sockets and logs. */
  dir: string;
  /** Install routes into the kernel (fib scenario). */
  fib: boolean;
  /** The checkout (for bin/tortie.js). */
  repoRoot: string;
}

export interface RunningTarget {
  /** Processes whose peak RSS and CPU time are the target's (summed). */
  pids(): number[];
  /** Resolves once the daemon itself reports both sessions Established. */
  waitEstablished(timeoutMs: number): Promise<void>;
  /** Whether a process of the target has exited, and how. */
  exited(): string | null;
  /** Stops every process of the target (by pid). */
  stop(): Promise<void>;
  /** The last lines of the target's log, for failure messages. */
  logTail(lines?: number): string;
}

export interface Target {
  name: string;
  /** Name and version for tables, e.g. "BIRD 2.0.12". */
  label(): Promise<string>;
  /** null when the fib scenario is supported, else why not. */
  fibUnsupported: string | null;
  start(ctx: TargetContext): Promise<RunningTarget>;
}

export const PEERS = {
  injector: { address: '10.0.1.1', asn: 65001 },
  monitor: { address: '10.0.2.2', asn: 65002 },
} as const;
export const LOCAL = { asn: 65000, routerId: '10.0.1.2', injSide: '10.0.1.2', monSide: '10.0.2.1' } as const;
/** Hold time offered by the targets: long, so a daemon busy with 1M routes keeps its sessions. */
export const HOLD_TIME = 180;
