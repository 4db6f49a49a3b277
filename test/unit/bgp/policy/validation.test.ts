import { expect } from 'chai';
import { compilePolicy } from '../../../../src/bgp/policy/index.js';
import { ValidationError } from '../../../../src/datastore/resources/errors.js';
import { UserError } from '../../../../src/common/errors.js';
import { errorOf, policy } from './helpers.js';

/** [rules as YAML (policy "from-tor"), the one-line message expected]. */
const BAD: [string, string][] = [
  ['- { match: { prefix: 10.0.0.0/33 }, action: accept }',
    'policies.from-tor[0].match.prefix: "10.0.0.0/33" is not a prefix (e.g. 10.0.0.0/8, 10.0.0.0/8+ for it and everything inside, or 10.0.0.0/8{16,24})'],
  ['[{ action: accept }, { action: accept }, { match: { prefix: [10.0.0.0/8, 10.0.0.1/8] }, action: accept }]',
    'policies.from-tor[2].match.prefix[1]: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)'],
  ['- { match: { prefix: 10.65.0.0/16, length: { min: 8 } }, action: accept }',
    'policies.from-tor[0].match.length.min: 8 is shorter than 10.65.0.0/16: routes inside it are /16 or longer'],
  ['- { match: { prefix: 10.65.0.0/16, length: { min: 30, max: 26 } }, action: accept }',
    'policies.from-tor[0].match.length: min 30 is greater than max 26'],
  ['- { match: { prefix: 10.0.0.0/8, length: { max: 64 } }, action: accept }',
    'policies.from-tor[0].match.length.max: 64 is longer than an IPv4 prefix can be (32)'],
  ['- { match: { prefx: 10.0.0.0/8 }, action: accept }',
    'policies.from-tor[0].match.prefx: unknown field (did you mean prefix?)'],
  ['- { match: { prefix: 10.0.0.0/8 } }',
    'policies.from-tor[0].action: is required: accept, reject, next'],
  ['- { action: permit }',
    'policies.from-tor[0].action: "permit" is not one of accept, reject, next'],
  ['- { match: { community: "65000:70000" }, action: reject }',
    'policies.from-tor[0].match.community: "65000:70000" is not a community (A:B with A and B 0-65535, or no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown; * for any part)'],
  ['- { match: { community: "65000:1:2" }, action: reject }',
    'policies.from-tor[0].match.community: "65000:1:2" is a large community: list it under largeCommunities'],
  ['- { set: { communities: { add: ["65000:*"] } }, action: accept }',
    'policies.from-tor[0].set.communities.add[0]: "65000:*" is not a community (A:B with A and B 0-65535, or no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown)'],
  ['- { match: { peer: 10.0.0.300 }, action: accept }',
    'policies.from-tor[0].match.peer: "10.0.0.300" is not an IP address'],
  ['- { match: { peer: [] }, action: accept }',
    'policies.from-tor[0].match.peer: must list at least one value'],
  ['- { match: { peerType: internal }, action: accept }',
    'policies.from-tor[0].match.peerType: "internal" is not one of ibgp, ebgp'],
  ['- { match: { peerAsn: 0 }, action: accept }',
    'policies.from-tor[0].match.peerAsn: 0 is out of range 1-4294967295'],
  ['- { match: { asPath: { regex: "(65001" } }, action: accept }',
    'policies.from-tor[0].match.asPath.regex: "(65001" is not a valid regular expression (/(65001/: Unterminated group)'],
  ['- { match: { asPath: {} }, action: accept }',
    'policies.from-tor[0].match.asPath: must give at least one of contains, originatedBy, startsWith, length, regex'],
  ['- { match: { nextHop: "2001:db8::1/64" }, action: accept }',
    'policies.from-tor[0].match.nextHop: "2001:db8::1/64" has host bits set (did you mean 2001:db8::/64?)'],
  ['- { match: { origin: bgp }, action: accept }',
    'policies.from-tor[0].match.origin: "bgp" is not one of igp, egp, incomplete'],
  ['- { set: { localPref: -1 }, action: accept }',
    'policies.from-tor[0].set.localPref: -1 is out of range 0-4294967295'],
  ['- { set: { med: 1.5 }, action: accept }',
    'policies.from-tor[0].set.med: must be a whole number, not 1.5'],
  ['- { set: { localPref: 200 }, action: reject }',
    'policies.from-tor[0].set: has no effect: this rule rejects the route (use action: next or accept)'],
  ['- { set: { nextHop: myself }, action: accept }',
    'policies.from-tor[0].set.nextHop: "myself" is not an IP address or "self"'],
  ['- { set: { prepend: { asn: 65001, count: 40 } }, action: accept }',
    'policies.from-tor[0].set.prepend.count: 40 is out of range 1-32'],
  ['- { set: { prepend: { count: 2 } }, action: accept }',
    'policies.from-tor[0].set.prepend.asn: is required'],
  ['- { set: {}, action: accept }',
    'policies.from-tor[0].set: must set at least one of localPref, med, origin, communities, largeCommunities, nextHop, prepend'],
  ['- { set: { communities: [ "65000:1" ] }, action: accept }',
    'policies.from-tor[0].set.communities: must be an object, not a list'],
  ['- { set: { largeCommunities: { add: ["1:2"] } }, action: accept }',
    'policies.from-tor[0].set.largeCommunities.add[0]: "1:2" is not a large community (A:B:C with each part 0-4294967295)'],
  ['- accept',
    'policies.from-tor[0]: must be an object, not "accept"'],
  ['{ action: accept }',
    'policies.from-tor: must be a list, not an object'],
];

describe('policy validation', () => {
  for (const [rules, message] of BAD) {
    it(`refuses ${rules.replace(/\s+/g, ' ').slice(0, 90)}`, () => {
      expect(errorOf(() => policy(rules, 'from-tor'))).to.equal(message);
    });
  }

  it('throws a ValidationError (a UserError) carrying the field path', () => {
    let err: unknown;
    try {
      compilePolicy('x', [{ match: { prefix: 'nope' }, action: 'accept' }], 'policies.x');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ValidationError);
    expect(err).to.be.instanceOf(UserError);
    expect((err as ValidationError).path).to.equal('policies.x[0].match.prefix');
  });

  it('accepts the forms the documentation shows', () => {
    expect(() => policy(`
- description: customer routes
  match: { prefix: [10.65.0.0/16, "2001:db8::/32+"], length: { min: 16, max: 32 }, peerType: ebgp, peerAsn: [65001] }
  action: accept
- match: { community: [no-export, "65000:*"], largeCommunity: "4200000000:*:1", origin: igp, family: ipv4 }
  set: { communities: { replace: [], add: [blackhole] }, largeCommunities: { remove: ["*:*:*"] } }
  action: next
- match: { asPath: { contains: [65001], originatedBy: 65002, startsWith: [65001], length: { max: 5 }, regex: "^65001_" }, nextHop: [192.0.2.0/24, "2001:db8::1"] }
  set: { origin: incomplete, nextHop: self, prepend: [65000, 65000] }
  action: accept
- { action: Reject }
`)).to.not.throw();
  });
});
