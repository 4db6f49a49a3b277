/**
 * IP addresses and CIDRs as resources write them, parsed with ip-num. Kept apart from the
 * validators so that IPAM and felix can use the same parsing.
 */
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, Validator } from 'ip-num';
import { canonicalIp } from '../../common/ip.js';

export type IPVersion = 4 | 6;

export interface Cidr {
  version: IPVersion;
  /** Network address (host bits cleared), as text. */
  network: string;
  prefixLength: number;
  /** Canonical `network/prefix`. */
  text: string;
  /** True when the address given had bits set past the prefix (10.0.0.1/24). */
  hostBitsSet: boolean;
  range: IPv4CidrRange | IPv6CidrRange;
}

export function ipVersion(text: string): IPVersion | undefined {
  if (Validator.isValidIPv4String(text)[0] && /^\d+\.\d+\.\d+\.\d+$/.test(text)) return 4;
  if (text.includes(':') && Validator.isValidIPv6String(text)[0]) return 6;
  return undefined;
}

export function isIP(text: string): boolean {
  return ipVersion(text) !== undefined;
}

/** Parses `a.b.c.d/n` or `x::/n`; undefined if it is not a CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  const version = ipVersion(addr);
  if (version === undefined) return undefined;
  if (prefixLength > (version === 4 ? 32 : 128)) return undefined;
  const range = version === 4 ? IPv4CidrRange.fromCidr(text) : IPv6CidrRange.fromCidr(text);
  const given = version === 4 ? IPv4.fromString(addr).getValue() : IPv6.fromString(addr).getValue();
  const first = range.getFirst().getValue();
  const network = version === 4 ? range.getFirst().toString() : canonicalIp(range.getFirst().toString())!;
  return { version, network, prefixLength, text: `${network}/${prefixLength}`, hostBitsSet: given !== first, range };
}

/** Parses a CIDR or a bare address (taken as /32 or /128), as Calico's `nets` allow. */
export function parseNet(text: string): Cidr | undefined {
  if (text.includes('/')) return parseCidr(text);
  const v = ipVersion(text);
  if (v === undefined) return undefined;
  return parseCidr(`${text}/${v === 4 ? 32 : 128}`);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  // ip-num types the two families apart; the version check above makes the casts sound.
  return (a.range as IPv4CidrRange).isOverlapping(b.range as IPv4CidrRange);
}
