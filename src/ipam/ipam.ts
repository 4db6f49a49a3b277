/**
 * The IPAM engine: hands out addresses from per-host blocks kept in the KV store.
 *
 * No global lock. Every write is one transaction that compares the revisions of everything
 * it read: the block, the handles it counts into, the affinity it removes. A lost race
 * re-reads and retries (bounded), or moves on to the next candidate block.
 *
 * The hot path (a host allocating from its own block) is one transaction: the block and the
 * handle are written together, guarded by the revisions this process cached from its own
 * last writes. Reads happen only after a conflict, when a block is full, or on a claim.
 *
 * A claim writes the new block (create-if-absent, already holding the first allocation),
 * its affinity and the handle in one transaction, so no crash can leave an affinity without
 * its block or a block without its affinity. (Calico's pending -> confirmed affinity steps
 * exist because Kubernetes CRDs have no multi-key transactions; our KV has them.)
 */
import { ConflictError } from '../common/errors.js';
import { isCasFailure } from './cas.js';
import { KeyedMutex } from './mutex.js';
import type { KV, TxnOp } from '../datastore/kv.js';
import { logger } from '../log/logger.js';
import type { Cidr, Family } from './addr.js';
import { blockCount, blockOf, canonicalIp, contains, formatCidr, mustParseCidr, nthBlock, parseCidr, parseIp } from './addr.js';
import type { AllocationAttrs, BlockRecord } from './block.js';
import {
  allocate,
  allocateOrdinal,
  allocatedOrdinals,
  blockCidr,
  cloneBlock,
  decodeBlock,
  freeCount,
  holderOf,
  ipOfOrdinal,
  isEmpty,
  newBlock,
  ordinalOf,
  ordinalsOfHandle,
  releaseOrdinals,
} from './block.js';
import type { IpPoolInfo, IpamConfigSource, IpamSettings } from './config.js';
import { AddressInUseError, ExhaustedError, IpamInputError, PoolRefusedError } from './errors.js';
import type { HandleRecord } from './handle.js';
import { adjustHandle, decodeHandle, handleTotal, newHandle } from './handle.js';
import { BLOCKS_PREFIX, affinityKey, affinityNode, blockKey, handleKey, hostAffinity, hostAffinityPrefix } from './keys.js';
import { matchesNodeSelector } from './selector.js';
import type { AffinityRecord, Versioned } from './state.js';
import { decodeAffinity } from './state.js';

const log = logger('ipam');

export interface IpamOptions {
  /** Milliseconds since the epoch; injected so tests can move time. */
  clock?: () => number;
  /** How long a block must stay empty before it and its affinity are released. */
  emptyBlockGraceMs?: number;
  /** Conflicting writes tolerated on one block before giving up with a ConflictError. */
  maxRetries?: number;
  /** How long pools and settings read from the config source are reused. */
  configTtlMs?: number;
}

export interface AssignRequest {
  node: string;
  handle: string;
  attrs?: AllocationAttrs;
  count?: number;
  family?: Family;
  /** Pool name or CIDR; absent: any enabled pool whose nodeSelector matches. */
  pool?: string;
}

export interface AssignedIp {
  ip: string;
  /** Sequence number of this allocation: name it when releasing to be safe from ABA. */
  seq: number;
  block: string;
  pool: string;
}

export interface AssignResult {
  handle: string;
  ips: AssignedIp[];
}

export interface ReleaseItem {
  ip: string;
  /** Release only if the address still carries this allocation's sequence number. */
  seq?: number;
  /** Release only if the address is still held by this handle. */
  handle?: string;
}

export type ReleaseStatus = 'released' | 'not-allocated' | 'sequence-mismatch' | 'handle-mismatch';

export interface ReleaseOutcome {
  ip: string;
  status: ReleaseStatus;
  /** Who held the address (for released and mismatches). */
  handle?: string;
  seq?: number;
}

export interface NodeReleaseSummary {
  node: string;
  affinitiesReleased: string[];
  blocksDeleted: string[];
  addressesReleased: string[];
  /** Addresses kept because a live workload endpoint still uses them. */
  addressesKept: string[];
}

interface PoolView {
  info: IpPoolInfo;
  cidr: Cidr;
}

interface HandleChange {
  /** Added (negative: removed) addresses in the block. */
  delta?: number;
  /** Set the block's count to this instead (repairs a count that drifted). */
  setTo?: number;
  attrs: AllocationAttrs;
}

interface Write {
  /** New block; null deletes it; 'keep' only checks it is unchanged (or still absent). */
  block: BlockRecord | null | 'keep';
  handles?: Map<string, HandleChange>;
  ops?: TxnOp[];
}

interface Plan<T> {
  result: T;
  write?: Write;
}

const HANDLE_CACHE_LIMIT = 4096;


