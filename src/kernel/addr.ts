/**
 * Interface addresses in CIDR form ("10.0.0.1/24", "fd00::1/64"): checked before they
 * reach iproute2, and a small amount of arithmetic for handing out host addresses.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../common/errors.js';
import { canonicalIp, formatIp, parseIp, type IpFamily } from '../common/ip.js';

export class InvalidAddressError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAddressError';
  }
}

export type { IpFamily };

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
  return { address: family === 6 ? canonicalIp(address)! : address, prefixLength: Number(lengthText), family };
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
  const base = parseIp(cidr.address)!.value & ~(size - 1n);
  return `${formatIp(cidr.family, base + BigInt(index))}/${cidr.prefixLength}`;
}
