/**
 * How a policy hands a next hop it set to the RIB.
 *
 * A `set: { nextHop: ... }` cannot be written into PathAttributes' own `nextHop` field: that
 * field is the IPv4 NEXT_HOP attribute only (IPv6 next hops travel in MP_REACH_NLRI), and
 * `self` means "my address on the session this route goes out on", which only the caller
 * knows. So the policy leaves a marker under a symbol key on the attribute object it returns:
 *
 *   - `'self'`: the RIB replaces the next hop with the local address of the session;
 *   - an address text (canonical form, IPv4 or IPv6): the RIB uses that address.
 *
 * Read it with `policyNextHop(attrs)`. Object spread (`{ ...attrs }`) keeps symbol keys, so a
 * shallow copy made by the RIB carries the marker on. The marker is part of the attribute
 * set's identity: a RIB that interns attribute sets must include it in the key.
 */
import type { PathAttributes } from '../wire/attributes/types.js';

export const POLICY_NEXT_HOP: unique symbol = Symbol('tortie.policy.nextHop');

export const NEXT_HOP_SELF = 'self';

/** `'self'`, or an address in canonical text form. */
export type PolicyNextHop = string;

/** Path attributes as a policy may return them: perhaps with a next hop to apply. */
export type PolicyAttributes = PathAttributes & { [POLICY_NEXT_HOP]?: PolicyNextHop };

/** The next hop a policy set on these attributes, if any. */
export function policyNextHop(attrs: PathAttributes): PolicyNextHop | undefined {
  return (attrs as PolicyAttributes)[POLICY_NEXT_HOP];
}
