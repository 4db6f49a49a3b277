import { expect } from 'chai';
import { acceptedBy, comm, deepFreeze, Origin, policy, route, seq, set, BASE_ATTRS } from './helpers.js';
import type { RoutePolicy } from '../../../../src/bgp/policy/index.js';
import type { PathAttributes } from '../../../../src/bgp/wire/attributes/types.js';
import { AsPathSegmentType } from '../../../../src/bgp/wire/constants.js';

/** A policy accepting what `match` matches (everything else meets the implicit reject). */
function only(match: string): RoutePolicy {
  return policy(`- { match: ${match}, action: accept }`);
}

function withAttrs(extra: Partial<PathAttributes>): PathAttributes {
  return deepFreeze({ ...BASE_ATTRS, ...extra });
}

describe('policy matches', () => {
  describe('prefix', () => {
    it('a bare prefix matches only itself, not longer or shorter routes', () => {
      const p = only('{ prefix: 10.65.0.0/16 }');
      expect(acceptedBy(p, route('10.65.0.0/16'))).to.equal(true);
      expect(acceptedBy(p, route('10.65.1.0/24'))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
      expect(acceptedBy(p, route('10.66.0.0/16'))).to.equal(false);
    });

    it('with a length range matches routes inside with such lengths (ge/le)', () => {
      const p = only('{ prefix: 10.65.0.0/16, length: { min: 26, max: 32 } }');
      expect(acceptedBy(p, route('10.65.3.64/26'))).to.equal(true);
      expect(acceptedBy(p, route('10.65.200.7/32'))).to.equal(true);
      expect(acceptedBy(p, route('10.65.3.0/24'))).to.equal(false); // too short
      expect(acceptedBy(p, route('10.65.0.0/16'))).to.equal(false);
      expect(acceptedBy(p, route('10.64.3.64/26'))).to.equal(false); // outside
    });

    it('length with only min runs to the family maximum; a number means exactly that length', () => {
      const p = only('{ prefix: 10.0.0.0/8, length: { min: 24 } }');
      expect(acceptedBy(p, route('10.1.2.3/32'))).to.equal(true);
      expect(acceptedBy(p, route('10.1.2.0/23'))).to.equal(false);
      const q = only('{ prefix: 10.0.0.0/8, length: 24 }');
      expect(acceptedBy(q, route('10.1.2.0/24'))).to.equal(true);
      expect(acceptedBy(q, route('10.1.2.0/25'))).to.equal(false);
    });

    it("BIRD's P+ and P{a,b} forms carry their own range", () => {
      const plus = only('{ prefix: "10.0.0.0/8+" }');
      expect(acceptedBy(plus, route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(plus, route('10.9.9.9/32'))).to.equal(true);
      expect(acceptedBy(plus, route('11.0.0.0/8'))).to.equal(false);
      const braces = only('{ prefix: "10.0.0.0/8{16,24}" }');
      expect(acceptedBy(braces, route('10.1.0.0/16'))).to.equal(true);
      expect(acceptedBy(braces, route('10.1.1.0/25'))).to.equal(false);
    });

    it('a list matches any of its prefixes', () => {
      const p = only('{ prefix: [10.1.0.0/16, 10.2.0.0/16] }');
      expect(acceptedBy(p, route('10.2.0.0/16'))).to.equal(true);
      expect(acceptedBy(p, route('10.3.0.0/16'))).to.equal(false);
    });

    it('IPv6 prefixes compare all four words and never match IPv4 routes', () => {
      const p = only('{ prefix: "2001:db8:0:100::/56", length: { max: 64 } }');
      expect(acceptedBy(p, route('2001:db8:0:1ff::/64'))).to.equal(true);
      expect(acceptedBy(p, route('2001:db8:0:200::/64'))).to.equal(false);
      expect(acceptedBy(p, route('2001:db8:0:100::/65'))).to.equal(false);
      // 0x20010db8 in word 0 is also a valid IPv4 address: family must still tell them apart.
      expect(acceptedBy(only('{ prefix: "::/0+" }'), route('10.0.0.0/8'))).to.equal(false);
      expect(acceptedBy(only('{ prefix: "0.0.0.0/0+" }'), route('2001:db8::/32'))).to.equal(false);
    });

    it('distinguishes addresses that differ only in the last word of an IPv6 /128', () => {
      const p = only('{ prefix: "2001:db8::1/128" }');
      expect(acceptedBy(p, route('2001:db8::1/128'))).to.equal(true);
      expect(acceptedBy(p, route('2001:db8::2/128'))).to.equal(false);
    });

    it('0.0.0.0/0 alone matches only the default route', () => {
      const p = only('{ prefix: 0.0.0.0/0 }');
      expect(acceptedBy(p, route('0.0.0.0/0'))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
    });
  });

  it('length without a prefix bounds any route', () => {
    const p = only('{ length: { max: 24 } }');
    expect(acceptedBy(p, route('10.0.0.0/24'))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/25'))).to.equal(false);
  });

  it('family', () => {
    const p = only('{ family: ipv6 }');
    expect(acceptedBy(p, route('2001:db8::/48'))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
  });

  it('peer: an address or a list, in any IPv6 spelling', () => {
    const p = only('{ peer: [10.0.0.1, "2001:DB8:0::7"] }');
    expect(acceptedBy(p, route('10.9.0.0/16', { peer: { address: '10.0.0.1', asn: 1, ibgp: true } }))).to.equal(true);
    expect(acceptedBy(p, route('10.9.0.0/16', { peer: { address: '2001:db8::7', asn: 1, ibgp: true } }))).to.equal(true);
    expect(acceptedBy(p, route('10.9.0.0/16', { peer: { address: '2001:0db8:0000::7', asn: 1, ibgp: true } }))).to.equal(true);
    expect(acceptedBy(p, route('10.9.0.0/16', { peer: { address: '10.0.0.2', asn: 1, ibgp: true } }))).to.equal(false);
  });

  it('peerType', () => {
    const p = only('{ peerType: ibgp }');
    expect(acceptedBy(p, route('10.0.0.0/8', { peer: { address: '10.0.0.1', asn: 65000, ibgp: true } }))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/8', { peer: { address: '10.0.0.1', asn: 65001, ibgp: false } }))).to.equal(false);
    const e = only('{ peerType: eBGP }');
    expect(acceptedBy(e, route('10.0.0.0/8', { peer: { address: '10.0.0.1', asn: 65001, ibgp: false } }))).to.equal(true);
  });

  it('peerAsn', () => {
    const p = only('{ peerAsn: [65001, 4200000000] }');
    expect(acceptedBy(p, route('10.0.0.0/8', { peer: { address: '10.0.0.1', asn: 4200000000, ibgp: false } }))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/8', { peer: { address: '10.0.0.1', asn: 65003, ibgp: false } }))).to.equal(false);
  });

  it('origin', () => {
    const p = only('{ origin: [egp, incomplete] }');
    expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ origin: Origin.INCOMPLETE }) }))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ origin: Origin.IGP }) }))).to.equal(false);
  });

  describe('community', () => {
    it('matches any of the listed communities', () => {
      const p = only('{ community: ["65000:666", "65000:2"] }');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true); // BASE_ATTRS carries 65000:2
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ communities: [comm('65000:3')] }) }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ communities: undefined }) }))).to.equal(false);
    });

    it('well-known names and wildcards', () => {
      const p = only('{ community: no-export }');
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ communities: [0xffffff01] }) }))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: withAttrs({ communities: [0xffffff02] }) }))).to.equal(false);
      const w = only('{ community: "65535:*" }');
      expect(acceptedBy(w, route('10.0.0.0/8', { attrs: withAttrs({ communities: [0xffff029a] }) }))).to.equal(true);
      expect(acceptedBy(w, route('10.0.0.0/8'))).to.equal(false);
      const low = only('{ community: "*:666" }');
      expect(acceptedBy(low, route('10.0.0.0/8', { attrs: withAttrs({ communities: [comm('64512:666')] }) }))).to.equal(true);
      expect(acceptedBy(low, route('10.0.0.0/8', { attrs: withAttrs({ communities: [comm('64512:667')] }) }))).to.equal(false);
    });
  });

  it('largeCommunity, with wildcards', () => {
    const attrs = withAttrs({ largeCommunities: [{ globalAdmin: 4200000000, localData1: 1, localData2: 2 }] });
    expect(acceptedBy(only('{ largeCommunity: "4200000000:1:2" }'), route('10.0.0.0/8', { attrs }))).to.equal(true);
    expect(acceptedBy(only('{ largeCommunity: "4200000000:*:*" }'), route('10.0.0.0/8', { attrs }))).to.equal(true);
    expect(acceptedBy(only('{ largeCommunity: "4200000000:1:3" }'), route('10.0.0.0/8', { attrs }))).to.equal(false);
    expect(acceptedBy(only('{ largeCommunity: "1:1:2" }'), route('10.0.0.0/8'))).to.equal(false);
  });

  describe('nextHop', () => {
    it('an address or a prefix, against the caller’s next hop text', () => {
      expect(acceptedBy(only('{ nextHop: 192.0.2.1 }'), route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(only('{ nextHop: 192.0.2.2 }'), route('10.0.0.0/8'))).to.equal(false);
      expect(acceptedBy(only('{ nextHop: 192.0.2.0/24 }'), route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(only('{ nextHop: 198.51.100.0/24 }'), route('10.0.0.0/8'))).to.equal(false);
      expect(acceptedBy(only('{ nextHop: "2001:db8::/64" }'), route('2001:db8:1::/48', { nextHop: '2001:db8::1' }))).to.equal(true);
      expect(acceptedBy(only('{ nextHop: "2001:db8::/64" }'), route('2001:db8:1::/48', { nextHop: '2001:db8:1::1' }))).to.equal(false);
    });

    it('falls back to the NEXT_HOP attribute when the caller gives no text', () => {
      expect(acceptedBy(only('{ nextHop: 192.0.2.0/30 }'), route('10.0.0.0/8', { nextHop: null }))).to.equal(true);
      expect(acceptedBy(only('{ nextHop: 192.0.2.4/30 }'), route('10.0.0.0/8', { nextHop: null }))).to.equal(false);
    });
  });

  describe('asPath', () => {
    const path = (...segments: { type: 1 | 2 | 3 | 4; asns: number[] }[]) =>
      withAttrs({ asPath: segments as PathAttributes['asPath'] });

    it('contains', () => {
      const p = only('{ asPath: { contains: 65002 } }');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001), set(65003, 65004)) }))).to.equal(false);
      expect(acceptedBy(only('{ asPath: { contains: [65004] } }'), route('10.0.0.0/8', { attrs: path(seq(65001), set(65003, 65004)) }))).to.equal(true);
    });

    it('originatedBy is the last ASN of a path ending in a sequence', () => {
      const p = only('{ asPath: { originatedBy: 65002 } }');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65002, 65001)) }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001), set(65002)) }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path() }))).to.equal(false);
    });

    it('length counts a set as one and confederation segments as none', () => {
      const p = only('{ asPath: { length: { min: 2, max: 2 } } }');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001), set(65003, 65004, 65005)) }))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path({ type: AsPathSegmentType.AS_CONFED_SEQUENCE, asns: [64512, 64513] }, seq(65001)) }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(1, 2, 3)) }))).to.equal(false);
      expect(acceptedBy(only('{ asPath: { length: 0 } }'), route('10.0.0.0/8', { attrs: path() }))).to.equal(true);
    });

    it('startsWith', () => {
      const p = only('{ asPath: { startsWith: [65001, 65002] } }');
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001), seq(65002, 65009)) }))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65002, 65001)) }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001)) }))).to.equal(false);
    });

    it("regex runs over FRR's text form with _ as a delimiter", () => {
      const p = only('{ asPath: { regex: "_65002$" } }');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001, 165002)) }))).to.equal(false);
      const inSet = only('{ asPath: { regex: "_65004_" } }');
      expect(acceptedBy(inSet, route('10.0.0.0/8', { attrs: path(seq(65001), set(65003, 65004)) }))).to.equal(true);
      expect(acceptedBy(only('{ asPath: { regex: "^$" } }'), route('10.0.0.0/8', { attrs: path() }))).to.equal(true);
      expect(acceptedBy(only('{ asPath: { regex: "^65001 65002$" } }'), route('10.0.0.0/8'))).to.equal(true);
    });

    it('remembers regex answers per path and per expression, not across them', () => {
      const first = only('{ asPath: { regex: "^65001_" } }');
      const second = only('{ asPath: { regex: "^65002_" } }');
      const r = route('10.0.0.0/8');
      for (let i = 0; i < 2; i++) {
        expect(acceptedBy(first, r)).to.equal(true);
        expect(acceptedBy(second, r)).to.equal(false);
        expect(acceptedBy(first, route('10.0.0.0/8', { attrs: path(seq(65002, 65001)) }))).to.equal(false);
        expect(acceptedBy(second, route('10.0.0.0/8', { attrs: path(seq(65002, 65001)) }))).to.equal(true);
      }
    });

    it('all conditions given must hold', () => {
      const p = only('{ asPath: { contains: 65001, length: { max: 1 } } }');
      expect(acceptedBy(p, route('10.0.0.0/8', { attrs: path(seq(65001)) }))).to.equal(true);
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
    });
  });

  it('conditions of one match combine with AND; no match at all matches everything', () => {
    const p = only('{ prefix: "10.0.0.0/8+", peerType: ebgp, community: "65000:1" }');
    expect(acceptedBy(p, route('10.1.0.0/16'))).to.equal(true);
    expect(acceptedBy(p, route('10.1.0.0/16', { peer: { address: '10.0.0.1', asn: 65000, ibgp: true } }))).to.equal(false);
    expect(acceptedBy(p, route('10.1.0.0/16', { attrs: withAttrs({ communities: [] }) }))).to.equal(false);
    expect(acceptedBy(policy('- action: accept'), route('192.168.0.0/16'))).to.equal(true);
  });
});
