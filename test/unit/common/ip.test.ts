import { expect } from 'chai';
import fc from 'fast-check';
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp, formatIp, parseIp } from '../../../src/common/ip.js';

describe('common/ip', () => {
  it('prints IPv6 in RFC 5952 form', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longer run wins
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first run wins a tie
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // IPv4-mapped in mixed notation (RFC 5952 §5), as inet_ntop
      ['::', '::'],
      ['FD00::A', 'fd00::a'],
    ];
    for (const [input, want] of cases) expect(canonicalIp(input), input).to.equal(want);
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4x', '1::2::3', 'gggg::', '1:2:3:4:5:6:7:8:9', '10.0.0.0/8']) {
      expect(parseIp(bad), bad).to.equal(null);
    }
  });

  it('round-trips every address through its BigInt form, agreeing with node:net', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = parseIp(text);
        expect(ip, text).to.not.equal(null);
        const back = formatIp(ip!.family, ip!.value);
        expect(ip!.family === 4 ? isIPv4(back) : isIPv6(back)).to.equal(true);
        expect(parseIp(back)!.value).to.equal(ip!.value);
      }),
      { numRuns: 2000 },
    );
  });
});
