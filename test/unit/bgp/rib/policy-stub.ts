/**
 * Stand-ins for src/bgp/policy until it is committed: the same RoutePolicy contract, the
 * two built-ins, and a policy from a function for tests.
 */
import type { PolicyInput, PolicyVerdict, RoutePolicy } from '../../../../src/bgp/rib/index.js';

export const ACCEPT_ALL_POLICY: RoutePolicy = {
  name: 'accept-all',
  acceptAllUnchanged: true,
  rejectAll: false,
  evaluate: (input) => ({ accept: true, attrs: input.attrs }),
};

export const REJECT_ALL_POLICY: RoutePolicy = {
  name: 'reject-all',
  acceptAllUnchanged: false,
  rejectAll: true,
  evaluate: () => ({ accept: false }),
};

/** A policy that runs `fn` per route (no fast path), counting its calls. */
export function functionPolicy(name: string, fn: (input: PolicyInput) => PolicyVerdict): RoutePolicy & { calls: number } {
  const p = {
    name,
    acceptAllUnchanged: false,
    rejectAll: false,
    calls: 0,
    evaluate(input: PolicyInput): PolicyVerdict {
      p.calls++;
      return fn(input);
    },
  };
  return p;
}
