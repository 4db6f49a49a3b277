/**
 * The simple `set` actions: one attribute replaced by a value known at compile time. Each
 * returns its input when the attribute already has that value, so that a policy that
 * "changes" nothing keeps the attribute object (and the RIB's interning) intact.
 */
import type { Origin } from '../wire/constants.js';
import type { PathAttributes } from '../wire/attributes/types.js';
import { POLICY_NEXT_HOP, type PolicyAttributes, type PolicyNextHop } from './next-hop.js';
import type { Modifier } from './types.js';

export function setLocalPref(value: number): Modifier {
  return (attrs) => (attrs.localPref === value ? attrs : { ...attrs, localPref: value });
}

export function setMed(value: number): Modifier {
  return (attrs) => (attrs.med === value ? attrs : { ...attrs, med: value });
}

export function setOrigin(value: Origin): Modifier {
  return (attrs) => (attrs.origin === value ? attrs : { ...attrs, origin: value });
}

/** Leaves the next-hop marker for the RIB (see next-hop.ts). */
export function setNextHop(value: PolicyNextHop): Modifier {
  return (attrs) => {
    if ((attrs as PolicyAttributes)[POLICY_NEXT_HOP] === value) return attrs;
    const out: PolicyAttributes = { ...attrs, [POLICY_NEXT_HOP]: value };
    return out as PathAttributes;
  };
}
