/** Policies for RIB tests: the policy module's built-ins, and a policy from a function. */
import type { PolicyInput, PolicyVerdict, RoutePolicy } from '../../../../src/bgp/rib/index.js';

export { ACCEPT_ALL_POLICY, REJECT_ALL_POLICY, compilePolicy } from '../../../../src/bgp/policy/index.js';

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
