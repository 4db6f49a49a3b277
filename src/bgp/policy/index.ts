/**
 * BGP import and export policies: compiled once, evaluated per route without allocating
 * unless a rule changes the route. Pure: no I/O, no clock.
 *
 * A policy is an ordered list of rules (`policies: { NAME: [rules...] }` in the speaker's
 * config). The first rule that matches and whose action is `accept` or `reject` decides;
 * `next` applies the rule's `set` and goes on to the next rule.
 *
 *   A ROUTE THAT NO RULE ACCEPTS IS REJECTED (an implicit final reject, as at the end of an
 *   FRR route-map or prefix-list). End a policy with `- action: accept` to let the rest in.
 *
 * ```yaml
 * policies:
 *   from-tor:
 *     - match: { prefix: 10.65.0.0/16, length: { min: 26, max: 32 } }
 *       action: accept
 *     - match: { community: "65000:666" }
 *       action: reject
 *     - match: { peer: 10.0.0.1 }
 *       set: { localPref: 200, med: 10, communities: { add: ["65000:1"], remove: ["65000:2"] },
 *              nextHop: 10.0.0.254, prepend: { asn: 65001, count: 2 } }
 *       action: accept
 *     - description: everything else, tagged
 *       set: { communities: { add: [no-export] } }
 *       action: accept
 * ```
 *
 * `match` (every condition given must hold; a list inside a condition means "any of"; no
 * `match` matches every route):
 *   - `prefix`: `10.0.0.0/8` matches that prefix exactly; with `length: {min, max}` (or
 *     `length: 24`) it matches routes inside it with such a length, like a prefix-list entry
 *     with ge/le. `10.0.0.0/8+` (it and everything inside) and `10.0.0.0/8{16,24}` carry
 *     their own range, as in BIRD. `length` without `prefix` bounds any route's length.
 *   - `family`: ipv4 | ipv6.   `peer`: address(es).   `peerType`: ibgp | ebgp.
 *   - `peerAsn`: ASN(s).   `origin`: igp | egp | incomplete.
 *   - `community`: "A:B", a well-known name (no-export, no-advertise, no-export-subconfed,
 *     blackhole, graceful-shutdown), `*` for either half ("65000:*").
 *   - `largeCommunity`: "A:B:C", `*` for any part.
 *   - `nextHop`: address(es) or prefix(es) the next hop lies in.
 *   - `asPath`: `{ contains: ASN(s), originatedBy: ASN(s), startsWith: [ASNs],
 *     length: {min, max}, regex: "_65001$" }`; the regex runs over the path as FRR prints it
 *     ("65001 65002 {65003,65004}") and `_` is FRR's delimiter.
 *   `peer` is the peer at the other end of the session: the sender on import, the receiver
 *   on export.
 *
 * `set`: `localPref`, `med`, `origin`, `communities: {replace, remove, add}` (applied in that
 * order; `remove` takes wildcards; `replace: []` clears), `largeCommunities` (same),
 * `nextHop` (an address, or `self`: see next-hop.ts for how the RIB receives it), `prepend`
 * (`{asn, count}`, a list of ASNs, or one ASN). `set` with `action: reject` is an error.
 *
 * Changed attributes come back as a new object (the input is never mutated: attribute sets
 * are interned and shared); the same input attribute object through the same rules gives
 * the same output object, so a set of routes sharing attributes keeps sharing them.
 */
import { UserError } from '../../common/errors.js';
import { fail, join, show } from '../../common/fields.js';
import { RuleListPolicy } from './engine.js';
import { compileRules } from './rules.js';
import type { RoutePolicy } from './types.js';

export type { PolicyInput, PolicyPeer, PolicyVerdict, RoutePolicy } from './types.js';
export { POLICY_NEXT_HOP, NEXT_HOP_SELF, policyNextHop, type PolicyAttributes, type PolicyNextHop } from './next-hop.js';
export {
  compileCalicoBgpFilter, compileCalicoBgpFilterChain, type CalicoDirection, type CalicoFamily, type CalicoFilterOptions,
} from './calico.js';
export { WELL_KNOWN_COMMUNITIES } from './community.js';

export const ACCEPT_ALL = 'accept-all';
export const REJECT_ALL = 'reject-all';

export const ACCEPT_ALL_POLICY: RoutePolicy = new RuleListPolicy(ACCEPT_ALL, [], 'accept');
export const REJECT_ALL_POLICY: RoutePolicy = new RuleListPolicy(REJECT_ALL, [], 'reject');

/**
 * One named policy from its rules; `path` names it in messages (`policies.from-tor`).
 * Throws a ValidationError (a UserError) naming the first bad field.
 */
export function compilePolicy(name: string, rules: unknown[], path: string): RoutePolicy {
  return new RuleListPolicy(name, compileRules(rules, path), 'reject');
}

/** Every policy of a config's `policies:` map. */
export function compilePolicies(policies: Record<string, unknown[]>, path = 'policies'): Map<string, RoutePolicy> {
  if (policies === null || typeof policies !== 'object' || Array.isArray(policies)) {
    fail(path, `must be a map of policy name to rules, not ${show(policies)}`);
  }
  const out = new Map<string, RoutePolicy>();
  for (const [name, rules] of Object.entries(policies)) {
    if (name === ACCEPT_ALL || name === REJECT_ALL) fail(join(path, name), 'is a built-in policy name');
    out.set(name, compilePolicy(name, rules, join(path, name)));
  }
  return out;
}

/**
 * The policy a peer's `import:` / `export:` names: `defaultPolicy` when it names none (the
 * speaker passes REJECT_ALL_POLICY for eBGP peers under RFC 8212), a built-in, or one of
 * `policies`.
 */
export function resolvePolicy(ref: string | undefined, policies: Map<string, RoutePolicy>, defaultPolicy: RoutePolicy): RoutePolicy {
  if (ref === undefined) return defaultPolicy;
  if (ref === ACCEPT_ALL) return ACCEPT_ALL_POLICY;
  if (ref === REJECT_ALL) return REJECT_ALL_POLICY;
  const policy = policies.get(ref);
  if (policy === undefined) {
    throw new UserError(`no policy named ${show(ref)} (known: ${[ACCEPT_ALL, REJECT_ALL, ...policies.keys()].join(', ')})`);
  }
  return policy;
}
