import { expect } from 'chai';
import { parse } from 'yaml';
import {
  ACCEPT_ALL_POLICY, compilePolicies, REJECT_ALL_POLICY, resolvePolicy, type RoutePolicy,
} from '../../../../src/bgp/policy/index.js';
import { UserError } from '../../../../src/common/errors.js';
import { accepted, BASE_ATTRS, comm, errorOf, policy, route } from './helpers.js';

const FROM_TOR = `
- match: { prefix: 10.65.0.0/16, length: { min: 26, max: 32 } }
  action: accept
- match: { community: "65000:666" }
  action: reject
- match: { peer: 10.0.0.1 }
  set: { localPref: 200, med: 10, communities: { add: ["65000:1"], remove: ["65000:2"] }, nextHop: 10.0.0.254, prepend: { asn: 65001, count: 2 } }
  action: accept
`;

describe('policy rules', () => {
  it('the first rule with a terminal action decides', () => {
    const p = policy(FROM_TOR);
    // Matches rule 0 (accept) even though it also carries the rule-1 community.
    const blackholed = { ...BASE_ATTRS, communities: [comm('65000:666')] };
    expect(accepted(p.evaluate(route('10.65.1.64/26', { attrs: blackholed })))).to.equal(blackholed);
    // Outside rule 0: rule 1 rejects before rule 2 could accept.
    expect(p.evaluate(route('10.9.0.0/16', { attrs: blackholed })).accept).to.equal(false);
    // Rule 2.
    expect(accepted(p.evaluate(route('10.9.0.0/16'))).localPref).to.equal(200);
  });

  it('a route no rule accepts is rejected (implicit final reject)', () => {
    const p = policy(FROM_TOR);
    expect(p.evaluate(route('10.9.0.0/16', { peer: { address: '10.0.0.2', asn: 65001, ibgp: false } })).accept).to.equal(false);
    expect(policy('[]').evaluate(route('10.0.0.0/8')).accept).to.equal(false);
  });

  it('reject is final even when a later rule would accept', () => {
    const p = policy(`
- { match: { prefix: "10.0.0.0/8+" }, action: reject }
- { action: accept }
`);
    expect(p.evaluate(route('10.1.0.0/16')).accept).to.equal(false);
    expect(p.evaluate(route('11.1.0.0/16')).accept).to.equal(true);
  });

  describe('next', () => {
    const p = policy(`
- { match: { peerType: ebgp }, set: { localPref: 50 }, action: next }
- { match: { community: "65000:1" }, set: { communities: { add: ["65000:100"] } }, action: next }
- { match: { prefix: "10.0.0.0/8+" }, action: accept }
`);

    it('applies its set and carries on; later rules see and keep what it set', () => {
      const out = accepted(p.evaluate(route('10.1.0.0/16')));
      expect(out.localPref).to.equal(50);
      expect(out.communities).to.deep.equal([comm('65000:1'), comm('65000:2'), comm('65000:100')]);
    });

    it('skips its set when it does not match', () => {
      const out = accepted(p.evaluate(route('10.1.0.0/16', { peer: { address: '10.0.0.1', asn: 65000, ibgp: true } })));
      expect(out.localPref).to.equal(100);
    });

    it('falling off the end after next still rejects', () => {
      expect(p.evaluate(route('192.168.0.0/16')).accept).to.equal(false);
    });

    it('a later match sees an earlier set', () => {
      const q = policy(`
- { set: { communities: { add: ["65000:7"] } }, action: next }
- { match: { community: "65000:7" }, action: accept }
`);
      expect(q.evaluate(route('10.0.0.0/8')).accept).to.equal(true);
    });
  });

  it('an accepted route that no rule changed comes back as the very same attrs object, with a shared verdict', () => {
    const p = policy(FROM_TOR);
    const input = route('10.65.1.64/26');
    const v1 = p.evaluate(input);
    expect(accepted(v1)).to.equal(input.attrs);
    expect(p.evaluate(route('10.65.9.0/28'))).to.equal(v1); // same attrs object -> same frozen verdict
    expect(Object.isFrozen(v1)).to.equal(true);
  });

  describe('built-ins and analysis', () => {
    it('accept-all and reject-all', () => {
      expect(ACCEPT_ALL_POLICY.name).to.equal('accept-all');
      expect(REJECT_ALL_POLICY.name).to.equal('reject-all');
      const input = route('10.0.0.0/8');
      expect(accepted(ACCEPT_ALL_POLICY.evaluate(input))).to.equal(input.attrs);
      expect(REJECT_ALL_POLICY.evaluate(input).accept).to.equal(false);
      expect([ACCEPT_ALL_POLICY.acceptAllUnchanged, ACCEPT_ALL_POLICY.rejectAll]).to.deep.equal([true, false]);
      expect([REJECT_ALL_POLICY.acceptAllUnchanged, REJECT_ALL_POLICY.rejectAll]).to.deep.equal([false, true]);
    });

    const flags = (p: RoutePolicy) => [p.acceptAllUnchanged, p.rejectAll];

    it('flags what provably accepts or rejects everything, and nothing else', () => {
      expect(flags(policy('- action: accept'))).to.deep.equal([true, false]);
      expect(flags(policy('[{ match: { family: ipv4 }, action: next }, { action: accept }]'))).to.deep.equal([true, false]);
      expect(flags(policy('- action: reject'))).to.deep.equal([false, true]);
      expect(flags(policy('[]'))).to.deep.equal([false, true]);
      expect(flags(policy('- { match: { family: ipv4 }, action: reject }'))).to.deep.equal([false, true]);
      expect(flags(policy(FROM_TOR))).to.deep.equal([false, false]);
      expect(flags(policy('- { set: { med: 1 }, action: accept }'))).to.deep.equal([false, false]);
      expect(flags(policy('[{ match: { family: ipv6 }, action: reject }, { action: accept }]'))).to.deep.equal([false, false]);
    });
  });

  describe('compilePolicies and resolvePolicy', () => {
    const policies = compilePolicies(parse(`
from-tor: ${JSON.stringify(parse(FROM_TOR))}
to-tor: [{ action: accept }]
`) as Record<string, unknown[]>);

    it('compiles each named policy', () => {
      expect([...policies.keys()]).to.deep.equal(['from-tor', 'to-tor']);
      expect(policies.get('to-tor')!.acceptAllUnchanged).to.equal(true);
      expect(policies.get('from-tor')!.name).to.equal('from-tor');
    });

    it('resolves a name, a built-in, or the default when no name is given', () => {
      expect(resolvePolicy('from-tor', policies, REJECT_ALL_POLICY)).to.equal(policies.get('from-tor'));
      expect(resolvePolicy('accept-all', policies, REJECT_ALL_POLICY)).to.equal(ACCEPT_ALL_POLICY);
      expect(resolvePolicy('reject-all', policies, ACCEPT_ALL_POLICY)).to.equal(REJECT_ALL_POLICY);
      expect(resolvePolicy(undefined, policies, REJECT_ALL_POLICY)).to.equal(REJECT_ALL_POLICY);
    });

    it('refuses an unknown name with a UserError that lists the known ones', () => {
      let err: unknown;
      try {
        resolvePolicy('from-spine', policies, REJECT_ALL_POLICY);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.equal('no policy named "from-spine" (known: accept-all, reject-all, from-tor, to-tor)');
    });

    it('names the policy in errors, and refuses the built-in names', () => {
      expect(errorOf(() => compilePolicies({ a: [{ action: 'accept' }], b: [{ action: 'drop' }] })))
        .to.equal('policies.b[0].action: "drop" is not one of accept, reject, next');
      expect(errorOf(() => compilePolicies({ 'accept-all': [] }, 'cfg.policies'))).to.equal('cfg.policies.accept-all: is a built-in policy name');
    });
  });
});
