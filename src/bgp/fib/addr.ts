/**
 * Prefixes and next-hop addresses in the one text form iproute2 prints (src/common/ip.ts),
 * so that what we write and what we read back compare as strings, always with a prefix
 * length. Pure functions; hot on the install path (a million /32s), so no regexes per call.
 */
import { UserError } from '../../common/errors.js';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../common/ip.js';

export type Family = 4 | 6;

/** A prefix or next hop the FIB cannot use; the message names it and why. */
export class FibInputError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'FibInputError';
  }
}

/** An address in canonical text with its family, or null if it is not an address. */
export function canonicalAddress(s: string): { address: string; family: Family } | null {
  const v4 = parseIPv4(s);
  if (v4 >= 0) return { address: s, family: 4 };
  const v6 = parseIPv6(s);
  if (v6 === null) return null;
  return { address: formatIPv6(v6), family: 6 };
}

function maskV6(g: number[], len: number): boolean {
  let clean = true;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, len - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    if ((g[i]! & ~mask & 0xffff) !== 0) clean = false;
  }
  return clean;
}

function parseLength(s: string, from: number, max: number): number {
  const t = s.slice(from);
  if (!/^(0|[1-9]\d{0,2})$/.test(t)) return -1;
  const n = Number(t);
  return n <= max ? n : -1;
}

/**
 * A prefix ("10.0.0.1/32", "10.0.0.1", "FD00:0::/64", "default") in canonical text with
 * its family and length. Throws FibInputError for anything else, and for host bits set
 * below the length (the kernel refuses those too).
 */
export function canonicalPrefix(prefix: string): { prefix: string; family: Family; length: number } {
  const slash = prefix.indexOf('/');
  // Fast path: the canonical IPv4 form, which is what a million /32s look like.
  if (slash > 0) {
    const v4 = parseIPv4(prefix, 0, slash);
    if (v4 >= 0) {
      const length = parseLength(prefix, slash + 1, 32);
      if (length < 0) throw new FibInputError(`prefix "${prefix}": bad prefix length`);
      if (length < 32 && (v4 & ~(length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0)) !== 0) {
        throw new FibInputError(`prefix "${prefix}": host bits are set below /${length}`);
      }
      return { prefix, family: 4, length };
    }
  }
  if (prefix === 'default') throw new FibInputError('prefix "default": give 0.0.0.0/0 or ::/0');
  const addrText = slash < 0 ? prefix : prefix.slice(0, slash);
  const v4 = parseIPv4(addrText);
  if (v4 >= 0) {
    if (slash >= 0) throw new FibInputError(`prefix "${prefix}": bad prefix length`);
    return { prefix: `${addrText}/32`, family: 4, length: 32 };
  }
  const g = parseIPv6(addrText);
  if (g === null) throw new FibInputError(`prefix "${prefix}": not an IPv4 or IPv6 prefix`);
  const length = slash < 0 ? 128 : parseLength(prefix, slash + 1, 128);
  if (length < 0) throw new FibInputError(`prefix "${prefix}": bad prefix length`);
  if (!maskV6(g, length)) throw new FibInputError(`prefix "${prefix}": host bits are set below /${length}`);
  return { prefix: `${formatIPv6(g)}/${length}`, family: 6, length };
}

/** fe80::/10: only meaningful together with an interface. */
export function isLinkLocalV6(address: string): boolean {
  const colon = address.indexOf(':');
  if (colon < 1 || colon > 4) return false;
  return (parseInt(address.slice(0, colon), 16) & 0xffc0) === 0xfe80;
}
