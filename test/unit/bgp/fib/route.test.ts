import { expect } from 'chai';
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { canonicalAddress, canonicalPrefix } from '../../../../src/bgp/fib/addr.js';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../../../src/common/ip.js';
import { normalizeNextHops, parseRouteLine, routeTail, sameNextHops } from '../../../../src/bgp/fib/route.js';

describe('bgp/fib: prefixes and addresses in iproute2 form', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIPv4('10.1.2.3')).to.equal(0x0a010203);
    expect(parseIPv4('255.255.255.255')).to.equal(0xffffffff);
    for (const bad of ['10.1.2', '10.1.2.3.4', '10.01.2.3', '256.1.1.1', '1..2.3', '', 'a.b.c.d', '1.2.3.4 ']) {
      expect(parseIPv4(bad), bad).to.equal(-1);
    }
  });

  it('canonicalizes prefixes the way ip prints them, and refuses host bits and bad lengths', () => {
    expect(canonicalPrefix('10.0.0.1/32').prefix).to.equal('10.0.0.1/32');
    expect(canonicalPrefix('10.0.0.1')).to.deep.equal({ prefix: '10.0.0.1/32', family: 4, length: 32 });
    expect(canonicalPrefix('0.0.0.0/0').length).to.equal(0);
    expect(canonicalPrefix('FD00:0:0::/64')).to.deep.equal({ prefix: 'fd00::/64', family: 6, length: 64 });
    expect(canonicalPrefix('fd00::1').prefix).to.equal('fd00::1/128');
    expect(canonicalPrefix('2001:db8:0:0:1:0:0:1/128').prefix).to.equal('2001:db8::1:0:0:1/128');
    expect(() => canonicalPrefix('10.0.0.1/24')).to.throw(/host bits/);
    expect(() => canonicalPrefix('fd00::1/64')).to.throw(/host bits/);
    expect(() => canonicalPrefix('10.0.0.0/33')).to.throw(/length/);
    expect(() => canonicalPrefix('10.0.0.0/08')).to.throw(/length/);
    expect(() => canonicalPrefix('fd00::/129')).to.throw(/length/);
    expect(() => canonicalPrefix('nonsense')).to.throw(/not an IPv4 or IPv6/);
    expect(() => canonicalPrefix('default')).to.throw(/0\.0\.0\.0\/0/);
  });

  it('formats IPv6 as RFC 5952 / inet_ntop (property: agrees with the URL parser and round-trips)', () => {
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1])).to.equal('::1');
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).to.equal('2001:db8::1:0:0:1');
    expect(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).to.equal('2001:db8:0:1:1:1:1:1'); // one zero group stays
    // What glibc's inet_ntop (so iproute2) prints, checked with Python's socket.inet_ntop:
    expect(formatIPv6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304])).to.equal('::ffff:1.2.3.4');
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 1, 2])).to.equal('::0.1.0.2');
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 2])).to.equal('::2');
    expect(formatIPv6([0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304])).to.equal('::ffff:0:102:304');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (g) => {
        const text = formatIPv6(g);
        expect(isIPv6(text)).to.equal(true);
        expect(parseIPv6(text)).to.deep.equal(g);
        // WHATWG URL serializes RFC 5952 too, except that it never embeds IPv4.
        if (!text.includes('.')) expect(new URL(`http://[${text}]/`).hostname).to.equal(`[${text}]`);
      }),
    );
    expect(parseIPv6('1:2:3:4:5:6:7')).to.equal(null);
    expect(parseIPv6('1::2::3')).to.equal(null);
    expect(parseIPv6('1:2:3:4:5:6:7:8:9')).to.equal(null);
    expect(canonicalAddress('FE80::B')).to.deep.equal({ address: 'fe80::b', family: 6 });
  });
});

