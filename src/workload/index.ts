/**
 * Workloads without an orchestrator: a network namespace standing for a container, wired by
 * the CNI ADD path (`tortie workload add|del|list`). Modes, as the seed's single-host ones:
 *   tortie        a namespace `tw-NAME` with eth0 from the CNI plugin (address, routes, endpoint)
 *   none          a namespace `tw-NAME` with loopback only
 *   host          no namespace of its own: the host's (recorded only)
 *   container:X   shares workload X's namespace
 *
 * Each workload is recorded as one JSON file in a state folder (default
 * /run/tortie/workloads), so that del and list find what add made.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { createNetns, deleteNetns, netnsExists, netnsPath } from '../kernel/netns.js';
import type { CniEnv, CniResult } from '../cni/spec.js';
import type { CniOutcome } from '../cni/versions.js';

export const DEFAULT_STATE_DIR = '/run/tortie/workloads';
export const WORKLOAD_NETNS_PREFIX = 'tw-';
export const DEFAULT_NETWORK = 'tortie';

export type NetMode = 'tortie' | 'none' | 'host' | `container:${string}`;

export interface WorkloadRecord {
  name: string;
  node: string;
  net: NetMode;
  /** The named namespace the workload lives in; null: the root namespace (host mode, no --host-netns). */
  netns: string | null;
  /** Whether this workload made (and del deletes) the namespace. */
  ownsNetns: boolean;
  namespace: string;
  labels: Record<string, string>;
  network: string;
  /** The CNI attachment (tortie mode). */
  containerId?: string;
  ifName?: string;
  ips: string[];
  mtu?: number;
  createdAt: string;
}

/** Runs one CNI invocation: in-process (handleCni with deps) or through a node daemon. */
export type CniRunner = (env: CniEnv, stdin: string) => Promise<CniOutcome>;

export interface WorkloadContext {
  stateDir: string;
  /** The named namespace standing for the host (labs and tests); unset: the root namespace. */
  hostNetns?: string;
  cni: CniRunner;
}

export interface AddWorkloadOptions {
  name: string;
  node: string;
  net?: string;
  labels?: Record<string, string>;
  namespace?: string;
  network?: string;
  mtu?: number;
}

export class WorkloadError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkloadError';
  }
}

