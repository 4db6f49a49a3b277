/**
 * `ipam check`: compares IPAM's records with each other and with the rest of the datastore,
 * and lists every inconsistency as a problem an operator (or `release --from-report`) can act
 * on. `fixFromReport` repairs what a report lists, re-checking each item against the store
 * as it is now, and changing it only by compare-and-swap on what it re-read.
 *
 * Leaks: an address whose purpose is "workload" (the CNI plugin's) is a leak when no live
 * WorkloadEndpoint carries it. Addresses made for other purposes ("script" for `tortie ipam
 * assign`, "tunnel" for the node's own) have no endpoint by design: they are leaks only when
 * the node they were made for no longer exists.
 */
import type { KV, TxnOp } from '../datastore/kv.js';
import { isCasFailure } from './cas.js';
import type { Cidr } from './addr.js';
import { canonicalIp, contains, parseCidr, parseIp } from './addr.js';
import type { AllocationAttrs, BlockRecord } from './block.js';
import { allocatedOrdinals, blockCidr, decodeBlock, ipOfOrdinal } from './block.js';
import type { IpamConfigSource } from './config.js';
import type { Ipam } from './ipam.js';
import { affinityKey, affinityNode, blockKey } from './keys.js';
import type { IpamState } from './state.js';
import { readIpamState } from './state.js';

export type ProblemKind =
  | 'leaked-allocation'
  | 'endpoint-without-allocation'
  | 'address-outside-pools'
  | 'address-without-handle'
  | 'handle-without-addresses'
  | 'handle-count-mismatch'
  | 'block-of-deleted-node'
  | 'stale-affinity';

export interface Problem {
  kind: ProblemKind;
  /** One line for people. */
  message: string;
  ip?: string;
  seq?: number;
  handle?: string;
  block?: string;
  node?: string;
  endpoint?: string;
  attrs?: AllocationAttrs;
}

export interface CheckReport {
  kind: 'IpamCheckReport';
  version: 1;
  datastore: string;
  checkedAt: string;
  /** Store revision the IPAM records were read at. */
  revision: number;
  summary: { blocks: number; allocations: number; handles: number; endpoints: number };
  problems: Problem[];
}

interface Context {
  state: IpamState;
  pools: Cidr[];
  liveIps: Map<string, string>;
  nodeExists: (node: string) => Promise<boolean>;
}

function endpointName(ep: { name: string; namespace?: string }): string {
  return ep.namespace ? `${ep.namespace}/${ep.name}` : ep.name;
}

async function context(kv: KV, source: IpamConfigSource): Promise<Context & { endpoints: { name: string; ips: string[] }[] }> {
  const state = await readIpamState(kv);
  const [pools, endpoints] = await Promise.all([source.pools(), source.liveWorkloadEndpoints()]);
  const liveIps = new Map<string, string>();
  const eps = endpoints.map((ep) => {
    const ips = ep.ips.map((n) => canonicalIp(n.split('/')[0]!) ?? n);
    for (const ip of ips) liveIps.set(ip, endpointName(ep));
    return { name: endpointName(ep), ips };
  });
  const known = new Map<string, Promise<boolean>>();
  const nodeExists = (node: string) => {
    if (!known.has(node)) known.set(node, source.nodeExists(node));
    return known.get(node)!;
  };
  const poolCidrs = pools.map((p) => parseCidr(p.cidr)).filter((c): c is Cidr => typeof c !== 'string');
  return { state, pools: poolCidrs, liveIps, nodeExists, endpoints: eps };
}

function inPools(pools: Cidr[], ip: string): boolean {
  const p = parseIp(ip)!;
  return pools.some((c) => contains(c, p.family, p.value));
}

/** Why an allocation is a leak, or null if it is not. */
async function leakReason(ctx: Context, ip: string, attrs: AllocationAttrs): Promise<string | null> {
  const purpose = attrs.purpose ?? 'workload';
  if (purpose === 'workload') {
    if (ctx.liveIps.has(ip)) return null;
    return 'no live workload endpoint carries it';
  }
  if (attrs.node && !(await ctx.nodeExists(attrs.node))) return `its node "${attrs.node}" no longer exists`;
  return null;
}

function who(handle: string, attrs: AllocationAttrs): string {
  const parts = [`handle "${handle}"`];
  if (attrs.purpose) parts.push(`purpose ${attrs.purpose}`);
  if (attrs.node) parts.push(`node ${attrs.node}`);
  if (attrs.workload) parts.push(`workload ${attrs.namespace ? `${attrs.namespace}/` : ''}${attrs.workload}`);
  return parts.join(', ');
}

