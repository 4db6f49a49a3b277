/**
 * Prefixes and next-hop addresses in the one text form iproute2 prints, so that what we
 * write and what we read back compare as strings: IPv4 dotted quad, IPv6 as RFC 5952
 * (lowercase, longest run of zero groups as "::"), always with a prefix length.
 * Pure functions; hot on the install path (a million /32s), so no regexes per call.
 */
import { UserError } from '../../common/errors.js';

export type Family = 4 | 6;

/** A prefix or next hop the FIB cannot use; the message names it and why. */
export class FibInputError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'FibInputError';
  }
}

/** IPv4 text to a 32-bit unsigned number, or -1 if it is not a plain dotted quad. */
export function parseIPv4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero: "01" is not canonical (and octal to some)
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** IPv6 text to 8 16-bit groups, or null. Accepts an embedded IPv4 tail ("::ffff:1.2.3.4"). */
export function parseIPv6(s: string): number[] | null {
  if (s.length < 2 || s.length > 45) return null;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (s.length === 2) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] !== ':') j++;
    const part = s.slice(i, j);
    if (part.includes('.')) {
      if (j !== s.length || groups.length > 6) return null;
      const v4 = parseIPv4(part);
      if (v4 < 0) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      i = j;
      break;
    }
    if (part.length === 0 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return null;
    groups.push(parseInt(part, 16));
    if (j === s.length) {
      i = j;
      break;
    }
    // s[j] is ':'
    if (s[j + 1] === ':') {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
      if (i === s.length) break;
    } else {
      i = j + 1;
      if (i === s.length) return null; // a trailing single ':'
    }
  }
  if (gap >= 0) {
    if (groups.length > 7) return null;
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(gap, 0, ...zeros);
  }
  return groups.length === 8 ? groups : null;
}

/** RFC 5952 text, as glibc's inet_ntop (and so iproute2) prints it. */
export function formatIPv6(g: readonly number[]): string {
  // The longest run of two or more zero groups (the first of equal ones) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // glibc's inet_ntop prints an embedded IPv4 address for ::ffff:a.b.c.d and ::a.b.c.d (not ::1).
  if (bestStart === 0 && ((bestLen === 5 && g[5] === 0xffff) || (bestLen === 6 && g[6] !== 0))) {
    return (bestLen === 5 ? '::ffff:' : '::') + formatIPv4((g[6]! * 65536 + g[7]!) >>> 0);
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
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