/** FNV-1a: a stable hash of the host name, to spread hosts over a pool's blocks. */
export function hostHash(node: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) {
    h ^= node.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function familyName(f: Family): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

export class Ipam {
  private readonly clock: () => number;
  readonly emptyBlockGraceMs: number;
  private readonly maxRetries: number;
  private readonly configTtlMs: number;
  private configCache: { at: number; pools: PoolView[]; settings: IpamSettings } | null = null;
  /** Blocks this process has read or written, with the revision it saw. */
  private readonly blocks = new Map<string, Versioned<BlockRecord>>();
  /** Blocks affine to each host, as last seen. */
  private readonly hostBlocks = new Map<string, Set<string>>();
  /** Handles as last seen; null: known absent. */
  private readonly handles = new Map<string, Versioned<HandleRecord> | null>();
  private readonly hostLocks = new KeyedMutex();
  private readonly blockLocks = new KeyedMutex();
  /** Transactions that lost a race, for benchmarks and logs. */
  conflicts = 0;

  constructor(
    readonly kv: KV,
    readonly source: IpamConfigSource,
    options: IpamOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.emptyBlockGraceMs = options.emptyBlockGraceMs ?? 5 * 60_000;
    this.maxRetries = options.maxRetries ?? 20;
    this.configTtlMs = options.configTtlMs ?? 1000;
  }

  // ---------------------------------------------------------------- configuration

  private async config(): Promise<{ pools: PoolView[]; settings: IpamSettings }> {
    const now = this.clock();
    if (this.configCache && now - this.configCache.at < this.configTtlMs) return this.configCache;
    const [infos, settings] = await Promise.all([this.source.pools(), this.source.settings()]);
    const pools = infos.map((info) => {
      const cidr = parseCidr(info.cidr);
      if (typeof cidr === 'string') throw new PoolRefusedError(`IPPool "${info.name}": spec.cidr "${info.cidr}" ${cidr}`);
      const max = cidr.family === 4 ? 32 : 128;
      const min = cidr.family === 4 ? 20 : 116;
      if (!Number.isInteger(info.blockSize) || info.blockSize < Math.max(min, cidr.prefix) || info.blockSize > max) {
        throw new PoolRefusedError(`IPPool "${info.name}": spec.blockSize ${info.blockSize} does not fit ${info.cidr} (allowed ${min}-${max}, not shorter than the pool)`);
      }
      return { info, cidr };
    });
    this.configCache = { at: now, pools, settings };
    return this.configCache;
  }

  /** Forget cached pools, settings and labels (after a change the caller knows of). */
  invalidateConfig(): void {
    this.configCache = null;
    this.labelCache.clear();
  }

  private readonly labelCache = new Map<string, { at: number; labels: Record<string, string> }>();

  /** A node's labels, reused for configTtlMs like the pools: read on every assign otherwise. */
  private async nodeLabels(node: string): Promise<Record<string, string>> {
    const now = this.clock();
    const hit = this.labelCache.get(node);
    if (hit && now - hit.at < this.configTtlMs) return hit.labels;
    const labels = (await this.source.nodeLabels(node)) ?? {};
    if (this.labelCache.size > 1024) this.labelCache.clear();
    this.labelCache.set(node, { at: now, labels });
    return labels;
  }

  private async eligiblePools(node: string, family: Family, poolName: string | undefined, purpose: string | undefined): Promise<PoolView[]> {
    const { pools } = await this.config();
    const use = purpose === 'tunnel' ? 'Tunnel' : 'Workload';
    const labels = await this.nodeLabels(node);
    const refusal = (p: PoolView): string | null => {
      if (p.info.disabled) return 'is disabled';
      if (!matchesNodeSelector(p.info.nodeSelector, labels)) return `has nodeSelector "${p.info.nodeSelector}", which node "${node}" does not match`;
      if (p.info.allowedUses && p.info.allowedUses.length > 0 && !p.info.allowedUses.includes(use)) return `does not allow use ${use}`;
      return null;
    };
    if (poolName !== undefined) {
      const canonical = parseCidr(poolName, false);
      const p = pools.find((x) => x.info.name === poolName || (typeof canonical !== 'string' && formatCidr(x.cidr) === formatCidr(canonical)));
      if (!p) throw new PoolRefusedError(`IP pool "${poolName}" does not exist`);
      if (p.cidr.family !== family) throw new PoolRefusedError(`IP pool "${poolName}" (${p.info.cidr}) is not ${familyName(family)}`);
      const why = refusal(p);
      if (why) throw new PoolRefusedError(`IP pool "${p.info.name}" (${p.info.cidr}) ${why}; nothing assigned`);
      return [p];
    }
    const ofFamily = pools.filter((p) => p.cidr.family === family);
    const usable = ofFamily.filter((p) => refusal(p) === null);
    if (usable.length === 0) {
      const why = ofFamily.length === 0 ? `there is no ${familyName(family)} pool` : ofFamily.map((p) => `pool "${p.info.name}" ${refusal(p)}`).join('; ');
      throw new PoolRefusedError(`no ${familyName(family)} pool can serve node "${node}": ${why}`);
    }
    return usable;
  }

  private poolOf(pools: PoolView[], block: Cidr): PoolView | undefined {
    return pools.find((p) => block.prefix >= p.cidr.prefix && contains(p.cidr, block.family, block.base));
  }

  // ---------------------------------------------------------------- caches and reads

  private async readBlock(cidr: string): Promise<Versioned<BlockRecord> | null> {
    const key = blockKey(cidr);
    const kv = await this.kv.get(key);
    if (!kv) {
      this.blocks.delete(cidr);
      return null;
    }
    const v = { key, value: decodeBlock(kv.value, key), rev: kv.modRevision };
    this.blocks.set(cidr, v);
    return v;
  }

  private async readHandle(id: string): Promise<Versioned<HandleRecord> | null> {
    const key = handleKey(id);
    const kv = await this.kv.get(key);
    const v = kv ? { key, value: decodeHandle(kv.value, key), rev: kv.modRevision } : null;
    this.rememberHandle(id, v);
    return v;
  }

  private rememberHandle(id: string, v: Versioned<HandleRecord> | null): void {
    this.handles.delete(id);
    this.handles.set(id, v);
    if (this.handles.size > HANDLE_CACHE_LIMIT) this.handles.delete(this.handles.keys().next().value!);
  }

  /**
   * A handle as cached; unknown handles are read, except when adding to one we have never
   * seen: a new container's handle is almost always new, so we try to create it and read
   * only if that loses.
   */
  private async handleFor(id: string, fresh: boolean, adding: boolean): Promise<Versioned<HandleRecord> | null> {
    if (!fresh && this.handles.has(id)) return this.handles.get(id)!;
    if (!fresh && adding) return null;
    return this.readHandle(id);
  }

  /** Reads the host's affinities and their blocks. */
  private async loadHostBlocks(node: string): Promise<Set<string>> {
    const { items } = await this.kv.list(hostAffinityPrefix(node));
    const cidrs = items.map((kv) => decodeAffinity(kv.value, kv.key).cidr);
    const blocks = await Promise.all(cidrs.map((c) => this.readBlock(c)));
    const mine = new Set<string>();
    blocks.forEach((b, i) => {
      if (b && b.value.affinity === hostAffinity(node)) mine.add(cidrs[i]!);
    });
    this.hostBlocks.set(node, mine);
    return mine;
  }

  private async hostBlockSet(node: string): Promise<Set<string>> {
    return this.hostBlocks.get(node) ?? this.loadHostBlocks(node);
  }

  /** Serializes one process's assignments per host, so that they do not both claim a block. */
  private withHost<T>(node: string, fn: () => Promise<T>): Promise<T> {
    return this.hostLocks.run(node, fn);
  }

  // ---------------------------------------------------------------- the one write primitive

  /**
   * Reads a block (from cache first), lets `plan` decide the change on a private copy, and
   * writes the block with its handles and extra steps in one transaction guarded by every
   * revision read. On a lost race: re-read and plan again, up to maxRetries times.
   */
  private changeBlock<T>(
    cidr: string,
    plan: (current: BlockRecord | null, rev: number) => Plan<T> | Promise<Plan<T>>,
    options: { assumeAbsent?: boolean } = {},
  ): Promise<T> {
    return this.blockLocks.run(cidr, () => this.changeBlockNow(cidr, plan, options));
  }

  private async changeBlockNow<T>(
    cidr: string,
    plan: (current: BlockRecord | null, rev: number) => Plan<T> | Promise<Plan<T>>,
    options: { assumeAbsent?: boolean },
  ): Promise<T> {
    const key = blockKey(cidr);
    let fresh = false;
    for (let attempt = 0; ; attempt++) {
      let cur: Versioned<BlockRecord> | null;
      if (!fresh && this.blocks.has(cidr)) cur = this.blocks.get(cidr)!;
      else if (!fresh && options.assumeAbsent) cur = null;
      else cur = await this.readBlock(cidr);
      const p = await plan(cur ? cloneBlock(cur.value) : null, cur?.rev ?? 0);
      if (!p.write) return p.result;
      const w = p.write;
      const ops: TxnOp[] = [];
      if (w.block === 'keep') ops.push({ op: 'check', key, expectRevision: cur?.rev ?? 0 });
      else if (w.block === null) {
        if (cur) ops.push({ op: 'delete', key, expectRevision: cur.rev });
      } else if (cur) ops.push({ op: 'update', key, value: JSON.stringify(w.block), expectRevision: cur.rev });
      else ops.push({ op: 'create', key, value: JSON.stringify(w.block) });
      const blockOps = ops.length;
      const handleWrites: { id: string; key: string; next: HandleRecord | null }[] = [];
      for (const [id, change] of w.handles ?? []) {
        if (change.delta === 0 && change.setTo === undefined) continue;
        const h = await this.handleFor(id, fresh, (change.delta ?? 0) > 0);
        const base = h?.value ?? newHandle(id, change.attrs);
        const delta = change.setTo !== undefined ? change.setTo - (base.blocks[cidr] ?? 0) : change.delta!;
        if (!h && delta <= 0) continue; // nothing to take from a handle that does not exist
        const next = adjustHandle(base, cidr, delta);
        const hk = handleKey(id);
        if (handleTotal(next) === 0) {
          ops.push({ op: 'delete', key: hk, expectRevision: h!.rev });
          handleWrites.push({ id, key: hk, next: null });
        } else if (h) {
          ops.push({ op: 'update', key: hk, value: JSON.stringify(next), expectRevision: h.rev });
          handleWrites.push({ id, key: hk, next });
        } else {
          ops.push({ op: 'create', key: hk, value: JSON.stringify(next) });
          handleWrites.push({ id, key: hk, next });
        }
      }
      ops.push(...(w.ops ?? []));
      try {
        const res = await this.kv.txn(ops);
        if (w.block === null) this.blocks.delete(cidr);
        else if (w.block !== 'keep') this.blocks.set(cidr, { key, value: w.block, rev: res.results[0]!.modRevision });
        handleWrites.forEach((hw, i) => {
          const written = res.results[blockOps + i];
          this.rememberHandle(hw.id, hw.next && written ? { key: hw.key, value: hw.next, rev: written.modRevision } : null);
        });
        return p.result;
      } catch (err) {
        // Whatever happened, what we cached for these keys can no longer be trusted.
        this.blocks.delete(cidr);
        for (const hw of handleWrites) this.handles.delete(hw.id);
        if (!isCasFailure(err)) throw err;
        this.conflicts++;
        if (attempt >= this.maxRetries) {
          throw new ConflictError(`block ${cidr}: gave up after ${attempt + 1} writes lost to concurrent changes (last: ${(err as Error).message})`);
        }
        fresh = true;
        // Jittered backoff keeps two writers of one block from colliding in lock step.
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** (attempt + 1))));
      }
    }
  }

  // ---------------------------------------------------------------- assign

  /** Assigns `count` addresses to a handle on a node; all of them or none. */
  async assign(req: AssignRequest): Promise<AssignResult> {
    const node = req.node?.trim();
    if (!node) throw new IpamInputError('assign: the node name is empty');
    if (!req.handle) throw new IpamInputError('assign: the handle is empty');
    const count = req.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 65536) throw new IpamInputError(`assign: count ${req.count} is not a whole number from 1 to 65536`);
    const family = req.family ?? 4;
    if (family !== 4 && family !== 6) throw new IpamInputError(`assign: family ${String(family)} is neither 4 nor 6`);
    const attrs: AllocationAttrs = { purpose: 'workload', node, ...req.attrs };
    const pools = await this.eligiblePools(node, family, req.pool, attrs.purpose);
    const { settings } = await this.config();
    return this.withHost(node, async () => {
      const got: AssignedIp[] = [];
      try {
        await this.fromOwnBlocks(node, pools, req.handle, attrs, count, got, false);
        if (got.length < count) await this.fromOwnBlocks(node, pools, req.handle, attrs, count, got, true);
        let claimRefusal = '';
        while (got.length < count) {
          const outcome = await this.claimAndAllocate(node, pools, settings, req.handle, attrs, count - got.length, got);
          if (outcome !== 'claimed') {
            claimRefusal = outcome;
            break;
          }
        }
        if (got.length < count && !settings.strictAffinity) await this.borrow(node, pools, req.handle, attrs, count - got.length, got);
        if (got.length < count) {
          const where = pools.map((p) => p.info.cidr).join(', ');
          const why = settings.strictAffinity ? `${claimRefusal}, and strictAffinity forbids borrowing` : `${claimRefusal}, and no other block has a free address`;
          throw new ExhaustedError(`no free ${familyName(family)} address for node "${node}" in ${where}: ${why} (wanted ${count}, found ${got.length}; nothing assigned)`);
        }
      } catch (err) {
        if (got.length > 0) await this.rollback(got, req.handle);
        throw err;
      }
      return { handle: req.handle, ips: got };
    });
  }

  private async rollback(got: AssignedIp[], handle: string): Promise<void> {
    try {
      await this.releaseIps(got.map((g) => ({ ip: g.ip, seq: g.seq, handle })));
    } catch (err) {
      // The addresses stay under the handle; releasing the handle (CNI DEL) frees them.
      log.warn({ err, handle, ips: got.map((g) => g.ip) }, 'could not undo a partial assignment');
    }
  }

  private allocatePlan(node: string | null, handle: string, attrs: AllocationAttrs, want: number, pool: string) {
    return (cur: BlockRecord | null): Plan<AssignedIp[]> => {
      if (!cur) return { result: [] };
      if (node !== null && cur.affinity !== hostAffinity(node)) return { result: [] };
      const taken = allocate(cur, want, handle, attrs);
      if (taken.length === 0) return { result: [] };
      return {
        result: taken.map((t) => ({ ip: t.ip, seq: t.seq, block: cur.cidr, pool })),
        write: { block: cur, handles: new Map([[handle, { delta: taken.length, attrs }]]) },
      };
    };
  }

  private async fromOwnBlocks(node: string, pools: PoolView[], handle: string, attrs: AllocationAttrs, count: number, got: AssignedIp[], reload: boolean): Promise<void> {
    const mine = reload ? await this.loadHostBlocks(node) : await this.hostBlockSet(node);
    for (const cidr of [...mine].sort()) {
      if (got.length >= count) return;
      const pool = this.poolOf(pools, mustParseCidr(cidr));
      if (!pool) continue;
      const cached = this.blocks.get(cidr);
      if (cached && freeCount(cached.value) === 0) continue;
      const taken = await this.changeBlock(cidr, this.allocatePlan(node, handle, attrs, count - got.length, pool.info.name));
      const now = this.blocks.get(cidr);
      if (!now || now.value.affinity !== hostAffinity(node)) mine.delete(cidr);
      got.push(...taken);
    }
  }

  /** Claims a free block for the host holding the first allocations; says why not if it cannot. */
  private async claimAndAllocate(
    node: string,
    pools: PoolView[],
    settings: IpamSettings,
    handle: string,
    attrs: AllocationAttrs,
    want: number,
    got: AssignedIp[],
  ): Promise<'claimed' | string> {
    const mine = await this.hostBlockSet(node);
    if (settings.maxBlocksPerHost > 0 && mine.size >= settings.maxBlocksPerHost) {
      return `its ${mine.size} blocks are full and maxBlocksPerHost is ${settings.maxBlocksPerHost}`;
    }
    const { items } = await this.kv.list(BLOCKS_PREFIX);
    const existing = new Set(items.map((kv) => decodeBlock(kv.value, kv.key).cidr));
    for (const pool of pools) {
      const n = blockCount(pool.cidr, pool.info.blockSize);
      const taken = [...existing].filter((c) => {
        const b = parseCidr(c);
        return typeof b !== 'string' && contains(pool.cidr, b.family, b.base);
      }).length;
      if (BigInt(taken) >= n) continue;
      // Each host starts at its own point of the pool and walks on from there, so hosts
      // spread out instead of all racing for the first free block.
      const start = BigInt(hostHash(node)) % n;
      const limit = n < BigInt(taken + 4096) ? n : BigInt(taken + 4096);
      for (let i = 0n; i < limit; i++) {
        const block = nthBlock(pool.cidr, pool.info.blockSize, (start + i) % n);
        const cidr = formatCidr(block);
        if (existing.has(cidr)) continue;
        const result = await this.changeBlock(
          cidr,
          (cur): Plan<AssignedIp[] | null> => {
            if (cur) return { result: null };
            const b = newBlock(block, hostAffinity(node));
            const t = allocate(b, want, handle, attrs);
            const affinity: AffinityRecord = { node, cidr, state: 'confirmed' };
            return {
              result: t.map((x) => ({ ip: x.ip, seq: x.seq, block: cidr, pool: pool.info.name })),
              write: {
                block: b,
                handles: new Map([[handle, { delta: t.length, attrs }]]),
                // A put, not a create: with the block absent, any affinity left for it is stale.
                ops: [{ op: 'put', key: affinityKey(node, cidr), value: JSON.stringify(affinity) }],
              },
            };
          },
          { assumeAbsent: true },
        );
        if (result === null) {
          existing.add(cidr);
          continue;
        }
        mine.add(cidr);
        log.debug({ node, block: cidr }, 'claimed block');
        got.push(...result);
        return 'claimed';
      }
    }
    return `its blocks are full and no free block is left`;
  }

  private async borrow(node: string, pools: PoolView[], handle: string, attrs: AllocationAttrs, want: number, got: AssignedIp[]): Promise<void> {
    const { items } = await this.kv.list(BLOCKS_PREFIX);
    const candidates: string[] = [];
    for (const kv of items) {
      const b = decodeBlock(kv.value, kv.key);
      this.blocks.set(b.cidr, { key: kv.key, value: b, rev: kv.modRevision });
      if (b.affinity === hostAffinity(node) || freeCount(b) === 0) continue;
      if (!this.poolOf(pools, blockCidr(b))) continue;
      candidates.push(b.cidr);
    }
    candidates.sort();
    // Borrowers start at different blocks too, so they do not all queue on the same one.
    const start = candidates.length ? hostHash(node) % candidates.length : 0;
    let need = want;
    for (let i = 0; i < candidates.length && need > 0; i++) {
      const cidr = candidates[(start + i) % candidates.length]!;
      const pool = this.poolOf(pools, mustParseCidr(cidr))!;
      const taken = await this.changeBlock(cidr, this.allocatePlan(null, handle, attrs, need, pool.info.name));
      if (taken.length) log.debug({ node, block: cidr, count: taken.length }, 'borrowed addresses');
      need -= taken.length;
      got.push(...taken);
    }
  }

  /** Assigns one named address (a gateway, a fixed workload address). */
  async assignIp(req: { ip: string; node: string; handle: string; attrs?: AllocationAttrs }): Promise<AssignedIp> {
    const node = req.node?.trim();
    if (!node) throw new IpamInputError('assign: the node name is empty');
    if (!req.handle) throw new IpamInputError('assign: the handle is empty');
    const ip = parseIp(req.ip);
    if (!ip) throw new IpamInputError(`assign: "${req.ip}" is not an IP address`);
    const text = canonicalIp(req.ip)!;
    const { pools } = await this.config();
    const pool = pools.find((p) => contains(p.cidr, ip.family, ip.value));
    if (!pool) throw new PoolRefusedError(`assign: ${text} is not inside any IP pool`);
    if (pool.info.disabled) throw new PoolRefusedError(`assign: ${text} is in IP pool "${pool.info.name}" (${pool.info.cidr}), which is disabled; nothing assigned`);
    const attrs: AllocationAttrs = { purpose: 'workload', node, ...req.attrs };
    const block = blockOf(ip.family, ip.value, pool.info.blockSize);
    const cidr = formatCidr(block);
    return this.withHost(node, () =>
      this.changeBlock(cidr, (cur): Plan<AssignedIp> => {
        const creating = cur === null;
        const b = cur ?? newBlock(block, hostAffinity(node));
        const ordinal = ordinalOf(b, text)!;
        const holder = holderOf(b, ordinal);
        if (holder) throw new AddressInUseError(`assign: ${text} is held already by handle "${holder.handle}"`);
        const t = allocateOrdinal(b, ordinal, req.handle, attrs)!;
        const ops: TxnOp[] = creating ? [{ op: 'put', key: affinityKey(node, cidr), value: JSON.stringify({ node, cidr, state: 'confirmed' } satisfies AffinityRecord) }] : [];
        return { result: { ip: t.ip, seq: t.seq, block: cidr, pool: pool.info.name }, write: { block: b, handles: new Map([[req.handle, { delta: 1, attrs }]]), ops } };
      }).then((assigned) => {
        if (this.blocks.get(cidr)?.value.affinity === hostAffinity(node)) this.hostBlocks.get(node)?.add(cidr);
        return assigned;
      }),
    );
  }

  // ---------------------------------------------------------------- release

  /** The block an address lies in, if any: from the pools' block sizes, else by search. */
  private async locateBlocks(ips: string[]): Promise<Map<string, string | null>> {
    const { pools } = await this.config();
    const out = new Map<string, string | null>();
    let all: BlockRecord[] | null = null;
    for (const ip of ips) {
      const p = parseIp(ip)!;
      const pool = pools.find((x) => contains(x.cidr, p.family, p.value));
      if (pool) {
        out.set(ip, formatCidr(blockOf(p.family, p.value, pool.info.blockSize)));
        continue;
      }
      // Outside every pool (its pool was deleted): look for a block that holds it.
      all ??= (await this.kv.list(BLOCKS_PREFIX)).items.map((kv) => decodeBlock(kv.value, kv.key));
      const b = all.find((x) => contains(blockCidr(x), p.family, p.value));
      out.set(ip, b ? b.cidr : null);
    }
    return out;
  }

  /**
   * Releases addresses. Idempotent: an address that is free already reports "not-allocated".
   * An item that names a sequence number or handle is released only if it still matches.
   */
  async releaseIps(items: (string | ReleaseItem)[]): Promise<ReleaseOutcome[]> {
    const wanted: ReleaseItem[] = items.map((it) => {
      const item = typeof it === 'string' ? { ip: it } : it;
      const ip = canonicalIp(item.ip);
      if (!ip) throw new IpamInputError(`release: "${item.ip}" is not an IP address`);
      return { ...item, ip };
    });
    const blocksOf = await this.locateBlocks(wanted.map((w) => w.ip));
    const byBlock = new Map<string, ReleaseItem[]>();
    const outcomes = new Map<string, ReleaseOutcome>();
    for (const w of wanted) {
      const cidr = blocksOf.get(w.ip);
      if (!cidr) {
        outcomes.set(w.ip, { ip: w.ip, status: 'not-allocated' });
        continue;
      }
      byBlock.set(cidr, [...(byBlock.get(cidr) ?? []), w]);
    }
    for (const [cidr, group] of byBlock) {
      const results = await this.changeBlock(cidr, (cur): Plan<ReleaseOutcome[]> => {
        if (!cur) return { result: group.map((g) => ({ ip: g.ip, status: 'not-allocated' as const })) };
        const result: ReleaseOutcome[] = [];
        const ordinals: number[] = [];
        const attrsOf = new Map<string, AllocationAttrs>();
        for (const g of group) {
          const ordinal = ordinalOf(cur, g.ip)!;
          const holder = holderOf(cur, ordinal);
          if (!holder) result.push({ ip: g.ip, status: 'not-allocated' });
          else if (g.seq !== undefined && g.seq !== holder.seq) result.push({ ip: g.ip, status: 'sequence-mismatch', handle: holder.handle, seq: holder.seq });
          else if (g.handle !== undefined && g.handle !== holder.handle) result.push({ ip: g.ip, status: 'handle-mismatch', handle: holder.handle, seq: holder.seq });
          else {
            ordinals.push(ordinal);
            attrsOf.set(holder.handle, holder.attrs);
            result.push({ ip: g.ip, status: 'released', handle: holder.handle, seq: holder.seq });
          }
        }
        if (ordinals.length === 0) return { result };
        const perHandle = releaseOrdinals(cur, ordinals, this.clock());
        const handles = new Map<string, HandleChange>();
        for (const [h, n] of perHandle) handles.set(h, { delta: -n, attrs: attrsOf.get(h) ?? {} });
        return { result, write: { block: cur, handles } };
      });
      for (const r of results) outcomes.set(r.ip, r);
    }
    return wanted.map((w) => outcomes.get(w.ip)!);
  }

  /** Releases every address a handle holds and deletes the handle. Idempotent. */
  async releaseByHandle(handle: string): Promise<string[]> {
    if (!handle) throw new IpamInputError('release: the handle is empty');
    const h = this.handles.get(handle) ?? (await this.readHandle(handle));
    if (!h) return [];
    const released: string[] = [];
    for (const cidr of Object.keys(h.value.blocks)) {
      const ips = await this.changeBlock(cidr, (cur): Plan<string[]> => {
        const attrs = h.value.attrs;
        // The handle counts a block that is gone: drop the count (guarded by the absence).
        if (!cur) return { result: [], write: { block: 'keep', handles: new Map([[handle, { setTo: 0, attrs }]]) } };
        const ordinals = ordinalsOfHandle(cur, handle);
        const ips = ordinals.map((o) => ipOfOrdinal(cur, o));
        releaseOrdinals(cur, ordinals, this.clock());
        return { result: ips, write: { block: ordinals.length ? cur : 'keep', handles: new Map([[handle, { setTo: 0, attrs }]]) } };
      });
      released.push(...ips);
    }
    // A handle that counted nothing (or only blocks gone) may still exist: remove it.
    const left = this.handles.has(handle) ? this.handles.get(handle)! : await this.readHandle(handle);
    if (left && handleTotal(left.value) === 0) {
      try {
        await this.kv.delete(left.key, { expectRevision: left.rev });
      } catch (err) {
        if (!isCasFailure(err)) throw err;
      }
      this.handles.delete(handle);
    }
    return released;
  }

  // ---------------------------------------------------------------- blocks and nodes

  /** The blocks a host holds, with their use. */
  async blocksOfHost(node: string): Promise<{ cidr: string; used: number; free: number; emptySince: number | null }[]> {
    const mine = await this.loadHostBlocks(node);
    return [...mine].sort().map((cidr) => {
      const b = this.blocks.get(cidr)!.value;
      return { cidr, used: b.allocations.length - freeCount(b), free: freeCount(b), emptySince: b.emptySince };
    });
  }

  /**
   * Releases blocks that have stayed empty for the grace period, with their affinities.
   * The node daemon calls this now and then; `node` limits it to one host's blocks.
   */
  async releaseEmptyBlocks(node?: string): Promise<string[]> {
    const now = this.clock();
    const candidates: string[] = [];
    if (node !== undefined) candidates.push(...(await this.loadHostBlocks(node)));
    else {
      const { items } = await this.kv.list(BLOCKS_PREFIX);
      for (const kv of items) {
        const b = decodeBlock(kv.value, kv.key);
        this.blocks.set(b.cidr, { key: kv.key, value: b, rev: kv.modRevision });
        candidates.push(b.cidr);
      }
    }
    const released: string[] = [];
    for (const cidr of candidates) {
      const cached = this.blocks.get(cidr)?.value;
      if (!cached || !isEmpty(cached) || cached.emptySince === null || now - cached.emptySince < this.emptyBlockGraceMs) continue;
      const gone = await this.changeBlock(cidr, async (cur): Promise<Plan<boolean>> => {
        if (!cur || !isEmpty(cur) || cur.emptySince === null || now - cur.emptySince < this.emptyBlockGraceMs) return { result: false };
        return { result: true, write: { block: null, ops: await this.affinityDeleteOps(cur) } };
      });
      if (gone) {
        released.push(cidr);
        const owner = affinityNode(cached.affinity);
        if (owner) this.hostBlocks.get(owner)?.delete(cidr);
      }
    }
    return released;
  }

  /** Guarded deletes of the affinity a block points at, if that affinity exists. */
  private async affinityDeleteOps(b: BlockRecord): Promise<TxnOp[]> {
    const owner = affinityNode(b.affinity);
    if (!owner) return [];
    const key = affinityKey(owner, b.cidr);
    const kv = await this.kv.get(key);
    return kv ? [{ op: 'delete', key, expectRevision: kv.modRevision }] : [];
  }

  /**
   * What deleting a Node does to IPAM: its affinities go; its addresses go once no live
   * workload endpoint uses them (kept ones stay in a block with no affinity, until released).
   * Empty blocks go at once (the host is gone, there is no thrash to avoid).
   */
  async releaseNode(node: string): Promise<NodeReleaseSummary> {
    const summary: NodeReleaseSummary = { node, affinitiesReleased: [], blocksDeleted: [], addressesReleased: [], addressesKept: [] };
    const live = new Set<string>();
    for (const ep of await this.source.liveWorkloadEndpoints()) for (const ip of ep.ips) live.add(canonicalIp(ip.split('/')[0]!) ?? ip);
    const { items } = await this.kv.list(BLOCKS_PREFIX);
    for (const kv of items) {
      const seen = decodeBlock(kv.value, kv.key);
      const affine = seen.affinity === hostAffinity(node);
      const holdsNodeIps = allocatedOrdinals(seen).some((a) => a.holder.attrs.node === node);
      if (!affine && !holdsNodeIps) continue;
      this.blocks.set(seen.cidr, { key: kv.key, value: seen, rev: kv.modRevision });
      const outcome = await this.changeBlock(seen.cidr, async (cur): Promise<Plan<{ released: string[]; kept: string[]; deleted: boolean; unaffined: boolean }>> => {
        const result = { released: [] as string[], kept: [] as string[], deleted: false, unaffined: false };
        if (!cur) return { result };
        const ordinals: number[] = [];
        const attrsOf = new Map<string, AllocationAttrs>();
        for (const { ordinal, holder } of allocatedOrdinals(cur)) {
          if (holder.attrs.node !== node) continue;
          const ip = ipOfOrdinal(cur, ordinal);
          if (live.has(ip)) result.kept.push(ip);
          else {
            ordinals.push(ordinal);
            attrsOf.set(holder.handle, holder.attrs);
            result.released.push(ip);
          }
        }
        const perHandle = releaseOrdinals(cur, ordinals, this.clock());
        const handles = new Map<string, HandleChange>();
        for (const [h, n] of perHandle) handles.set(h, { delta: -n, attrs: attrsOf.get(h) ?? {} });
        const ops: TxnOp[] = [];
        let block: BlockRecord | null = cur;
        if (cur.affinity === hostAffinity(node)) {
          ops.push(...(await this.affinityDeleteOps(cur)));
          result.unaffined = true;
          if (isEmpty(cur)) {
            block = null;
            result.deleted = true;
          } else cur.affinity = null;
        }
        if (ordinals.length === 0 && !result.unaffined) return { result };
        return { result, write: { block, handles, ops } };
      });
      summary.addressesReleased.push(...outcome.released);
      summary.addressesKept.push(...outcome.kept);
      if (outcome.unaffined) summary.affinitiesReleased.push(seen.cidr);
      if (outcome.deleted) summary.blocksDeleted.push(seen.cidr);
    }
    // Affinities whose block is already gone (left by an interrupted older writer).
    const { items: affinities } = await this.kv.list(hostAffinityPrefix(node));
    for (const kv of affinities) {
      const a = decodeAffinity(kv.value, kv.key);
      if (summary.affinitiesReleased.includes(a.cidr)) continue;
      try {
        await this.kv.txn([
          { op: 'check', key: blockKey(a.cidr), expectRevision: 0 },
          { op: 'delete', key: kv.key, expectRevision: kv.modRevision },
        ]);
        summary.affinitiesReleased.push(a.cidr);
      } catch (err) {
        if (!isCasFailure(err)) throw err;
      }
    }
    this.hostBlocks.delete(node);
    return summary;
  }
}
