/**
 * `ipam show`: what the pools hold, which host holds which block, who borrowed what, and who
 * holds one address. Read-only, from one consistent snapshot of IPAM's records.
 */
import type { KV } from '../datastore/kv.js';
import type { Cidr } from './addr.js';
import { canonicalIp, contains, formatCidr, parseCidr, parseIp, sizeOf } from './addr.js';
import type { AllocationAttrs } from './block.js';
import { allocatedOrdinals, blockCidr, freeCount, holderOf, ipOfOrdinal, usedCount } from './block.js';
import type { IpamConfigSource, IpPoolInfo } from './config.js';
import { affinityNode } from './keys.js';
import { readIpamState } from './state.js';

export interface PoolUsage {
  name: string;
  cidr: string;
  disabled: boolean;
  /** Counts as decimal strings: an IPv6 pool holds more than a JS number can count. */
  total: string;
  used: string;
  free: string;
  blocks: number;
}

export interface BlockUsage {
  cidr: string;
  pool: string | null;
  host: string | null;
  used: number;
  free: number;
  /** Addresses in the block held for other nodes than its host. */
  borrowed: number;
}

export interface BorrowedAddress {
  ip: string;
  block: string;
  blockHost: string | null;
  node: string | null;
  handle: string;
}

export interface IpamShow {
  pools: PoolUsage[];
  blocks: BlockUsage[];
  borrowed: BorrowedAddress[];
}

export interface AddressInfo {
  ip: string;
  pool: string | null;
  block: string | null;
  blockHost: string | null;
  allocated: boolean;
  handle?: string;
  seq?: number;
  attrs?: AllocationAttrs;
}

function poolFor(pools: { info: IpPoolInfo; cidr: Cidr }[], c: Cidr) {
  return pools.find((p) => c.prefix >= p.cidr.prefix && contains(p.cidr, c.family, c.base));
}

async function poolViews(source: IpamConfigSource) {
  return (await source.pools()).flatMap((info) => {
    const cidr = parseCidr(info.cidr);
    return typeof cidr === 'string' ? [] : [{ info, cidr }];
  });
}

export async function showIpam(kv: KV, source: IpamConfigSource): Promise<IpamShow> {
  const [state, pools] = await Promise.all([readIpamState(kv), poolViews(source)]);
  const used = new Map<string, bigint>();
  const count = new Map<string, number>();
  const blocks: BlockUsage[] = [];
  const borrowed: BorrowedAddress[] = [];
  for (const { value: b } of state.blocks) {
    const pool = poolFor(pools, blockCidr(b));
    const host = affinityNode(b.affinity);
    let lent = 0;
    for (const { ordinal, holder } of allocatedOrdinals(b)) {
      const node = holder.attrs.node ?? null;
      if (node !== host) {
        lent++;
        borrowed.push({ ip: ipOfOrdinal(b, ordinal), block: b.cidr, blockHost: host, node, handle: holder.handle });
      }
    }
    blocks.push({ cidr: b.cidr, pool: pool?.info.name ?? null, host, used: usedCount(b), free: freeCount(b), borrowed: lent });
    if (pool) {
      used.set(pool.info.name, (used.get(pool.info.name) ?? 0n) + BigInt(usedCount(b)));
      count.set(pool.info.name, (count.get(pool.info.name) ?? 0) + 1);
    }
  }
  return {
    pools: pools.map((p) => {
      const total = sizeOf(p.cidr);
      const u = used.get(p.info.name) ?? 0n;
      return { name: p.info.name, cidr: formatCidr(p.cidr), disabled: !!p.info.disabled, total: String(total), used: String(u), free: String(total - u), blocks: count.get(p.info.name) ?? 0 };
    }),
    blocks,
    borrowed,
  };
}

/** Who holds an address; `ip` must already be a valid address. */
export async function showAddress(kv: KV, source: IpamConfigSource, ip: string): Promise<AddressInfo> {
  const text = canonicalIp(ip)!;
  const p = parseIp(text)!;
  const [state, pools] = await Promise.all([readIpamState(kv), poolViews(source)]);
  const pool = pools.find((x) => contains(x.cidr, p.family, p.value));
  const found = state.blocks.find((b) => contains(blockCidr(b.value), p.family, p.value));
  const info: AddressInfo = { ip: text, pool: pool?.info.name ?? null, block: found?.value.cidr ?? null, blockHost: affinityNode(found?.value.affinity), allocated: false };
  if (found) {
    const holder = holderOf(found.value, Number(p.value - blockCidr(found.value).base));
    if (holder) Object.assign(info, { allocated: true, handle: holder.handle, seq: holder.seq, attrs: holder.attrs });
  }
  return info;
}
