import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeMessage,
  decodeUpdate,
  encodeAttributes,
  encodeEndOfRib,
  encodeUpdate,
  endOfRibFamily,
  familyKey,
  ipv4FromString,
  ipv6FromString,
  IPV4_UNICAST,
  IPV6_UNICAST,
  nlriFromStrings,
  nlriToStrings,
  packAnnouncements,
  packWithdrawals,
  PLAIN_WIRE_FORMAT,
  wireFormat,
  type SessionWireFormat,
} from '../../../../src/bgp/wire/index.js';
import { attributesArb, nlriArb } from './arbitraries.js';
import { loadGoldenVectors } from './fixtures.js';

const AS4 = wireFormat({ as4: true });

function formats(): { name: string; wire: SessionWireFormat }[] {
  const both = new Set([IPV4_UNICAST, IPV6_UNICAST]);
  return [
    { name: 'plain', wire: PLAIN_WIRE_FORMAT },
    { name: 'as4', wire: AS4 },
    { name: 'as4+add-path', wire: wireFormat({ as4: true, addPathReceive: both, addPathSend: both }) },
    { name: '2-octet+add-path', wire: wireFormat({ addPathReceive: both, addPathSend: both }) },
  ];
}

describe('bgp/wire UPDATE', () => {
  for (const { name, wire } of formats()) {
    it(`round-trips UPDATEs with every attribute, IPv4 and IPv6 NLRI (${name}, property)`, () => {
      const addPath = wire.addPathSend.size > 0;
      const arb = fc.record({
        withdrawn: nlriArb(1, addPath, 20),
        announced: nlriArb(1, addPath, 20),
        attrs: attributesArb(wire.as4, true),
        v6: fc.option(fc.record({ nlri: nlriArb(2, addPath, 15), linkLocal: fc.boolean() })),
        v6w: fc.option(nlriArb(2, addPath, 15)),
      });
      fc.assert(
        fc.property(arb, ({ withdrawn, announced, attrs, v6, v6w }) => {
          const nh = Buffer.concat([ipv6FromString('2001:db8::1')!, v6?.linkLocal ? ipv6FromString('fe80::1')! : Buffer.alloc(0)]);
          const msg = encodeUpdate(
            {
              withdrawn,
              announced,
              attributes: attrs,
              ...(v6 ? { mpReach: { afi: 2, safi: 1, nextHop: nh, nlri: v6.nlri } } : {}),
              ...(v6w ? { mpUnreach: { afi: 2, safi: 1, nlri: v6w } } : {}),
            },
            wire,
          );
          const r = decodeUpdate(msg, wire);
          expect(r.problems).to.deep.equal([]);
          const u = r.update!;
          expect(nlriToStrings(u.withdrawn)).to.deep.equal(nlriToStrings(withdrawn));
          expect(nlriToStrings(u.announced)).to.deep.equal(nlriToStrings(announced));
          expect(u.attributes).to.deep.equal(attrs);
          if (v6) {
            expect(u.mpReach?.nextHop.equals(nh)).to.equal(true);
            expect(nlriToStrings(u.mpReach!.nlri!)).to.deep.equal(nlriToStrings(v6.nlri));
          } else expect(u.mpReach).to.equal(null);
          if (v6w) expect(nlriToStrings(u.mpUnreach!.nlri!)).to.deep.equal(nlriToStrings(v6w));
          // The interning key depends only on the attribute set, not on the prefixes.
          const again = decodeUpdate(encodeUpdate({ announced: nlriArbSample(), attributes: attrs }, wire), wire);
          if (!v6) expect(again.update!.attributeKey.equals(u.attributeKey)).to.equal(true);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('decodes the hand-made RFC vectors', () => {
    const vs = loadGoldenVectors();
    const v4 = vs.find((v) => v.note.startsWith('UPDATE (2-octet AS)'))!;
    const r = decodeUpdate(v4.message, v4.wire);
    expect(r.action).to.equal(null);
    expect(nlriToStrings(r.update!.withdrawn)).to.deep.equal(['172.16.0.0/16']);
    expect(nlriToStrings(r.update!.announced)).to.deep.equal(['198.51.100.0/24', '10.1.2.3/32', '10.0.0.0/8']);
    expect(r.update!.attributes).to.deep.equal({ origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], nextHop: ipv4FromString('192.0.2.1'), med: 100 });
    // Our encoder writes these attributes byte for byte as the RFC layout does.
    expect(encodeUpdate({ withdrawn: r.update!.withdrawn, announced: r.update!.announced, attributes: r.update!.attributes }, v4.wire).equals(v4.message)).to.equal(true);

    const v6 = vs.find((v) => v.note.startsWith('UPDATE (4-octet AS)'))!;
    const r6 = decodeUpdate(v6.message, v6.wire);
    expect(r6.action).to.equal(null);
    expect(r6.update!.mpReach!.nextHop.toString('hex')).to.equal('20010db8000000000000000000000001fe800000000000000000000000000001');
    expect(nlriToStrings(r6.update!.mpReach!.nlri!)).to.deep.equal(['2001:db8::/32', '2001:db8:1:2::1/128']);
    expect(r6.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [4200000001] }]);
    expect(r6.update!.attributes.communities).to.deep.equal([65001 * 65536 + 100, 0xffffff01]);
    expect(r6.update!.attributes.largeCommunities).to.deep.equal([{ globalAdmin: 4200000001, localData1: 1, localData2: 2 }]);
  });

  it('rebuilds the real path from AS4_PATH and AS4_AGGREGATOR of a 2-octet peer (RFC 6793 §4.2.3)', () => {
    const v = loadGoldenVectors().find((g) => g.note.startsWith('UPDATE towards a 2-octet peer'))!;
    const r = decodeUpdate(v.message, v.wire);
    expect(r.action).to.equal(null);
    expect(r.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [65001, 4200000001] }]);
    expect(r.update!.attributes.aggregator).to.deep.equal({ asn: 4200000001, address: ipv4FromString('10.9.9.9') });
    // And we write the same bytes towards a 2-octet peer.
    const again = encodeUpdate({ announced: r.update!.announced, attributes: r.update!.attributes }, PLAIN_WIRE_FORMAT);
    expect(again.equals(v.message)).to.equal(true);
  });

  it('keeps the AS_PATH prefix AS4_PATH lacks, and ignores AS4_PATH when it is longer', () => {
    // AS_PATH 65010 65001 AS_TRANS from an old speaker that prepended 65010; AS4_PATH 65001 4200000001.
    const attrs = Buffer.from('4001010040020802036' + '5f2fde95ba04003040a000001c0110a0202' + '0000fde9fa56ea01', 'hex');
    const msg = encodeUpdate({ attributes: attrs, announced: nlriFromStrings(1, ['10.0.0.0/8']) }, PLAIN_WIRE_FORMAT);
    const r = decodeUpdate(msg, PLAIN_WIRE_FORMAT);
    expect(r.problems).to.deep.equal([]);
    expect(r.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [26098, 65001, 4200000001] }]);
    // With AS4_PATH longer than AS_PATH, AS4_PATH is ignored.
    const longer = Buffer.from('4001010040020402015ba04003040a000001c0110a02020000fde9fa56ea01', 'hex');
    const r2 = decodeUpdate(encodeUpdate({ attributes: longer, announced: nlriFromStrings(1, ['10.0.0.0/8']) }, PLAIN_WIRE_FORMAT), PLAIN_WIRE_FORMAT);
    expect(r2.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [23456] }]);
  });

  it('discards AS4_PATH and AS4_AGGREGATOR between two 4-octet speakers (RFC 6793 §4.1)', () => {
    const attrs = Buffer.from('40010100400206020100000001' + '4003040a000001' + 'c0110a02020000fde9fa56ea01', 'hex');
    const r = decodeUpdate(encodeUpdate({ attributes: attrs, announced: nlriFromStrings(1, ['10.0.0.0/8']) }, AS4), AS4);
    expect(r.problems).to.deep.equal([]);
    expect(r.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [1] }]);
  });

  it('passes unknown optional transitive attributes on with Partial set, drops non-transitive ones', () => {
    const attrs = Buffer.from('400101004002004003040a000001' + 'c0630201ff' + '80640100', 'hex');
    const r = decodeUpdate(encodeUpdate({ attributes: attrs, announced: nlriFromStrings(1, ['10.0.0.0/8']) }, AS4), AS4);
    expect(r.problems).to.deep.equal([]);
    expect(r.update!.attributes.unknown).to.deep.equal([{ flags: 0xe0, type: 0x63, value: Buffer.from([1, 0xff]) }]);
    const out = encodeAttributes(r.update!.attributes, AS4);
    expect(out.toString('hex')).to.contain('e0630201ff');
    expect(out.toString('hex')).to.not.contain('8064');
  });

  describe('End-of-RIB', () => {
    it('is an empty UPDATE for IPv4 unicast and an empty MP_UNREACH for other families', () => {
      for (const fam of [IPV4_UNICAST, IPV6_UNICAST, familyKey(1, 2)]) {
        const r = decodeUpdate(encodeEndOfRib(fam), AS4);
        expect(endOfRibFamily(r.update!)).to.equal(fam);
      }
      const vs = loadGoldenVectors().filter((v) => v.note.includes('End-of-RIB'));
      expect(vs.map((v) => endOfRibFamily(decodeUpdate(v.message, v.wire).update!))).to.deep.equal([IPV4_UNICAST, IPV6_UNICAST]);
    });
    it('is not an UPDATE that carries anything', () => {
      const w = decodeUpdate(packWithdrawals({ prefixes: nlriFromStrings(2, ['2001:db8::/32']) }, AS4)[0]!, AS4);
      expect(endOfRibFamily(w.update!)).to.equal(null);
      const a = decodeUpdate(encodeUpdate({ withdrawn: nlriFromStrings(1, ['10.0.0.0/8']) }, AS4), AS4);
      expect(endOfRibFamily(a.update!)).to.equal(null);
    });
  });

  describe('packer', () => {
    const attrs = encodeAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: 0x0a000001, localPref: 100 }, AS4);
    function slash32s(n: number) {
      const l = nlriFromStrings(1, []);
      const list = { ...l, count: n, addrs: new Uint32Array(n), lengths: new Uint8Array(n).fill(32) };
      for (let i = 0; i < n; i++) list.addrs[i] = (0x0a000000 + i) >>> 0;
      return list;
    }
    for (const max of [4096, 65535]) {
      it(`fills each UPDATE up to ${max} bytes and loses no prefix`, () => {
        const wire = wireFormat({ as4: true, maxSendLength: max, maxReceiveLength: max });
        const list = slash32s(10000);
        const msgs = packAnnouncements({ attributes: attrs, prefixes: list }, wire);
        let seen = 0;
        for (const [i, m] of msgs.entries()) {
          expect(m.length).to.be.at.most(max);
          if (i < msgs.length - 1) expect(m.length).to.be.above(max - 5); // full, bar one /32
          const r = decodeUpdate(m, wire);
          expect(r.action).to.equal(null);
          for (let k = 0; k < r.update!.announced.count; k++) expect(r.update!.announced.addrs[k]).to.equal(list.addrs[seen + k]);
          seen += r.update!.announced.count;
          expect(r.update!.attributeKey.equals(decodeUpdate(msgs[0]!, wire).update!.attributeKey)).to.equal(true);
        }
        expect(seen).to.equal(10000);
        const wd = packWithdrawals({ prefixes: list }, wire);
        expect(wd.reduce((s, m) => s + decodeUpdate(m, wire).update!.withdrawn.count, 0)).to.equal(10000);
      });
    }
    it('packs IPv6 into MP_REACH / MP_UNREACH, with ADD-PATH ids and RFC 8950 IPv4 over an IPv6 next hop', () => {
      const both = new Set([IPV4_UNICAST, IPV6_UNICAST]);
      const wire = wireFormat({ as4: true, addPathSend: both, addPathReceive: both, extendedNextHop: new Set([IPV4_UNICAST]) });
      const v6 = nlriFromStrings(2, Array.from({ length: 500 }, (_, i) => ({ prefix: `2001:db8:${i.toString(16)}::/48`, pathId: i + 1 })));
      const nh = ipv6FromString('2001:db8::1')!;
      const attrs6 = encodeAttributes({ origin: 0, asPath: [] }, wire);
      const msgs = packAnnouncements({ attributes: attrs6, prefixes: v6, nextHop: nh }, wire);
      const got = msgs.flatMap((m) => {
        const r = decodeUpdate(m, wire);
        expect(r.problems).to.deep.equal([]);
        return nlriToStrings(r.update!.mpReach!.nlri!);
      });
      expect(got).to.deep.equal(nlriToStrings(v6));
      const v4 = nlriFromStrings(1, ['10.0.0.0/8', '192.0.2.1/32']);
      const m4 = packAnnouncements({ attributes: attrs6, prefixes: v4, nextHop: nh }, wire);
      const r4 = decodeUpdate(m4[0]!, wire);
      expect(r4.problems).to.deep.equal([]);
      expect(r4.update!.mpReach!.afi).to.equal(1);
      expect(r4.update!.mpReach!.nextHop.equals(nh)).to.equal(true);
      expect(nlriToStrings(r4.update!.mpReach!.nlri!)).to.deep.equal(['10.0.0.0/8#0', '192.0.2.1/32#0']);
      // Without RFC 8950 negotiated, an IPv6 next hop for IPv4 NLRI is refused.
      const plain = decodeUpdate(m4[0]!, wireFormat({ as4: true, addPathReceive: both }));
      expect(plain.action).to.equal('afi-safi-disable');
    });
  });

  it('decodes every golden vector through decodeMessage without problems', () => {
    for (const v of loadGoldenVectors()) {
      const r = decodeMessage(v.message, v.wire);
      expect(r.type, `${v.file}:${v.line} ${v.note}`).to.not.equal('error');
      if (r.type === 'update') expect(r.problems, `${v.file}:${v.line}`).to.deep.equal([]);
    }
  });
});

function nlriArbSample() {
  return nlriFromStrings(1, ['203.0.113.0/24']);
}
