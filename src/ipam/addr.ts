/**
 * Address arithmetic for IPAM: IPv4 and IPv6 addresses as BigInt, CIDRs, block enumeration.
 * Pure; no I/O. BigInt keeps one code path for both families (an IPv6 /64 pool holds 2^58
 * blocks of /122, far beyond a JS number).
 */
import { canonicalIp, formatIp, parseIp } from '../common/ip.js';

export { canonicalIp, formatIp, parseIp };

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
