/**
 * Address arithmetic for IPAM: IPv4 and IPv6 addresses as BigInt, CIDRs, block enumeration.
 * Pure; no I/O. BigInt keeps one code path for both families (an IPv6 /64 pool holds 2^58
 * blocks of /122, far beyond a JS number).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address (host bits zero). */
  base: bigint;
  prefix: number;
}

export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses an address; returns null when the text is not an IPv4 or IPv6 address. */
export function parseIp(text: string): { family: Family; value: bigint } | null {
  if (isIPv4(text)) {
    const parts = text.split('.').map(Number);
    return { family: 4, value: BigInt(((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) };
  }
  if (isIPv6(text)) {
    let head = text;
    let tailV4: bigint | null = null;
    // An embedded dotted quad (::ffff:1.2.3.4) stands for the last two groups.
    const lastColon = text.lastIndexOf(':');
    if (text.slice(lastColon + 1).includes('.')) {
      tailV4 = parseIp(text.slice(lastColon + 1))!.value;
      head = `${text.slice(0, lastColon + 1)}0:0`;
    }
    const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
    const leftGroups = left ? left.split(':') : [];
    const rightGroups = right === undefined ? [] : right ? right.split(':') : [];
    const missing = 8 - leftGroups.length - rightGroups.length;
    const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
    let value = 0n;
    for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
    if (tailV4 !== null) value = (value & ~0xffffffffn) | tailV4;
    return { family: 6, value };
  }
  return null;
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an address (so that "fd00:0::1" and "fd00::1" compare equal). */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.value) : null;
}

/** Parses "a.b.c.d/n" or "x::/n"; `strict` refuses host bits set. Returns a reason on failure. */
export function parseCidr(text: string, strict = true): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'has no prefix length';
  const ip = parseIp(text.slice(0, slash));
  if (!ip) return 'is not an address';
  const lenText = text.slice(slash + 1);
  const prefix = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || prefix > bitsOf(ip.family)) return 'has a bad prefix length';
  const base = ip.value & maskOf(ip.family, prefix);
  if (strict && base !== ip.value) return `has host bits set (the network is ${formatCidr({ family: ip.family, base, prefix })})`;
  return { family: ip.family, base, prefix };
}

export function mustParseCidr(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(`"${text}" ${c}`);
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.base)}/${c.prefix}`;
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Number of addresses in a CIDR. */
export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

export function contains(c: Cidr, family: Family, value: bigint): boolean {
  return family === c.family && (value & maskOf(family, c.prefix)) === c.base;
}

/** Whether two CIDRs share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(a.family, p);
  return (a.base & m) === (b.base & m);
}

/** The block of `blockPrefix` inside which an address lies. */
export function blockOf(family: Family, value: bigint, blockPrefix: number): Cidr {
  return { family, base: value & maskOf(family, blockPrefix), prefix: blockPrefix };
}

/** The i-th block of size /blockPrefix inside a pool. */
export function nthBlock(pool: Cidr, blockPrefix: number, i: bigint): Cidr {
  return { family: pool.family, base: pool.base + i * (1n << BigInt(bitsOf(pool.family) - blockPrefix)), prefix: blockPrefix };
}

export function blockCount(pool: Cidr, blockPrefix: number): bigint {
  return 1n << BigInt(blockPrefix - pool.prefix);
}
