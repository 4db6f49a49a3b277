/**
 * Address and prefix text at the RIB's edges (configuration, the control API, route views),
 * and next hops as the byte strings they are on the wire. Not used per prefix on the hot path.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../../common/errors.js';
import { Afi } from '../wire/constants.js';
import { ipv4FromString, ipv4ToString, ipv6FromString, ipv6ToString } from '../wire/ip.js';

export class BadPrefixError extends UserError {
  constructor(text: string, why: string) {
    super(`prefix "${text}": ${why}`);
    this.name = 'BadPrefixError';
  }
}

export interface ParsedPrefix {
  afi: number;
  /** 1 word (IPv4) or 4 words (IPv6), host bits cleared. */
  words: Uint32Array;
  length: number;
}

function topMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * "10.0.0.0/8", "2001:db8::/32", or a bare address (a host route). Host bits must be clear,
 * as BIRD and FRR insist, so that a typo does not silently announce a different network.
 */
export function parsePrefix(text: string): ParsedPrefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const v6 = isIPv6(addrText);
  if (!v6 && !isIPv4(addrText)) throw new BadPrefixError(text, `"${addrText}" is not an IPv4 or IPv6 address`);
  const max = v6 ? 128 : 32;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) throw new BadPrefixError(text, `length must be 0-${max}`);
  const length = Number(lenText);
  const words = new Uint32Array(v6 ? 4 : 1);
  if (v6) {
    const b = ipv6FromString(addrText);
    if (b === null) throw new BadPrefixError(text, `"${addrText}" is not a plain IPv6 address`);
    for (let k = 0; k < 4; k++) words[k] = b.readUInt32BE(k * 4);
  } else {
    words[0] = ipv4FromString(addrText) as number;
  }
  for (let k = 0; k < words.length; k++) {
    const masked = ((words[k] as number) & topMask(length - 32 * k)) >>> 0;
    if (masked !== words[k]) throw new BadPrefixError(text, `host bits are set (did you mean ${formatPrefix(v6 ? Afi.IPV6 : Afi.IPV4, maskWords(words, length), 0, length)}?)`);
  }
  return { afi: v6 ? Afi.IPV6 : Afi.IPV4, words, length };
}

function maskWords(words: Uint32Array, length: number): Uint32Array {
  const out = new Uint32Array(words.length);
  for (let k = 0; k < words.length; k++) out[k] = ((words[k] as number) & topMask(length - 32 * k)) >>> 0;
  return out;
}

export function formatPrefix(afi: number, words: Uint32Array, off: number, length: number): string {
  if (afi !== Afi.IPV6) return `${ipv4ToString(words[off] as number)}/${length}`;
  const b = Buffer.allocUnsafe(16);
  for (let k = 0; k < 4; k++) b.writeUInt32BE(words[off + k] as number, k * 4);
  return `${ipv6ToString(b)}/${length}`;
}

/** Next hop bytes as text: the IPv6 global address when a link-local follows it. */
export function nextHopText(nh: Buffer): string {
  if (nh.length === 4) return ipv4ToString(nh.readUInt32BE(0));
  return ipv6ToString(nh, 0);
}

/** Address text to next hop bytes (4 or 16), or null when it is not an address. */
export function addressBytes(text: string): Buffer | null {
  if (isIPv4(text)) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(ipv4FromString(text) as number, 0);
    return b;
  }
  if (isIPv6(text)) return ipv6FromString(text);
  return null;
}

export function ipv4Bytes(addr: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(addr >>> 0, 0);
  return b;
}

/**
 * A string that sorts addresses the way RFC 4271 §9.1.2.2 (g) wants ("lowest peer
 * address"): IPv4 before IPv6, then numerically.
 */
export function addressSortKey(text: string): string {
  const b = addressBytes(text);
  if (b === null) return `9${text}`;
  return `${b.length === 4 ? '4' : '6'}${b.toString('hex')}`;
}