describe('bgp/fib: next hops and route lines', () => {
  it('normalizes next hops: canonical, deduplicated, sorted, weight 1 left out', () => {
    expect(normalizeNextHops('p', ['10.0.0.2', { via: '10.0.0.1', weight: 1 }, '10.0.0.2'])).to.deep.equal([{ via: '10.0.0.1' }, { via: '10.0.0.2' }]);
    expect(normalizeNextHops('p', [{ via: 'FE80::1', dev: 'eth0', weight: 3 }])).to.deep.equal([{ via: 'fe80::1', dev: 'eth0', weight: 3 }]);
    expect(() => normalizeNextHops('p', [{ via: '10.0.0.1', weight: 0 }])).to.throw(/weight 0/);
    expect(() => normalizeNextHops('p', [{ via: '10.0.0.1', weight: 257 }])).to.throw(/weight 257/);
    expect(() => normalizeNextHops('p', [{ via: '10.0.0.1', dev: 'a:b' }])).to.throw(/interface name/);
  });

  it('writes one next hop as via, several as nexthop ... weight, and a v6 next hop of a v4 route as via inet6', () => {
    expect(routeTail(4, [{ via: '10.0.0.1' }])).to.equal('via 10.0.0.1');
    expect(routeTail(6, [{ via: 'fe80::1', dev: 'eth0' }])).to.equal('via fe80::1 dev eth0');
    expect(routeTail(4, [{ via: '10.0.0.1' }, { via: '10.0.0.2', weight: 2 }])).to.equal('nexthop via 10.0.0.1 weight 1 nexthop via 10.0.0.2 weight 2');
    expect(routeTail(4, [{ via: 'fe80::1', dev: 'eth0' }])).to.equal('via inet6 fe80::1 dev eth0');
  });

  it('parses ip -o route show lines (single, multipath, v6, typed, v4-via-v6), as iproute2 6.1 prints them', () => {
    expect(parseRouteLine('10.64.0.1 via 10.99.0.2 dev fx0 metric 32 ', 4)).to.deep.equal({
      prefix: '10.64.0.1/32', family: 4, type: 'unicast', metric: 32, nextHops: [{ via: '10.99.0.2', dev: 'fx0', weight: 1 }],
    });
    expect(parseRouteLine('10.52.0.1 metric 32 \\\tnexthop via 10.99.0.2 dev fx0 weight 3 \\\tnexthop via 10.99.0.3 dev fx0 weight 1 ', 4)!.nextHops).to.deep.equal([
      { via: '10.99.0.2', dev: 'fx0', weight: 3 },
      { via: '10.99.0.3', dev: 'fx0', weight: 1 },
    ]);
    expect(parseRouteLine('fd50::/64 metric 32 pref medium\\\tnexthop via fd99::2 dev fx0 weight 1 \\\tnexthop via fe80::1 dev fx0 weight 1 ', 6)).to.deep.equal({
      prefix: 'fd50::/64', family: 6, type: 'unicast', metric: 32,
      nextHops: [{ via: 'fd99::2', dev: 'fx0', weight: 1 }, { via: 'fe80::1', dev: 'fx0', weight: 1 }],
    });
    expect(parseRouteLine('fd51::1 via fe80::2 dev fx0 metric 1024 expires 299sec pref medium', 6)).to.include({ prefix: 'fd51::1/128', metric: 1024 });
    expect(parseRouteLine('10.53.0.0/24 via inet6 fe80::5 dev fx0 ', 4)!.nextHops).to.deep.equal([{ via: 'fe80::5', dev: 'fx0', weight: 1 }]);
    expect(parseRouteLine('blackhole 10.9.0.0/16 metric 32 ', 4)).to.deep.equal({ prefix: '10.9.0.0/16', family: 4, type: 'blackhole', metric: 32, nextHops: [] });
    expect(parseRouteLine('default via 10.0.0.1 dev eth0 ', 4)!.prefix).to.equal('0.0.0.0/0');
    expect(parseRouteLine('10.1.0.0/16 dev eth0 scope link ', 4)!.nextHops).to.deep.equal([{ dev: 'eth0', weight: 1 }]);
    expect(parseRouteLine('', 4)).to.equal(null);
  });

  it('compares wanted next hops with the kernel: the interface counts only where asked, weights only for ECMP', () => {
    const k = [{ via: '10.0.0.1', dev: 'eth0', weight: 1 }];
    expect(sameNextHops([{ via: '10.0.0.1' }], k)).to.equal(true);
    expect(sameNextHops([{ via: '10.0.0.1', dev: 'eth0' }], k)).to.equal(true);
    expect(sameNextHops([{ via: '10.0.0.1', dev: 'eth1' }], k)).to.equal(false);
    expect(sameNextHops([{ via: '10.0.0.2' }], k)).to.equal(false);
    const ecmp = [{ via: '10.0.0.1', dev: 'a', weight: 1 }, { via: '10.0.0.2', dev: 'b', weight: 2 }];
    expect(sameNextHops([{ via: '10.0.0.2', weight: 2 }, { via: '10.0.0.1' }], ecmp)).to.equal(true);
    expect(sameNextHops([{ via: '10.0.0.2' }, { via: '10.0.0.1' }], ecmp)).to.equal(false);
    expect(sameNextHops([{ via: '10.0.0.1' }], ecmp)).to.equal(false);
  });
});
