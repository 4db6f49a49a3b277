/**
 * What a lab made, written down before it is made: /run/tortie/labs/<lab>.json. `lab down`
 * reads only this file, so it cleans up after a crash of `lab up` (or of the machine's
 * tortie processes) just as well as after a clean run, and removes nothing it did not make.
 *
 * Processes are recorded with their start time (field 22 of /proc/PID/stat), so a PID the
 * kernel has since given to an unrelated process is never signalled.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';

export const DEFAULT_LABS_DIR = '/run/tortie/labs';
export const LABS_DIR_ENV = 'TORTIE_LABS_DIR';

export function labsDir(): string {
  return process.env[LABS_DIR_ENV] || DEFAULT_LABS_DIR;
}

export interface ProcessRecord {
  /** What it is: "etcd", "host1 tortie node", "tor1 bgpd" ... */
  what: string;
  node?: string;
  pid: number;
  /** Start time in clock ticks since boot, from /proc/PID/stat. */
  startTime: string;
  log?: string;
}

export interface NodeRecord {
  name: string;
  role: string;
  netns?: string;
  /** Per-node folder (sockets, FRR's vty, logs). */
  dir: string;
  /** tortie host: its node daemon's control socket. */
  socket?: string;
  /** The node name tortie knows the host by (from --name). */
  tortieName?: string;
  /** tortie host: its address on the fabric. */
  ip?: string;
}

export interface WorkloadRecordRef {
  /** The name in the lab's workload file. */
  short: string;
  /** The workload's name for `tortie workload` (lab prefix + short). */
  name: string;
  node: string;
  netns: string;
  labels: Record<string, string>;
  ips: string[];
}

export interface LabState {
  version: 1;
  lab: string;
  file: string;
  /** Namespace names start with this; nothing else is ever deleted. */
  prefix: string;
  /** The lab's folder under the labs dir. */
  dir: string;
  createdAt: string;
  /** "up" once `lab up` has finished; "starting" while it runs (or if it died). */
  phase: 'starting' | 'up';
  datastore?: { url: string; unixUrl: string };
  namespaces: string[];
  processes: ProcessRecord[];
  nodes: NodeRecord[];
  workloads: WorkloadRecordRef[];
  /** The workload state folder (tortie workload --state-dir). */
  workloadDir: string;
  /**
   * FRR's folders (vty sockets, pid files, logs) live outside the labs dir: zebra runs as
   * user frr, which must be able to reach them, and /run/tortie may be root-only.
   */
  frrDir?: string;
}

export const FRR_RUN_DIR = '/run/tortie-lab-frr';

export function statePath(lab: string): string {
  return join(labsDir(), `${lab}.json`);
}

export function writeState(state: LabState): void {
  mkdirSync(labsDir(), { recursive: true, mode: 0o700 });
  const file = statePath(state.lab);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readState(lab: string): LabState | null {
  let text: string;
  try {
    text = readFileSync(statePath(lab), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as LabState;
  } catch (err) {
    throw new UserError(`lab state ${statePath(lab)}: not JSON (${(err as Error).message}); remove the lab's namespaces by hand`);
  }
}

export function removeState(lab: string): void {
  rmSync(statePath(lab), { force: true });
}

export function listLabs(): string[] {
  try {
    return readdirSync(labsDir()).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

/** The start time of a live process, or undefined if there is none with that PID. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and ')': fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie is gone for our purposes
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the recorded process is still the one we started. */
export function isAlive(p: ProcessRecord): boolean {
  return processStartTime(p.pid) === p.startTime;
}