export async function checkIpam(kv: KV, source: IpamConfigSource, now: Date = new Date()): Promise<CheckReport> {
  const ctx = await context(kv, source);
  const problems: Problem[] = [];
  const allocated = new Set<string>();
  const actual = new Map<string, Map<string, number>>(); // handle -> block -> count
  let allocations = 0;
  const blocksByCidr = new Map<string, BlockRecord>();

  for (const { value: b } of ctx.state.blocks) {
    blocksByCidr.set(b.cidr, b);
    const owner = affinityNode(b.affinity);
    if (owner && !(await ctx.nodeExists(owner))) {
      problems.push({ kind: 'block-of-deleted-node', block: b.cidr, node: owner, message: `block ${b.cidr} is held by node "${owner}", which no longer exists` });
    }
    for (const { ordinal, holder } of allocatedOrdinals(b)) {
      allocations++;
      const ip = ipOfOrdinal(b, ordinal);
      allocated.add(ip);
      const perBlock = actual.get(holder.handle) ?? new Map<string, number>();
      perBlock.set(b.cidr, (perBlock.get(b.cidr) ?? 0) + 1);
      actual.set(holder.handle, perBlock);
      const base = { ip, seq: holder.seq, handle: holder.handle, block: b.cidr, attrs: holder.attrs };
      if (!inPools(ctx.pools, ip)) {
        problems.push({ ...base, kind: 'address-outside-pools', message: `${ip} (${who(holder.handle, holder.attrs)}) is outside every IP pool` });
        continue;
      }
      const leak = await leakReason(ctx, ip, holder.attrs);
      if (leak) problems.push({ ...base, kind: 'leaked-allocation', message: `${ip} (${who(holder.handle, holder.attrs)}) is leaked: ${leak}` });
      if (!ctx.state.handles.has(holder.handle)) {
        problems.push({ ...base, kind: 'address-without-handle', message: `${ip} is held by handle "${holder.handle}", which has no handle record` });
      }
    }
  }

  for (const [id, h] of ctx.state.handles) {
    const real = actual.get(id);
    if (!real) {
      problems.push({ kind: 'handle-without-addresses', handle: id, message: `handle "${id}" holds no address` });
      continue;
    }
    const recorded = h.value.blocks;
    const same = real.size === Object.keys(recorded).length && [...real].every(([c, n]) => recorded[c] === n);
    if (!same) {
      const show = (m: Record<string, number>) => JSON.stringify(m);
      problems.push({ kind: 'handle-count-mismatch', handle: id, message: `handle "${id}" counts ${show(recorded)} but the blocks hold ${show(Object.fromEntries(real))}` });
    }
  }

  for (const { value: a } of ctx.state.affinities) {
    const b = blocksByCidr.get(a.cidr);
    if (!b || affinityNode(b.affinity) !== a.node) {
      problems.push({ kind: 'stale-affinity', node: a.node, block: a.cidr, message: `node "${a.node}" has an affinity for block ${a.cidr}, which ${b ? `is held by ${b.affinity ?? 'no host'}` : 'does not exist'}` });
    }
  }

  for (const ep of ctx.endpoints) {
    for (const ip of ep.ips) {
      if (!allocated.has(ip)) problems.push({ kind: 'endpoint-without-allocation', ip, endpoint: ep.name, message: `workload endpoint ${ep.name} uses ${ip}, which IPAM has not allocated` });
    }
  }

  return {
    kind: 'IpamCheckReport',
    version: 1,
    datastore: kv.url,
    checkedAt: now.toISOString(),
    revision: ctx.state.revision,
    summary: { blocks: ctx.state.blocks.length, allocations, handles: ctx.state.handles.size, endpoints: ctx.endpoints.length },
    problems,
  };
}

export type FixAction = 'fixed' | 'already-gone' | 'skipped';

export interface FixOutcome {
  problem: Problem;
  action: FixAction;
  detail: string;
}

/** Reads a report written by `ipam check -o FILE`; `where` names the file for errors. */
export function parseReport(text: string, where: string, fail: (msg: string) => Error): CheckReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail(`${where}: not JSON (${(err as Error).message})`);
  }
  const r = doc as CheckReport;
  if (r?.kind !== 'IpamCheckReport' || !Array.isArray(r.problems)) throw fail(`${where}: not an IPAM check report (kind "IpamCheckReport" with a problems list)`);
  r.problems.forEach((p, i) => {
    if (typeof p?.kind !== 'string') throw fail(`${where}: problems[${i}] has no kind`);
    if (p.ip !== undefined && canonicalIp(p.ip) === null) throw fail(`${where}: problems[${i}].ip "${p.ip}" is not an IP address`);
  });
  return r;
}

/**
 * Repairs what a report lists. Each item is re-checked against the store now: an item that
 * is no longer a problem (the address was released, re-allocated — its sequence number
 * differs —, its endpoint appeared) is left alone.
 */
