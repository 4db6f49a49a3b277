/**
 * Workloads without an orchestrator: a network namespace standing for a container, wired by
 * the CNI ADD path (`tortie workload add|del|list`). Modes, as the seed's single-host ones:
 *   tortie        a namespace `tw-NAME` with eth0 from the CNI plugin (address, routes, endpoint)
 *   none          a namespace `tw-NAME` with loopback only
 *   host          no namespace of its own: the host's (recorded only)
 *   container:X   shares workload X's namespace
 *   bridge[:BR]   a namespace `tw-NAME` with eth0 on a Linux bridge BR of the host (default
 *                 tortie-br0) whose subnet is an IPPool's CIDR, NAT outgoing (modes/bridge.ts)
 *   macvlan:P     a namespace `tw-NAME` with eth0 a macvlan child of the host's interface P,
 *                 an address from an IPPool inside P's subnet (modes/macvlan.ts)
 *
 * The bridge and macvlan modes take their addresses from IPAM directly (one handle per
 * workload, purpose "bridge" or "macvlan"), not through the CNI plugin: they make no
 * WorkloadEndpoint and no host route, as docker's bridge and macvlan drivers.
 *
 * Each workload is recorded as one JSON file in a state folder (default
 * /run/tortie/workloads), so that del and list find what add made.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkloadError } from './errors.js';
import { createHash } from 'node:crypto';
import { createNetns, deleteNetns, netnsExists, netnsPath } from '../kernel/netns.js';
import type { CniEnv, CniResult } from '../cni/spec.js';
import type { CniOutcome } from '../cni/versions.js';
import type { Ipam } from '../ipam/ipam.js';
import type { IpPoolInfo } from '../ipam/config.js';
import { AddressInUseError } from '../ipam/errors.js';
import { attachToBridge, checkBridgeName, DEFAULT_BRIDGE, detachFromBridge, ensureBridge, removeBridge } from './modes/bridge.js';
import { attachMacvlan, checkParentName, detachMacvlan, readParent } from './modes/macvlan.js';
import { inSubnet, subnetOf, type Subnet4 } from './modes/subnet.js';

export const DEFAULT_STATE_DIR = '/run/tortie/workloads';
export const WORKLOAD_NETNS_PREFIX = 'tw-';
export const DEFAULT_NETWORK = 'tortie';

export type NetMode = 'tortie' | 'none' | 'host' | `container:${string}` | `bridge:${string}` | `macvlan:${string}`;
export type ModeKind = 'tortie' | 'none' | 'host' | 'container' | 'bridge' | 'macvlan';

export function modeKind(net: NetMode): ModeKind {
  return net.split(':')[0] as ModeKind;
}

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
  /** Bridge and macvlan modes: the host namespace (null: the root one) the bridge or parent is in. */
  hostNetns?: string | null;
  /** Bridge mode: the bridge; its subnet; the workload's veth end on the bridge. */
  bridge?: string;
  subnet?: string;
  hostIf?: string;
  /** Macvlan mode: the host's interface the child hangs off. */
  parent?: string;
  /** Bridge and macvlan modes: the IPPool, the IPAM handle, the default gateway. */
  pool?: string;
  handle?: string;
  gateway?: string;
  createdAt: string;
}

/** Runs one CNI invocation: in-process (handleCni with deps) or through a node daemon. */
export type CniRunner = (env: CniEnv, stdin: string) => Promise<CniOutcome>;

export interface WorkloadContext {
  stateDir: string;
  /** The named namespace standing for the host (labs and tests); unset: the root namespace. */
  hostNetns?: string;
  cni: CniRunner;
  /** IPAM, for the bridge and macvlan modes (their addresses do not go through CNI). */
  ipam?: WorkloadIpam;
}

export interface WorkloadIpam {
  ipam: Ipam;
  pools(): Promise<IpPoolInfo[]>;
}

