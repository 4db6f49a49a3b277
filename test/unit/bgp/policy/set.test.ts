import { expect } from 'chai';
import { POLICY_NEXT_HOP, policyNextHop } from '../../../../src/bgp/policy/index.js';
import type { PathAttributes } from '../../../../src/bgp/wire/attributes/types.js';
import { AsPathSegmentType } from '../../../../src/bgp/wire/constants.js';
import { accepted, BASE_ATTRS, comm, deepFreeze, Origin, policy, route, seq } from './helpers.js';

function apply(setYaml: string, attrs: PathAttributes = BASE_ATTRS): PathAttributes {
  return accepted(policy(`- { set: ${setYaml}, action: accept }`).evaluate(route('10.0.0.0/24', { attrs: deepFreeze(attrs) })));
}

describe('policy sets', () => {
  it('localPref and med: a new object with the change, the rest shared', () => {
    const out = apply('{ localPref: 200, med: 10 }');
    expect(out).to.not.equal(BASE_ATTRS);
    expect(out.localPref).to.equal(200);
    expect(out.med).to.equal(10);
    expect(out.asPath).to.equal(BASE_ATTRS.asPath); // shallow copy: untouched parts shared
    expect(BASE_ATTRS.localPref).to.equal(100);
    expect(BASE_ATTRS.med).to.equal(undefined);
  });

  it('origin', () => {
    expect(apply('{ origin: incomplete }').origin).to.equal(Origin.INCOMPLETE);
  });

  it('a set that changes nothing keeps the very same object', () => {
    expect(apply('{ localPref: 100, origin: igp }')).to.equal(BASE_ATTRS);
    expect(apply('{ communities: { add: ["65000:1"], remove: ["65000:9"] } }')).to.equal(BASE_ATTRS);
  });

  describe('communities', () => {
    it('add appends what is missing, in order', () => {
      expect(apply('{ communities: { add: ["65000:1", "65000:3", no-export] } }').communities)
        .to.deep.equal([comm('65000:1'), comm('65000:2'), comm('65000:3'), 0xffffff01]);
    });

    it('remove takes exact values and wildcards', () => {
      expect(apply('{ communities: { remove: "65000:1" } }').communities).to.deep.equal([comm('65000:2')]);
      const attrs = { ...BASE_ATTRS, communities: [comm('65000:1'), comm('64512:1'), comm('65000:7')] };
      expect(apply('{ communities: { remove: ["65000:*"] } }', attrs).communities).to.deep.equal([comm('64512:1')]);
    });

    it('removing the last one drops the attribute', () => {
      const out = apply('{ communities: { remove: ["*:*"] } }');
      expect(out).to.not.have.property('communities');
    });

    it('replace starts over; an empty replace clears', () => {
      expect(apply('{ communities: { replace: [graceful-shutdown, blackhole] } }').communities).to.deep.equal([0xffff0000, 0xffff029a]);
      expect(apply('{ communities: { replace: [] } }')).to.not.have.property('communities');
      expect(apply('{ communities: { replace: ["1:1"], add: ["1:2"], remove: ["1:1"] } }').communities).to.deep.equal([comm('1:2')]);
    });

    it('adds to a route without communities', () => {
      const attrs = { ...BASE_ATTRS };
      delete attrs.communities;
      expect(apply('{ communities: { add: [no-advertise, no-export-subconfed] } }', attrs).communities).to.deep.equal([0xffffff02, 0xffffff03]);
    });
  });

  describe('largeCommunities', () => {
    const lc = (a: number, b: number, c: number) => ({ globalAdmin: a, localData1: b, localData2: c });

    it('add, remove with wildcards, replace', () => {
      expect(apply('{ largeCommunities: { add: ["4200000000:1:2"] } }').largeCommunities).to.deep.equal([lc(4200000000, 1, 2)]);
      const attrs = { ...BASE_ATTRS, largeCommunities: [lc(1, 1, 1), lc(1, 2, 3), lc(2, 1, 1)] };
      expect(apply('{ largeCommunities: { remove: ["1:*:*"] } }', attrs).largeCommunities).to.deep.equal([lc(2, 1, 1)]);
      expect(apply('{ largeCommunities: { replace: ["9:9:9"] } }', attrs).largeCommunities).to.deep.equal([lc(9, 9, 9)]);
      expect(apply('{ largeCommunities: { add: ["1:1:1"] } }', attrs)).to.equal(deepFreeze(attrs));
    });
  });

  describe('nextHop', () => {
    it('an address leaves a canonical marker for the RIB, not the NEXT_HOP attribute', () => {
      const out = apply('{ nextHop: "2001:DB8::00fe" }');
      expect(policyNextHop(out)).to.equal('2001:db8::fe');
      expect(out.nextHop).to.equal(BASE_ATTRS.nextHop);
      expect(policyNextHop(BASE_ATTRS)).to.equal(undefined);
    });

    it('self is a marker the caller resolves; a spread copy keeps it', () => {
      const out = apply('{ nextHop: self }');
      expect(policyNextHop(out)).to.equal('self');
      expect(policyNextHop({ ...out })).to.equal('self');
      expect((out as Record<symbol, unknown>)[POLICY_NEXT_HOP]).to.equal('self');
    });

    it('a later nextHop match sees the next hop an earlier rule set', () => {
      const p = policy(`
- { set: { nextHop: 198.51.100.1 }, action: next }
- { match: { nextHop: 198.51.100.0/24 }, action: accept }
`);
      expect(p.evaluate(route('10.0.0.0/24')).accept).to.equal(true);
      const self = policy(`
- { set: { nextHop: self }, action: next }
- { match: { nextHop: 192.0.2.1 }, action: accept }
`);
      expect(self.evaluate(route('10.0.0.0/24')).accept).to.equal(false);
    });
  });

  describe('prepend', () => {
    it('asn and count go in front of the leading sequence', () => {
      expect(apply('{ prepend: { asn: 65009, count: 2 } }').asPath).to.deep.equal([seq(65009, 65009, 65001, 65002)]);
      expect(BASE_ATTRS.asPath).to.deep.equal([seq(65001, 65002)]);
    });

    it('a list prepends in the order written; one ASN prepends once', () => {
      expect(apply('{ prepend: [65010, 65011] }').asPath).to.deep.equal([seq(65010, 65011, 65001, 65002)]);
      expect(apply('{ prepend: 65010 }').asPath).to.deep.equal([seq(65010, 65001, 65002)]);
    });

    it('an empty path or one starting with a set gets a new sequence; confederation segments stay in front', () => {
      expect(apply('{ prepend: 65010 }', { ...BASE_ATTRS, asPath: [] }).asPath).to.deep.equal([seq(65010)]);
      const set = { type: AsPathSegmentType.AS_SET, asns: [1, 2] };
      expect(apply('{ prepend: 65010 }', { ...BASE_ATTRS, asPath: [set] }).asPath).to.deep.equal([seq(65010), set]);
      const confed = { type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [64512] };
      expect(apply('{ prepend: 65010 }', { ...BASE_ATTRS, asPath: [confed, seq(1)] }).asPath).to.deep.equal([confed, seq(65010, 1)]);
    });
  });

  it('the same input attributes through the same rule give the same output object', () => {
    const p = policy('- { set: { localPref: 300, communities: { add: ["1:1"] } }, action: accept }');
    const a = accepted(p.evaluate(route('10.0.0.0/24')));
    const b = accepted(p.evaluate(route('10.9.0.0/16')));
    expect(a).to.not.equal(BASE_ATTRS);
    expect(b).to.equal(a);
    const other = deepFreeze({ ...BASE_ATTRS, med: 5 });
    const c = accepted(p.evaluate(route('10.0.0.0/24', { attrs: other })));
    expect(c).to.not.equal(a);
    expect(c.med).to.equal(5);
    expect(c.localPref).to.equal(300);
  });

  it('every set at once on deep-frozen input: nothing of the input changes', () => {
    const input = deepFreeze(structuredClone({ ...BASE_ATTRS, largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] }));
    const before = structuredClone(input);
    const out = apply(`{ localPref: 1, med: 2, origin: egp, nextHop: 10.0.0.254,
      communities: { add: ["65000:9"], remove: ["65000:1"] }, largeCommunities: { add: ["7:7:7"], remove: ["1:2:3"] },
      prepend: { asn: 65001, count: 3 } }`, input);
    expect(input).to.deep.equal(before);
    expect(out).to.deep.include({ localPref: 1, med: 2, origin: Origin.EGP });
    expect(out.communities).to.deep.equal([comm('65000:2'), comm('65000:9')]);
    expect(out.largeCommunities).to.deep.equal([{ globalAdmin: 7, localData1: 7, localData2: 7 }]);
    expect(out.asPath).to.deep.equal([seq(65001, 65001, 65001, 65001, 65002)]);
    expect(policyNextHop(out)).to.equal('10.0.0.254');
  });
});