export async function fixFromReport(ipam: Ipam, report: CheckReport): Promise<FixOutcome[]> {
  const ctx = await context(ipam.kv, ipam.source);
  const blocks = new Map(ctx.state.blocks.map((b) => [b.value.cidr, b]));
  const holderAt = (ip: string) => {
    const p = parseIp(ip)!;
    for (const b of blocks.values()) {
      const c = blockCidr(b.value);
      if (!contains(c, p.family, p.value)) continue;
      const ordinal = Number(p.value - c.base);
      const hit = allocatedOrdinals(b.value).find((a) => a.ordinal === ordinal);
      return hit ? { ...hit.holder, block: b } : null;
    }
    return null;
  };
  const out: FixOutcome[] = [];
  const nodesReleased = new Set<string>();
  for (const problem of report.problems) {
    const done = (action: FixAction, detail: string) => out.push({ problem, action, detail });
    switch (problem.kind) {
      case 'leaked-allocation':
      case 'address-without-handle':
      case 'address-outside-pools': {
        const ip = canonicalIp(problem.ip ?? '')!;
        const h = holderAt(ip);
        if (!h || h.seq !== problem.seq || h.handle !== problem.handle) {
          done('already-gone', `${ip} is no longer held by that allocation`);
          break;
        }
        const still =
          problem.kind === 'leaked-allocation'
            ? (await leakReason(ctx, ip, h.attrs)) !== null
            : problem.kind === 'address-without-handle'
              ? !ctx.state.handles.has(h.handle)
              : !inPools(ctx.pools, ip);
        if (!still) {
          done('already-gone', `${ip} is no longer a problem`);
          break;
        }
        const [r] = await ipam.releaseIps([{ ip, seq: problem.seq, handle: problem.handle }]);
        done(r!.status === 'released' ? 'fixed' : 'already-gone', `${ip}: ${r!.status}`);
        break;
      }
      case 'handle-without-addresses':
      case 'handle-count-mismatch': {
        const id = problem.handle ?? '';
        const h = ctx.state.handles.get(id);
        if (!h) {
          done('already-gone', `handle "${id}" no longer exists`);
          break;
        }
        done(...(await repairHandle(ipam.kv, id)));
        break;
      }
      case 'block-of-deleted-node':
      case 'stale-affinity': {
        const node = problem.node ?? '';
        if (await ipam.source.nodeExists(node)) {
          if (problem.kind === 'block-of-deleted-node') {
            done('already-gone', `node "${node}" exists again`);
            break;
          }
        }
        if (nodesReleased.has(node)) {
          done('fixed', `released with node "${node}"`);
          break;
        }
        if (problem.kind === 'stale-affinity' && (await ipam.source.nodeExists(node))) {
          done(...(await removeStaleAffinity(ipam.kv, node, problem.block ?? '')));
          break;
        }
        const s = await ipam.releaseNode(node);
        nodesReleased.add(node);
        done('fixed', `node "${node}": ${s.affinitiesReleased.length} affinities and ${s.addressesReleased.length} addresses released, ${s.addressesKept.length} kept for live endpoints`);
        break;
      }
      case 'endpoint-without-allocation':
        done('skipped', `${problem.endpoint} uses ${problem.ip} without an allocation; assign it (tortie ipam assign --ip) or re-create the workload`);
        break;
      default:
        done('skipped', `unknown problem kind "${String((problem as Problem).kind)}"`);
    }
  }
  return out;
}

/** Rewrites a handle's counts from what the blocks hold now (deletes it if they hold nothing). */
async function repairHandle(kv: KV, id: string): Promise<[FixAction, string]> {
  // Earlier fixes in this run may have changed blocks: decide on a fresh snapshot.
  const state = await readIpamState(kv);
  const h = state.handles.get(id);
  if (!h) return ['already-gone', `handle "${id}" no longer exists`];
  const counts: Record<string, number> = {};
  const checks: TxnOp[] = [];
  for (const b of state.blocks) {
    const n = allocatedOrdinals(b.value).filter((a) => a.holder.handle === id).length;
    if (n > 0) {
      counts[b.value.cidr] = n;
      checks.push({ op: 'check', key: b.key, expectRevision: b.rev });
    }
  }
  try {
    if (Object.keys(counts).length === 0) {
      await kv.txn([{ op: 'delete', key: h.key, expectRevision: h.rev }]);
      return ['fixed', `handle "${id}" deleted`];
    }
    if (JSON.stringify(counts) === JSON.stringify(h.value.blocks)) return ['already-gone', `handle "${id}" counts right now`];
    await kv.txn([{ op: 'update', key: h.key, value: JSON.stringify({ ...h.value, blocks: counts }), expectRevision: h.rev }, ...checks]);
    return ['fixed', `handle "${id}" now counts ${JSON.stringify(counts)}`];
  } catch (err) {
    if (isCasFailure(err)) return ['already-gone', `handle "${id}" changed since it was read; run check again`];
    throw err;
  }
}

/** Deletes a node's affinity for a block that is gone or held by another host (re-read now). */
async function removeStaleAffinity(kv: KV, node: string, cidr: string): Promise<[FixAction, string]> {
  const what = `affinity of "${node}" for ${cidr}`;
  const a = await kv.get(affinityKey(node, cidr));
  if (!a) return ['already-gone', `${what} no longer exists`];
  const b = await kv.get(blockKey(cidr));
  if (b && affinityNode(decodeBlock(b.value, b.key).affinity) === node) return ['already-gone', `block ${cidr} is held by "${node}" again`];
  try {
    await kv.txn([{ op: 'delete', key: a.key, expectRevision: a.modRevision }, { op: 'check', key: blockKey(cidr), expectRevision: b?.modRevision ?? 0 }]);
    return ['fixed', `${what} deleted`];
  } catch (err) {
    if (isCasFailure(err)) return ['already-gone', `${what} changed since it was read; run check again`];
    throw err;
  }
}