export interface AddWorkloadOptions {
  name: string;
  node: string;
  net?: string;
  labels?: Record<string, string>;
  namespace?: string;
  network?: string;
  mtu?: number;
  /** Bridge mode: the IPPool whose CIDR is the bridge's subnet (default: the pool named as the bridge). Macvlan: required. */
  pool?: string;
  /** Macvlan mode: the default gateway (default: the host's default gateway through the parent, if any). */
  gateway?: string;
}

export { WorkloadError };

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
  if (text === 'bridge') return `bridge:${DEFAULT_BRIDGE}`;
  const b = /^bridge:(.+)$/.exec(text);
  if (b) return `bridge:${checkBridgeName(b[1]!)}`;
  const v = /^macvlan:(.+)$/.exec(text);
  if (v) return `macvlan:${checkParentName(v[1]!)}`;
  throw new WorkloadError(`--net "${text}": use tortie, none, host, container:NAME, bridge[:BRIDGE] or macvlan:PARENT`);
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
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: rec.network,
    type: 'tortie',
    nodename: rec.node,
    ...(rec.mtu ? { mtu: rec.mtu } : {}),
    ...(rec.pool ? { ipam: { type: 'tortie-ipam', ipv4_pools: [rec.pool] } } : {}),
  });
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
  const kind = modeKind(net);
  if ((kind === 'bridge' || kind === 'macvlan') && !ctx.ipam) throw new WorkloadError(`--net ${net}: needs IPAM (a datastore) for its addresses`);
  if (kind === 'macvlan' && !opts.pool) throw new WorkloadError(`--net ${net}: name the IPPool to take the address from with --pool (a pool inside ${net.slice(8)}'s subnet)`);
  if (opts.gateway !== undefined && kind !== 'macvlan') throw new WorkloadError(`--gateway: only for --net macvlan:PARENT`);
  if (opts.pool !== undefined && kind !== 'macvlan' && kind !== 'bridge' && kind !== 'tortie') throw new WorkloadError(`--pool: only for --net tortie, bridge and macvlan:PARENT`);
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
      if (opts.pool) rec.pool = opts.pool;
      rec.containerId = netns;
      rec.ifName = 'eth0';
      writeRecord(ctx, rec);
      const result = JSON.parse(await runCni(ctx, 'ADD', rec)) as CniResult;
      rec.ips = (result.ips ?? []).map((i) => i.address.split('/')[0]!);
      writeRecord(ctx, rec);
    } else if (kind === 'bridge') {
      await addBridgeWorkload(rec, opts, ctx);
    } else if (kind === 'macvlan') {
      await addMacvlanWorkload(rec, opts, ctx);
    }
    return rec;
  } catch (err) {
    await delWorkload(opts.name, ctx).catch(() => undefined);
    throw err;
  }
}

/**
 * Deletes a workload: what its mode made, its addresses, its namespace, its record. Every
 * step succeeds when its object is gone already (a crash half-way, a second del); a
 * workload that is not recorded at all gives null.
 */
export async function delWorkload(name: string, ctx: WorkloadContext): Promise<WorkloadRecord | null> {
  checkWorkloadName(name);
  const rec = readRecord(ctx, name);
  if (!rec) return null;
  if (rec.ownsNetns) {
    const sharing = allRecords(ctx).filter((r) => r.net === `container:${name}`).map((r) => r.name);
    if (sharing.length > 0) throw new WorkloadError(`workload ${name}: ${sharing.join(', ')} share its namespace; delete them first`);
  }
  if (rec.containerId) await runCni(ctx, 'DEL', rec);
  const kind = modeKind(rec.net);
  if (kind === 'bridge') await delBridgeWorkload(rec, ctx);
  if (kind === 'macvlan') await delMacvlanWorkload(rec, ctx);
  if (rec.ownsNetns && rec.netns && netnsExists(rec.netns)) await deleteNetns(rec.netns);
  rmSync(recordPath(ctx, name), { force: true });
  return rec;
}

export interface WorkloadListing extends WorkloadRecord {
  mode: ModeKind;
  /** Whether its namespace is there (always true for host mode without --host-netns). */
  present: boolean;
}

export function listWorkloads(ctx: WorkloadContext): WorkloadListing[] {
  return allRecords(ctx).map((r) => ({ ...r, mode: modeKind(r.net), present: r.netns === null || netnsExists(r.netns) }));
}

