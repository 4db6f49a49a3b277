import { expect } from 'chai';
import { AutodetectError, parseAutodetectMethod, selectAddress, type IpAddrLink } from '../../../src/node/autodetect.js';

const link = (ifname: string, addrs: [string, string, number, string?][], up = true): IpAddrLink => ({
  ifname,
  flags: up ? ['BROADCAST', 'UP', 'LOWER_UP'] : ['BROADCAST'],
  operstate: up ? 'UP' : 'DOWN',
  addr_info: addrs.map(([family, local, prefixlen, scope]) => ({ family, local, prefixlen, scope: scope ?? 'global' })),
});

// As `ip -j addr` shows a typical host: loopback, docker, a workload veth, two NICs.
const LINKS: IpAddrLink[] = [
  link('lo', [['inet', '127.0.0.1', 8, 'host'], ['inet6', '::1', 128, 'host']]),
  link('docker0', [['inet', '172.17.0.1', 16]]),
  link('tortie1a2b3c4d5e', [['inet', '169.254.1.1', 32]]),
  link('veth9', [['inet', '10.9.9.9', 24]]),
  link('eth0', [['inet6', 'fe80::1', 64, 'link'], ['inet', '192.168.1.10', 24], ['inet', '192.168.1.11', 24], ['inet6', 'fd00::10', 64]]),
  link('eth1', [['inet', '10.240.0.5', 16]]),
  link('eth2', [['inet', '10.250.0.5', 16]], false),
];

const pick = (method: string, family: 4 | 6 = 4, source?: string | null) => selectAddress(parseAutodetectMethod(method), family, LINKS, source);

describe('node: address autodetection', function () {
  it('first-found skips lo, docker*, veth*, tortie* and link-local addresses', function () {
    expect(pick('first-found')).to.equal('192.168.1.10/24');
    expect(pick('first-found', 6)).to.equal('fd00::10/64');
  });

  it('interface=REGEX (in the order given) and skip-interface=REGEX', function () {
    expect(pick('interface=eth1')).to.equal('10.240.0.5/16');
    expect(pick('interface=eth9,eth1,eth0')).to.equal('10.240.0.5/16');
    expect(pick('interface=eth.*')).to.equal('192.168.1.10/24');
    // Anchored at the start: "eth" does not pick veth9.
    expect(pick('interface=eth')).to.equal('192.168.1.10/24');
    expect(pick('skip-interface=eth0,docker.*,tortie.*,veth.*')).to.equal('10.240.0.5/16');
    expect(pick('skip-interface=eth.*')).to.equal('172.17.0.1/16'); // only what it is told to skip (and lo)
  });

  it('can-reach=IP takes the source address the kernel would use', function () {
    expect(pick('can-reach=10.240.1.1', 4, '10.240.0.5')).to.equal('10.240.0.5/16');
    expect(() => pick('can-reach=10.99.0.1', 4, null)).to.throw(AutodetectError, /can-reach=10\.99\.0\.1: no route to 10\.99\.0\.1/);
  });

  it('cidr=CIDR takes the first address inside one of them; down interfaces never count', function () {
    expect(pick('cidr=10.240.0.0/12')).to.equal('10.240.0.5/16');
    expect(pick('cidr=10.0.0.0/8')).to.equal('10.9.9.9/24'); // veth9 is up and inside: cidr= has no exclusions
    expect(pick('cidr=fd00::/8', 6)).to.equal('fd00::10/64');
    expect(() => pick('cidr=10.250.0.0/16')).to.throw(AutodetectError);
  });

  it('a method that matches nothing is one line naming the method and what was seen', function () {
    let err: Error | undefined;
    try {
      pick('interface=wlan.*');
    } catch (e) {
      err = e as Error;
    }
    expect(err).to.be.instanceOf(AutodetectError);
    expect(err!.message).to.match(/^IPv4 autodetection interface=wlan\.\*: no interface matches \(global IPv4 addresses seen: docker0 172\.17\.0\.1\/16, /);
    expect(err!.message).not.to.contain('\n');
    expect(() => selectAddress({ kind: 'first-found' }, 6, [LINKS[0]!, LINKS[5]!])).to.throw(/IPv6 autodetection first-found: .*seen: none/);
  });

  it('refuses unknown methods and bad values', function () {
    expect(() => parseAutodetectMethod('kubernetes-internal-ip')).to.throw(AutodetectError, /unknown method; use first-found, interface=REGEX/);
    expect(() => parseAutodetectMethod('can-reach=example.com')).to.throw(/one IP address/);
    expect(() => parseAutodetectMethod('cidr=10.0.0.0/33')).to.throw(/"10\.0\.0\.0\/33" is not a CIDR/);
    expect(() => parseAutodetectMethod('interface=(', '--ip6-autodetect')).to.throw(/--ip6-autodetect "interface=\(": "\(" is not a regular expression/);
    expect(() => parseAutodetectMethod('interface=')).to.throw(/needs a value/);
  });
});
