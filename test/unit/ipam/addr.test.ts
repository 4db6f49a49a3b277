import { expect } from 'chai';
import { blockCount, canonicalIp, formatCidr, nthBlock, overlaps, parseCidr, parseIp, mustParseCidr } from '../../../src/ipam/addr.js';

describe('ipam/addr', () => {
  it('parses and prints IPv4 and IPv6 addresses canonically', () => {
    expect(canonicalIp('10.1.2.3')).to.equal('10.1.2.3');
    expect(canonicalIp('fd00:0:0::1')).to.equal('fd00::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).to.equal('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:10.0.0.1')).to.equal('::ffff:10.0.0.1'); // IPv4-mapped in mixed notation, as iproute2 prints it
    expect(canonicalIp('1:2:3:4:5:6:7:8')).to.equal('1:2:3:4:5:6:7:8');
    expect(canonicalIp('::')).to.equal('::');
    expect(parseIp('10.0.0.256')).to.equal(null);
    expect(parseIp('fd00::g')).to.equal(null);
  });

  it('refuses CIDRs with host bits, bad prefixes and non-addresses, naming the problem', () => {
    expect(parseCidr('10.0.0.1/24')).to.match(/host bits set \(the network is 10\.0\.0\.0\/24\)/);
    expect(parseCidr('10.0.0.0/33')).to.equal('has a bad prefix length');
    expect(parseCidr('10.0.0.0')).to.equal('has no prefix length');
    expect(parseCidr('x/8')).to.equal('is not an address');
    expect(formatCidr(mustParseCidr('fd00:0::/64'))).to.equal('fd00::/64');
  });

  it('enumerates the blocks of a pool', () => {
    const p = mustParseCidr('10.0.0.0/20');
    expect(blockCount(p, 26)).to.equal(64n);
    expect(formatCidr(nthBlock(p, 26, 0n))).to.equal('10.0.0.0/26');
    expect(formatCidr(nthBlock(p, 26, 63n))).to.equal('10.0.15.192/26');
    const v6 = mustParseCidr('fd00::/64');
    expect(blockCount(v6, 122)).to.equal(1n << 58n);
    expect(formatCidr(nthBlock(v6, 122, 1n))).to.equal('fd00::40/122');
    expect(overlaps(mustParseCidr('10.0.0.0/8'), mustParseCidr('10.1.0.0/16'))).to.equal(true);
    expect(overlaps(mustParseCidr('10.0.0.0/16'), mustParseCidr('10.1.0.0/16'))).to.equal(false);
  });
});