// ---------------------------------------------------------------- bridge and macvlan

function needIpam(ctx: WorkloadContext, net: string): WorkloadIpam {
  if (!ctx.ipam) throw new WorkloadError(`workload with --net ${net}: needs IPAM (a datastore) for its addresses`);
  return ctx.ipam;
}

async function findPool(ipam: WorkloadIpam, name: string, what: string): Promise<IpPoolInfo> {
  const pools = await ipam.pools();
  const pool = pools.find((p) => p.name === name);
  if (!pool) {
    const names = pools.map((p) => `${p.name} (${p.cidr})`).join(', ') || 'none';
    throw new WorkloadError(`${what}: no IPPool "${name}" (pools: ${names})`);
  }
  return pool;
}

/** Interface names made of a hash of the host namespace and the workload: ours to find again. */
function linkName(prefix: string, hostNetns: string | null | undefined, name: string): string {
  return prefix + createHash('sha1').update(`${hostNetns ?? ''}/${name}`).digest('hex').slice(0, 15 - prefix.length);
}

/** The IPAM handle of a bridge's own addresses (network, gateway, broadcast) on a node. */
export function bridgeHandle(node: string, bridge: string): string {
  return `tortie.bridge-gw.${node}.${bridge}`;
}

async function assignOne(ipam: WorkloadIpam, rec: WorkloadRecord, pool: IpPoolInfo, purpose: string): Promise<string> {
  const got = await ipam.ipam.assign({ node: rec.node, handle: rec.handle!, family: 4, pool: pool.name, attrs: { purpose, node: rec.node, workload: rec.name, namespace: rec.namespace } });
  return got.ips[0]!.ip;
}

/** Reserves the bridge subnet's network, gateway and broadcast addresses under the bridge's handle (idempotent). */
async function reserveBridgeAddresses(ipam: WorkloadIpam, node: string, bridge: string, subnet: Subnet4): Promise<void> {
  const handle = bridgeHandle(node, bridge);
  for (const ip of [subnet.network, subnet.first, subnet.broadcast]) {
    try {
      await ipam.ipam.assignIp({ ip, node, handle, attrs: { purpose: 'bridge-gateway', node, bridge } });
    } catch (err) {
      if (err instanceof AddressInUseError && err.message.includes(`"${handle}"`)) continue;
      if (err instanceof AddressInUseError) throw new WorkloadError(`bridge ${bridge}: ${subnet.cidr}'s address ${ip} is needed by the bridge, but ${err.message.replace(/^assign: /, '')}; give the bridge a pool of its own`);
      throw err;
    }
  }
}

async function addBridgeWorkload(rec: WorkloadRecord, opts: AddWorkloadOptions, ctx: WorkloadContext): Promise<void> {
  const ipam = needIpam(ctx, rec.net);
  const bridge = rec.net.slice('bridge:'.length);
  const pool = await findPool(ipam, opts.pool ?? bridge, `--net ${rec.net}${opts.pool ? ` --pool ${opts.pool}` : ` (the pool named as the bridge; or --pool)`}`);
  const subnet = subnetOf(pool.cidr, `IPPool "${pool.name}" spec.cidr`);
  // Another workload's bridge of this name must have the same subnet.
  const other = allRecords(ctx).find((r) => r.name !== rec.name && r.net === rec.net && (r.hostNetns ?? null) === (ctx.hostNetns ?? null) && r.subnet);
  if (other && other.subnet !== subnet.cidr) throw new WorkloadError(`--net ${rec.net}: bridge ${bridge} has subnet ${other.subnet} (workload ${other.name}), not ${subnet.cidr} of pool ${pool.name}`);
  Object.assign(rec, { hostNetns: ctx.hostNetns ?? null, bridge, subnet: subnet.cidr, pool: pool.name, gateway: subnet.first, handle: `tortie.bridge.${rec.node}.${rec.name}`, hostIf: linkName('tbr', ctx.hostNetns, rec.name) });
  writeRecord(ctx, rec);
  await reserveBridgeAddresses(ipam, rec.node, bridge, subnet);
  await ensureBridge(ctx.hostNetns, bridge, subnet);
  const ip = await assignOne(ipam, rec, pool, 'bridge');
  rec.ips = [ip];
  writeRecord(ctx, rec);
  await attachToBridge(ctx.hostNetns, { bridge, hostVeth: rec.hostIf!, workloadNetns: rec.netns!, address: `${ip}/${subnet.prefixLength}`, gateway: subnet.first, ...(rec.mtu ? { mtu: rec.mtu } : {}) });
}

