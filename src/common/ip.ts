/**
 * IP addresses, the one place they are parsed and printed. Text is what iproute2 prints:
 * IPv4 dotted quads without leading zeros, IPv6 per RFC 5952 as glibc's inet_ntop writes it
 * (lowercase, the longest run of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d).
 * The parsers are hand-written for speed: the FIB reads back a million routes. Inside the codec an IPv4 address is a uint32 (network order read as a
 * big-endian number) and an IPv6 address is four uint32 words, most significant first, or a
 * 16-byte Buffer at the edges. Strings only appear here, for logs, tests and configuration.
 */

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
    return (bestLen === 5 ? '::ffff:' : '::') + ipv4ToString((g[6]! * 65536 + g[7]!) >>> 0);
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** uint32 -> "a.b.c.d" */
export function ipv4ToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** "a.b.c.d" -> uint32, or null if it is not a plain dotted quad. */
export function ipv4FromString(text: string): number | null {
  const v = parseIPv4(text);
  return v < 0 ? null : v;
}

/** 16 bytes -> RFC 5952 text, as inet_ntop and so iproute2 print it. */
export function ipv6ToString(buf: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  return formatIPv6(groups);
}

/** IPv6 text -> 16-byte Buffer, or null. Accepts "::" and an embedded dotted quad tail. */
export function ipv6FromString(text: string): Buffer | null {
  const groups = parseIPv6(text);
  if (groups === null) return null;
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  return buf;
}

export type IpFamily = 4 | 6;

/** An address as a family and a BigInt, for arithmetic (IPAM blocks, subnets). */
export function parseIp(text: string): { family: IpFamily; value: bigint } | null {
  const v4 = ipv4FromString(text);
  if (v4 !== null) return { family: 4, value: BigInt(v4) };
  const v6 = ipv6FromString(text);
  if (v6 === null) return null;
  return { family: 6, value: (v6.readBigUInt64BE(0) << 64n) | v6.readBigUInt64BE(8) };
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return ipv4ToString(Number(value & 0xffffffffn));
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64BE((value >> 64n) & 0xffffffffffffffffn, 0);
  buf.writeBigUInt64BE(value & 0xffffffffffffffffn, 8);
  return ipv6ToString(buf);
}

/** Canonical text of an address, so that "fd00:0::1" and "fd00::1" compare equal; null if not one. */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.value) : null;
}
