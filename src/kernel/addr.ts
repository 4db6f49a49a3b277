/**
 * Interface addresses in CIDR form ("10.0.0.1/24", "fd00::1/64"): checked before they
 * reach iproute2, and a small amount of arithmetic for handing out host addresses.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../common/errors.js';

export class InvalidAddressError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAddressError';
  }
}

export type IpFamily = 4 | 6;

export interface Cidr {
  /** The address as written (v6 in canonical compressed form). */
  address: string;
  prefixLength: number;
  family: IpFamily;
}

/** Parses "ADDR/LEN"; `where` names the field at fault in the error. */
export function parseCidr(text: string, where = 'address'): Cidr {
  const slash = text.indexOf('/');
  const bad = (why: string) => new InvalidAddressError(`${where}: "${text}" ${why}`);
  if (slash < 0) throw bad('has no prefix length (expected ADDRESS/LENGTH, e.g. 10.0.0.1/24)');
  const address = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  const family: IpFamily | undefined = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (family === undefined) throw bad(`is not an IP address (${JSON.stringify(address)})`);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) {
    throw bad(`has a bad prefix length (${JSON.stringify(lengthText)}; expected 0-${max})`);
  }
  return { address: family === 6 ? formatIp(parseIp(address, 6), 6) : address, prefixLength: Number(lengthText), family };
}

function parseIp(address: string, family: IpFamily): bigint {
  if (family === 4) return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  // Expand "::" into the right number of zero groups, then read eight 16-bit groups.
  let text = address;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const v = parseIp(v4tail[1]!, 4);
    text = text.slice(0, -v4tail[1]!.length) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatIp(value: bigint, family: IpFamily): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // The WHATWG URL parser writes IPv6 hosts in RFC 5952 canonical (compressed) form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * The `index`-th address of a subnet, with the subnet's prefix length: index 1 of
 * "10.0.0.0/24" is "10.0.0.1/24". Throws if the subnet has no such address.
 */
export function addressInSubnet(subnet: string, index: number, where = 'subnet'): string {
  const cidr = parseCidr(subnet, where);
  const bits = cidr.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - cidr.prefixLength);
  if (!Number.isSafeInteger(index) || index < 0 || BigInt(index) >= size) {
    throw new InvalidAddressError(`${where}: "${subnet}" has no address number ${index}`);
  }
  const base = parseIp(cidr.address, cidr.family) & ~(size - 1n);
  return `${formatIp(base + BigInt(index), cidr.family)}/${cidr.prefixLength}`;
}
