import { expect } from 'chai';
import { addressInSubnet, InvalidAddressError, parseCidr } from '../../../src/kernel/addr.js';

describe('kernel/addr', () => {
  it('parses v4 and v6 CIDRs, writing v6 in canonical form', () => {
    expect(parseCidr('10.1.2.3/24')).to.deep.equal({ address: '10.1.2.3', prefixLength: 24, family: 4 });
    expect(parseCidr('FD00:0:0::0:1/64')).to.deep.equal({ address: 'fd00::1', prefixLength: 64, family: 6 });
    expect(parseCidr('::ffff:10.0.0.1/128').address).to.equal('::ffff:10.0.0.1'); // IPv4-mapped in mixed notation, as iproute2 prints it
  });

  it('rejects bad CIDRs with one line naming the field', () => {
    expect(() => parseCidr('10.0.0.1', 'hosts.subnet')).to.throw(InvalidAddressError, 'hosts.subnet: "10.0.0.1" has no prefix length');
    expect(() => parseCidr('10.0.0.256/24')).to.throw(InvalidAddressError, 'is not an IP address');
    expect(() => parseCidr('10.0.0.1/33')).to.throw(InvalidAddressError, 'bad prefix length');
    expect(() => parseCidr('fd00::1/129')).to.throw(InvalidAddressError, 'expected 0-128');
    expect(() => parseCidr('fd00::1/')).to.throw(InvalidAddressError);
  });

  it('hands out the n-th address of a subnet', () => {
    expect(addressInSubnet('10.9.0.0/24', 1)).to.equal('10.9.0.1/24');
    expect(addressInSubnet('10.9.0.77/24', 254)).to.equal('10.9.0.254/24');
    expect(addressInSubnet('10.9.0.0/16', 256)).to.equal('10.9.1.0/16');
    expect(addressInSubnet('fd00:1::/64', 1)).to.equal('fd00:1::1/64');
    expect(addressInSubnet('fd00:1::/64', 0x10000)).to.equal('fd00:1::1:0/64');
    expect(() => addressInSubnet('10.9.0.0/30', 4)).to.throw(InvalidAddressError, 'has no address number 4');
  });
});
