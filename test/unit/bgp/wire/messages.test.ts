import { expect } from 'chai';
import fc from 'fast-check';
import {
  ceaseWithMessage,
  decodeMessage,
  decodeNotification,
  decodeRouteRefresh,
  describeNotification,
  encodeNotification,
  encodeRouteRefresh,
  ipv4FromString,
  ipv4ToString,
  ipv6FromString,
  ipv6ToString,
  nlriFromStrings,
  nlriToStrings,
  decodeNlri,
  encodeNlri,
  nlriEncodingLength,
  PLAIN_WIRE_FORMAT,
  shutdownMessage,
} from '../../../../src/bgp/wire/index.js';
import { nlriArb } from './arbitraries.js';
import { loadGoldenVectors } from './fixtures.js';

describe('bgp/wire NOTIFICATION, ROUTE-REFRESH, NLRI, addresses', () => {
  it('round-trips NOTIFICATIONs (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 100 }), (code, subcode, data) => {
        const r = decodeNotification(encodeNotification({ code, subcode, data: Buffer.from(data) }));
        expect(r.ok && r.value).to.deep.equal({ code, subcode, data: Buffer.from(data) });
      }),
    );
  });

  it('carries an RFC 9003 shutdown message and cuts it at 255 bytes on a character boundary', () => {
    const v = loadGoldenVectors().find((g) => g.note.includes('RFC 9003'))!;
    const r = decodeNotification(v.message);
    expect(r.ok && shutdownMessage(r.value)).to.equal('maintenance window');
    expect(r.ok && describeNotification(r.value.code, r.value.subcode, r.value.data)).to.equal('Cease / Administrative Shutdown: "maintenance window"');
    expect(encodeNotification(ceaseWithMessage(2, 'maintenance window')).equals(v.message)).to.equal(true);
    const long = ceaseWithMessage(4, 'é'.repeat(200)); // 400 bytes of UTF-8
    expect(long.data[0]).to.equal(254);
    expect(shutdownMessage(long)).to.equal('é'.repeat(127));
    // A length octet past the data is no message, not a crash.
    expect(shutdownMessage({ code: 6, subcode: 2, data: Buffer.from([9, 0x61]) })).to.equal(null);
    expect(describeNotification(2, 2, Buffer.alloc(0))).to.equal('OPEN Message Error / Bad Peer AS');
  });

  it('round-trips ROUTE-REFRESH with RFC 7313 subtypes and reports a bad length as 7/1', () => {
    for (const subtype of [0, 1, 2]) {
      const r = decodeRouteRefresh(encodeRouteRefresh({ afi: 2, safi: 1, subtype }));
      expect(r.ok && r.value).to.deep.equal({ afi: 2, safi: 1, subtype });
    }
    const vs = loadGoldenVectors().filter((g) => g.note.startsWith('ROUTE-REFRESH'));
    expect(vs.map((v) => { const r = decodeRouteRefresh(v.message); return r.ok ? r.value.subtype : -1; })).to.deep.equal([0, 1, 2]);
    const long = Buffer.concat([encodeRouteRefresh({ afi: 1, safi: 1, subtype: 1 }), Buffer.from([0])]);
    long.writeUInt16BE(24, 16);
    const bad = decodeMessage(long, PLAIN_WIRE_FORMAT);
    expect(bad.type === 'error' && [bad.problems[0]?.code, bad.problems[0]?.subcode, bad.problems[0]?.data.length]).to.deep.equal([7, 1, 24]);
  });

  for (const afi of [1, 2] as const) {
    for (const ids of [false, true]) {
      it(`round-trips NLRI afi ${afi}${ids ? ' with path ids' : ''} (property)`, () => {
        fc.assert(
          fc.property(nlriArb(afi, ids, 60), (list) => {
            const len = nlriEncodingLength(list, 0, list.count, ids);
            const buf = Buffer.alloc(len);
            expect(encodeNlri(list, 0, list.count, buf, 0, ids)).to.equal(len);
            const back = decodeNlri(buf, 0, len, afi, ids);
            expect(typeof back).to.not.equal('string');
            if (typeof back !== 'string') expect(nlriToStrings(back)).to.deep.equal(nlriToStrings(list));
          }),
        );
      });
    }
  }

  it('clears host bits on decode and refuses lengths over the family maximum', () => {
    const r = decodeNlri(Buffer.from([24, 10, 1, 2, 9, 0xff, 0xff]), 0, 7, 1, false);
    expect(typeof r !== 'string' && nlriToStrings(r)).to.deep.equal(['10.1.2.0/24', '255.128.0.0/9']);
    expect(decodeNlri(Buffer.from([33, 1, 2, 3, 4, 5]), 0, 6, 1, false)).to.be.a('string');
    expect(decodeNlri(Buffer.from([129, ...new Array(17).fill(0)]), 0, 18, 2, false)).to.be.a('string');
    expect(decodeNlri(Buffer.from([0, 0, 0, 1]), 0, 4, 1, true)).to.be.a('string'); // path id, no length
  });

  it('converts addresses to and from text', () => {
    expect(ipv4ToString(ipv4FromString('192.0.2.255')!)).to.equal('192.0.2.255');
    expect(ipv4FromString('256.0.0.1')).to.equal(null);
    expect(ipv4FromString('1.2.3')).to.equal(null);
    expect(ipv6ToString(ipv6FromString('2001:db8:0:0:1:0:0:1')!)).to.equal('2001:db8::1:0:0:1');
    expect(ipv6ToString(ipv6FromString('::')!)).to.equal('::');
    expect(ipv6ToString(ipv6FromString('::ffff:192.0.2.1')!)).to.equal('::ffff:192.0.2.1'); // mixed notation for IPv4-mapped (RFC 5952 §5), as inet_ntop
    expect(ipv6FromString('1::2::3')).to.equal(null);
    expect(ipv6FromString('1:2:3:4:5:6:7:8:9')).to.equal(null);
    expect(nlriToStrings(nlriFromStrings(2, ['fe80::1/64']))).to.deep.equal(['fe80::/64']);
  });
});
