/**
 * The policy engine's contract with its callers (the RIB on import and export) and the
 * compiled form of a rule that the rule languages (tortie's own, Calico's BGPFilter) produce.
 */
import type { PathAttributes } from '../wire/attributes/types.js';

export interface PolicyPeer {
  address: string;
  asn: number;
  ibgp: boolean;
}

/**
 * One route as a policy sees it. `peer` is the peer at the other end of the session the
 * policy is attached to: the sender on import, the receiver on export.
 */
export interface PolicyInput {
  afi: number;
  /** IPv4: word 0; IPv6: words 0-3, most significant first. Host bits are zero. */
  addr: Uint32Array;
  length: number;
  attrs: PathAttributes;
  /** The route's next hop as text (either family), or null when it has none yet. */
  nextHop: string | null;
  peer: PolicyPeer;
  /**
   * Export only: true when this speaker originated the route (`originate:`, the node
   * daemon's blocks) rather than learned it from a peer. Absent means learned. Calico's
   * `source: RemotePeers` matches routes where this is not true.
   */
  originated?: boolean;
  /**
   * The outgoing interface of a route that has one (a local route towards a workload's
   * veth, say). Calico's `interface` match needs it; BGP-learned routes have none.
   */
  interface?: string;
}

/** `attrs` is the very input object when the policy changed nothing. */
export type PolicyVerdict = { accept: false } | { accept: true; attrs: PathAttributes };

export interface RoutePolicy {
  readonly name: string;
  /** Every route is accepted with its attributes unchanged: the caller may skip evaluate. */
  readonly acceptAllUnchanged: boolean;
  /** Every route is refused: the caller may skip evaluate. */
  readonly rejectAll: boolean;
  evaluate(input: PolicyInput): PolicyVerdict;
}

/** Plain numbers (not a TS enum) so that they inline and compare as small integers. */
export const RuleAction = { ACCEPT: 0, REJECT: 1, NEXT: 2 } as const;
export type RuleAction = (typeof RuleAction)[keyof typeof RuleAction];

/**
 * A match condition. `attrs` is the route's attributes as modified by earlier `next` rules
 * of the same policy (so a later rule sees what an earlier one set), not always input.attrs.
 */
export type Predicate = (input: PolicyInput, attrs: PathAttributes) => boolean;

/**
 * A `set`. It depends on the attributes alone, never on the prefix or the peer, so its
 * result can be memoized per input attribute object. Returns `attrs` itself when nothing
 * changes, else a new object; never mutates `attrs`.
 */
export type Modifier = (attrs: PathAttributes) => PathAttributes;

export interface CompiledRule {
  /** null: matches every route. */
  readonly match: Predicate | null;
  readonly modify: Modifier | null;
  readonly action: RuleAction;
}
