/**
 * Address families as one small integer key, (AFI << 8) | SAFI, so that per-family session
 * facts are a Set<number> lookup rather than string building on every UPDATE.
 */
import { Afi, Safi } from './constants.js';

export type FamilyKey = number;

export function familyKey(afi: number, safi: number): FamilyKey {
  return ((afi & 0xffff) << 8) | (safi & 0xff);
}

export function familyAfi(key: FamilyKey): number {
  return key >>> 8;
}

export function familySafi(key: FamilyKey): number {
  return key & 0xff;
}

export const IPV4_UNICAST: FamilyKey = familyKey(Afi.IPV4, Safi.UNICAST);
export const IPV6_UNICAST: FamilyKey = familyKey(Afi.IPV6, Safi.UNICAST);

export function familyName(key: FamilyKey): string {
  const afi = familyAfi(key);
  const safi = familySafi(key);
  const a = afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : `afi${afi}`;
  const s = safi === Safi.UNICAST ? 'unicast' : safi === Safi.MULTICAST ? 'multicast' : `safi${safi}`;
  return `${a}-${s}`;
}
