/** Routes and policies for the policy tests, built from text so that tests read like configs. */
import { parse } from 'yaml';
import { compilePolicy, type PolicyInput, type PolicyVerdict, type RoutePolicy } from '../../../../src/bgp/policy/index.js';
import type { PathAttributes } from '../../../../src/bgp/wire/attributes/types.js';
import { Afi, AsPathSegmentType, Origin } from '../../../../src/bgp/wire/constants.js';
import { ipv4FromString, ipv6FromString } from '../../../../src/bgp/wire/ip.js';

export { Afi, AsPathSegmentType, Origin };

/** Freezes an object graph, so that any write by the code under test throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** "65000:100" -> the uint32 the codec carries. */
export function comm(text: string): number {
  const [a, b] = text.split(':').map(Number);
  return (a! * 0x10000 + b!) >>> 0;
}

export function seq(...asns: number[]) {
  return { type: AsPathSegmentType.AS_SEQUENCE, asns };
}

export function set(...asns: number[]) {
  return { type: AsPathSegmentType.AS_SET, asns };
}

export const BASE_ATTRS: PathAttributes = deepFreeze({
  origin: Origin.IGP,
  asPath: [seq(65001, 65002)],
  nextHop: ipv4FromString('192.0.2.1')!,
  localPref: 100,
  communities: [comm('65000:1'), comm('65000:2')],
});

export interface RouteOptions {
  attrs?: PathAttributes;
  nextHop?: string | null;
  peer?: { address: string; asn: number; ibgp: boolean };
  originated?: boolean;
  interface?: string;
}

/** A route for `prefix` ("10.0.0.0/24" or "2001:db8::/64"), frozen through and through. */
export function route(prefix: string, o: RouteOptions = {}): PolicyInput {
  const [addrText, len] = prefix.split('/');
  const addr = new Uint32Array(4);
  let afi: number = Afi.IPV4;
  if (addrText!.includes(':')) {
    afi = Afi.IPV6;
    const buf = ipv6FromString(addrText!)!;
    for (let i = 0; i < 4; i++) addr[i] = buf.readUInt32BE(i * 4);
  } else {
    addr[0] = ipv4FromString(addrText!)!;
  }
  const input: PolicyInput = {
    afi,
    addr,
    length: Number(len),
    attrs: deepFreeze(o.attrs ?? BASE_ATTRS),
    nextHop: o.nextHop === undefined ? (afi === Afi.IPV4 ? '192.0.2.1' : '2001:db8::1') : o.nextHop,
    peer: o.peer ?? { address: '10.0.0.1', asn: 65001, ibgp: false },
  };
  if (o.originated !== undefined) input.originated = o.originated;
  if (o.interface !== undefined) input.interface = o.interface;
  // Typed arrays cannot be frozen; everything else can.
  Object.freeze(input.peer);
  return Object.freeze(input);
}

/** A policy from YAML rule text, as the speaker config would hand it over. */
export function policy(yaml: string, name = 'p'): RoutePolicy {
  return compilePolicy(name, parse(yaml) as unknown[], `policies.${name}`);
}

export function accepted(v: PolicyVerdict): PathAttributes {
  if (!v.accept) throw new Error('expected the route to be accepted, it was rejected');
  return v.attrs;
}

export function acceptedBy(p: RoutePolicy, input: PolicyInput): boolean {
  return p.evaluate(input).accept;
}

/** The message of the error `fn` throws; fails the test when it throws nothing. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}
