/**
 * IP addresses, the one place they are parsed and printed (RFC 5952 text for IPv6). Inside the codec an IPv4 address is a uint32 (network order read as a
 * big-endian number) and an IPv6 address is four uint32 words, most significant first, or a
 * 16-byte Buffer at the edges. Strings only appear here, for logs, tests and configuration.
 */

/** uint32 -> "a.b.c.d" */
export function ipv4ToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** "a.b.c.d" -> uint32, or null if it is not a dotted quad. */
export function ipv4FromString(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** 16 bytes -> compressed RFC 5952 text. */
export function ipv6ToString(buf: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  // Longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** IPv6 text -> 16-byte Buffer, or null. Accepts "::" and an embedded dotted quad tail. */
export function ipv6FromString(text: string): Buffer | null {
  let s = text;
  if (s.includes('.')) {
    // Rewrite an embedded dotted-quad tail ("::ffff:192.0.2.1") as two hex groups.
    const lastColon = s.lastIndexOf(':');
    const v4 = lastColon >= 0 ? ipv4FromString(s.slice(lastColon + 1)) : null;
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
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