export function checkWorkloadName(name: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    throw new WorkloadError(`workload name "${name}": use 1-40 lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
}

export function parseNetMode(text: string): NetMode {
  if (text === 'tortie' || text === 'none' || text === 'host') return text;
  const m = /^container:(.+)$/.exec(text);
  if (m) {
    checkWorkloadName(m[1]!);
    return `container:${m[1]!}`;
  }
  throw new WorkloadError(`--net "${text}": use tortie, none, host or container:NAME`);
}

function recordPath(ctx: WorkloadContext, name: string): string {
  return join(ctx.stateDir, `${name}.json`);
}

function writeRecord(ctx: WorkloadContext, rec: WorkloadRecord): void {
  mkdirSync(ctx.stateDir, { recursive: true, mode: 0o700 });
  const file = recordPath(ctx, rec.name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readRecord(ctx: WorkloadContext, name: string): WorkloadRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(ctx, name), 'utf8')) as WorkloadRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new WorkloadError(`workload record ${recordPath(ctx, name)}: ${(err as Error).message}`);
  }
}

function allRecords(ctx: WorkloadContext): WorkloadRecord[] {
  let files: string[];
  try {
    files = readdirSync(ctx.stateDir).filter((f) => f.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return files.sort().flatMap((f) => {
    const rec = readRecord(ctx, f.slice(0, -'.json'.length));
    return rec ? [rec] : [];
  });
}

function networkConfig(rec: WorkloadRecord): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: rec.network, type: 'tortie', nodename: rec.node, ...(rec.mtu ? { mtu: rec.mtu } : {}) });
}

function cniEnv(command: string, rec: WorkloadRecord): CniEnv {
  const args = [`TORTIE_WORKLOAD=${rec.name}`, `TORTIE_NAMESPACE=${rec.namespace}`];
  const labels = Object.entries(rec.labels).map(([k, v]) => `${k}=${v}`).join(',');
  if (labels) args.push(`TORTIE_LABELS=${labels}`);
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rec.containerId,
    CNI_NETNS: rec.netns ? netnsPath(rec.netns) : undefined,
    CNI_IFNAME: rec.ifName,
    CNI_ARGS: args.join(';'),
    CNI_PATH: '',
  };
}

/** Runs a CNI command for a workload; a CNI error becomes one line naming the workload. */
async function runCni(ctx: WorkloadContext, command: string, rec: WorkloadRecord): Promise<string> {
  const out = await ctx.cni(cniEnv(command, rec), networkConfig(rec));
  if (out.exitCode !== 0) {
    let msg = out.stdout;
    try {
      const e = JSON.parse(out.stdout) as { code?: number; msg?: string };
      msg = `${e.msg} (CNI error ${e.code})`;
    } catch {
      // not JSON: print as is
    }
    throw new WorkloadError(`workload ${rec.name}: CNI ${command} failed: ${msg.trim()}`);
  }
  return out.stdout;
}

export async function addWorkload(opts: AddWorkloadOptions, ctx: WorkloadContext): Promise<WorkloadRecord> {
  checkWorkloadName(opts.name);
  const net = parseNetMode(opts.net ?? 'tortie');
  if (!opts.node) throw new WorkloadError('workload add: --node is required');
  if (readRecord(ctx, opts.name)) throw new WorkloadError(`workload ${opts.name} exists already (workload del ${opts.name} first)`);
  const rec: WorkloadRecord = {
    name: opts.name,
    node: opts.node,
    net,
    netns: null,
    ownsNetns: false,
    namespace: opts.namespace ?? 'default',
    labels: opts.labels ?? {},
    network: opts.network ?? DEFAULT_NETWORK,
    ips: [],
    ...(opts.mtu ? { mtu: opts.mtu } : {}),
    createdAt: new Date().toISOString(),
  };
  if (net === 'host') {
    rec.netns = ctx.hostNetns ?? null;
    writeRecord(ctx, rec);
    return rec;
  }
  if (net.startsWith('container:')) {
    const other = readRecord(ctx, net.slice('container:'.length));
    if (!other) throw new WorkloadError(`--net ${net}: no workload ${net.slice('container:'.length)}`);
    rec.netns = other.netns;
    rec.ips = other.ips;
    writeRecord(ctx, rec);
    return rec;
  }
  const netns = `${WORKLOAD_NETNS_PREFIX}${opts.name}`;
  if (netnsExists(netns)) throw new WorkloadError(`network namespace ${netns} exists already, but no workload ${opts.name} is recorded; delete it (ip netns delete ${netns}) if it is a leftover`);
  rec.netns = netns;
  rec.ownsNetns = true;
  // Recorded before anything is made, so that del can clean up after a crash in between.
  writeRecord(ctx, rec);
  try {
    await createNetns(netns);
    if (net === 'tortie') {
      rec.containerId = netns;
      rec.ifName = 'eth0';
      writeRecord(ctx, rec);
      const result = JSON.parse(await runCni(ctx, 'ADD', rec)) as CniResult;
      rec.ips = (result.ips ?? []).map((i) => i.address.split('/')[0]!);
      writeRecord(ctx, rec);
    }
    return rec;
  } catch (err) {
    await delWorkload(opts.name, ctx).catch(() => undefined);
    throw err;
  }
}

export async function delWorkload(name: string, ctx: WorkloadContext): Promise<WorkloadRecord> {
  checkWorkloadName(name);
  const rec = readRecord(ctx, name);
  if (!rec) throw new WorkloadError(`no workload ${name}`);
  if (rec.ownsNetns) {
    const sharing = allRecords(ctx).filter((r) => r.net === `container:${name}`).map((r) => r.name);
    if (sharing.length > 0) throw new WorkloadError(`workload ${name}: ${sharing.join(', ')} share its namespace; delete them first`);
  }
  if (rec.containerId) await runCni(ctx, 'DEL', rec);
  if (rec.ownsNetns && rec.netns && netnsExists(rec.netns)) await deleteNetns(rec.netns);
  rmSync(recordPath(ctx, name), { force: true });
  return rec;
}

export interface WorkloadListing extends WorkloadRecord {
  /** Whether its namespace is there (always true for host mode without --host-netns). */
  present: boolean;
}

export function listWorkloads(ctx: WorkloadContext): WorkloadListing[] {
  return allRecords(ctx).map((r) => ({ ...r, present: r.netns === null || netnsExists(r.netns) }));
}