async function delBridgeWorkload(rec: WorkloadRecord, ctx: WorkloadContext): Promise<void> {
  const hostNetns = rec.hostNetns ?? undefined;
  const hostUp = hostNetns === undefined || netnsExists(hostNetns);
  if (rec.hostIf && hostUp) await detachFromBridge(hostNetns, rec.hostIf);
  const ipam = needIpam(ctx, rec.net);
  if (rec.handle) await ipam.ipam.releaseByHandle(rec.handle);
  const users = allRecords(ctx).filter((r) => r.name !== rec.name && r.net === rec.net && (r.hostNetns ?? null) === (rec.hostNetns ?? null));
  if (users.length === 0 && rec.bridge) {
    if (hostUp && rec.subnet) await removeBridge(hostNetns, rec.bridge, rec.subnet);
    await ipam.ipam.releaseByHandle(bridgeHandle(rec.node, rec.bridge));
  }
}

async function addMacvlanWorkload(rec: WorkloadRecord, opts: AddWorkloadOptions, ctx: WorkloadContext): Promise<void> {
  const ipam = needIpam(ctx, rec.net);
  const parent = rec.net.slice('macvlan:'.length);
  const info = await readParent(ctx.hostNetns, parent);
  const pool = await findPool(ipam, opts.pool!, `--net ${rec.net} --pool ${opts.pool}`);
  const ps = subnetOf(pool.cidr, `IPPool "${pool.name}" spec.cidr`);
  if (ps.prefixLength < info.subnet.prefixLength || !inSubnet(ps.network, info.subnet)) {
    throw new WorkloadError(`--net ${rec.net} --pool ${pool.name}: the pool's ${pool.cidr} is not inside ${parent}'s subnet ${info.subnet.cidr}`);
  }
  const gateway = opts.gateway ?? info.defaultGateway;
  if (gateway !== undefined && !inSubnet(gateway, info.subnet)) throw new WorkloadError(`--gateway ${gateway}: not an IPv4 address in ${parent}'s subnet ${info.subnet.cidr}`);
  Object.assign(rec, { hostNetns: ctx.hostNetns ?? null, parent, subnet: info.subnet.cidr, pool: pool.name, handle: `tortie.macvlan.${rec.node}.${rec.name}`, ...(gateway ? { gateway } : {}) });
  writeRecord(ctx, rec);
  const ip = await assignOne(ipam, rec, pool, 'macvlan');
  rec.ips = [ip];
  writeRecord(ctx, rec);
  if (ip === info.address || ip === gateway || ip === info.subnet.network || ip === info.subnet.broadcast) {
    throw new WorkloadError(`--net ${rec.net} --pool ${pool.name}: IPAM gave ${ip}, which is the host's, the gateway's or a reserved address of ${info.subnet.cidr}; keep the pool clear of them`);
  }
  await attachMacvlan(ctx.hostNetns, { parent, tempName: linkName('tmv', ctx.hostNetns, rec.name), workloadNetns: rec.netns!, address: `${ip}/${info.subnet.prefixLength}`, ...(gateway ? { gateway } : {}), ...(rec.mtu ? { mtu: rec.mtu } : {}) });
}

async function delMacvlanWorkload(rec: WorkloadRecord, ctx: WorkloadContext): Promise<void> {
  if (rec.netns && netnsExists(rec.netns)) await detachMacvlan(rec.netns);
  if (rec.handle) await needIpam(ctx, rec.net).ipam.releaseByHandle(rec.handle);
}
