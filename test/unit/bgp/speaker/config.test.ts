import { expect } from 'chai';
import { parseSpeakerConfig } from '../../../../src/bgp/speaker/config.js';

const ROUTE_SERVER = `
asn: 65000
routerId: 192.0.2.1
listen: { address: 0.0.0.0, port: 179 }
peers:
  - { address: 192.0.2.10, asn: 65010, import: accept-all, export: accept-all, routeServerClient: true }
  - { address: 192.0.2.20, asn: 65020, import: accept-all, export: accept-all, routeServerClient: true, password: s3cret, ttlSecurity: 1 }
  - { address: "2001:db8::30", asn: 65030, families: [ipv6], passive: true, holdTime: 9 }
originate:
  - 10.1.0.0/24
  - { prefix: 10.2.0.0/24, communities: ["65000:1", no-export], localPref: 200 }
fib: { install: true, table: 100 }
control: { socket: /tmp/x.sock }
`;

function errorOf(text: string): string {
  try {
    parseSpeakerConfig(text, 'bgp.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('speaker config', () => {
  it('reads a route-server config with every documented key', () => {
    const c = parseSpeakerConfig(ROUTE_SERVER, 'bgp.yaml');
    expect(c.asn).to.equal(65000);
    expect(c.listen).to.deep.equal({ address: '0.0.0.0', port: 179 });
    expect(c.peers.map((p) => p.address)).to.deep.equal(['192.0.2.10', '192.0.2.20', '2001:db8::30']);
    expect(c.peers[1]).to.include({ password: 's3cret', ttlSecurity: 1, routeServerClient: true, holdTime: 90, port: 179 });
    expect(c.peers[2]).to.include({ passive: true, holdTime: 9 });
    expect(c.peers[2]!.families).to.deep.equal(['ipv6']);
    expect(c.peers[0]!.families).to.deep.equal(['ipv4']);
    expect(c.originate[1]).to.deep.equal({ prefix: '10.2.0.0/24', communities: ['65000:1', 'no-export'], localPref: 200, nextHop: undefined, med: undefined });
    expect(c.fib).to.deep.equal({ install: true, table: 100, repairIntervalMs: 30_000 });
    expect(c.control.socket).to.equal('/tmp/x.sock');
    expect(c.ebgpRequiresPolicy).to.equal(true);
  });

  it('applies defaults for a minimal config', () => {
    const c = parseSpeakerConfig('asn: 64512\nrouterId: 10.0.0.1\n');
    expect(c.listen).to.deep.equal({ address: '0.0.0.0', port: 179 });
    expect(c.peers).to.deep.equal([]);
    expect(c.control.socket).to.equal('/run/tortie/bgp.sock');
    expect(c.fib).to.deep.equal({ install: false, table: 254, repairIntervalMs: 30_000 });
    expect(c.multipath).to.equal(1);
    expect(c.clusterId).to.equal(undefined);
    expect(c.gracefulRestart).to.deep.equal({ enabled: true, restartTime: 120, selectionDeferralTime: 120 });
  });

  it('takes speaker-wide graceful restart as the peers\' default, multipath and a cluster id', () => {
    const c = parseSpeakerConfig([
      'asn: 64512', 'routerId: 10.0.0.1', 'clusterId: 10.0.0.100', 'multipath: 4',
      'gracefulRestart: { restartTime: 30, selectionDeferralTime: 10 }',
      'peers:', '  - { address: 10.0.0.2, asn: 64512 }', '  - { address: 10.0.0.3, asn: 64512, gracefulRestart: false }',
    ].join('\n'));
    expect(c.clusterId).to.equal('10.0.0.100');
    expect(c.multipath).to.equal(4);
    expect(c.peers[0]!.gracefulRestart).to.deep.equal({ enabled: true, restartTime: 30 });
    expect(c.peers[1]!.gracefulRestart).to.deep.equal({ enabled: false, restartTime: 30 });
    expect(() => parseSpeakerConfig('asn: 1\nrouterId: 10.0.0.1\nmultipath: 0\n')).to.throw(/multipath/);
    expect(() => parseSpeakerConfig('asn: 1\nrouterId: 10.0.0.1\nclusterId: x\n')).to.throw(/clusterId: "x" is not a cluster id/);
  });

  it('turns listening off with port 0', () => {
    expect(parseSpeakerConfig('asn: 1\nrouterId: 10.0.0.1\nlisten: { port: 0 }\n').listen).to.equal(null);
  });

  const bad: [string, string, RegExp][] = [
    ['a missing asn', 'routerId: 10.0.0.1\n', /^bgp\.yaml: asn: is required$/],
    ['a bad router id', 'asn: 1\nrouterId: 0.0.0.0\n', /routerId: "0\.0\.0\.0" is not a router id/],
    ['a hold time of 2', 'asn: 1\nrouterId: 1.1.1.1\npeers: [{address: 10.0.0.2, asn: 2, holdTime: 2}]\n', /peers\[0\]\.holdTime: 2 is not allowed/],
    ['a typo in a peer', 'asn: 1\nrouterId: 1.1.1.1\npeers: [{address: 10.0.0.2, asn: 2, pasive: true}]\n', /peers\[0\]\.pasive: unknown field \(did you mean passive\?\)/],
    ['an unknown policy', 'asn: 1\nrouterId: 1.1.1.1\npeers: [{address: 10.0.0.2, asn: 2, import: mine}]\n', /peers\[0\]\.import: no policy named "mine"/],
    ['a bad prefix', 'asn: 1\nrouterId: 1.1.1.1\noriginate: [10.0.0.0/33]\n', /originate\[0\]: "10\.0\.0\.0\/33" is not a prefix/],
    ['a peer listed twice', 'asn: 1\nrouterId: 1.1.1.1\npeers: [{address: 10.0.0.2, asn: 2}, {address: 10.0.0.2, asn: 3}]\n', /peers\[1\]\.address: 10\.0\.0\.2 is listed twice/],
    ['an asn out of range', 'asn: 4294967296\nrouterId: 1.1.1.1\n', /asn: 4294967296 is out of range/],
    ['malformed YAML', 'asn: [1\nrouterId: 1.1.1.1\n', /^bgp\.yaml: line \d+, column \d+: /],
    ['a long MD5 key', `asn: 1\nrouterId: 1.1.1.1\npeers: [{address: 10.0.0.2, asn: 2, password: ${'x'.repeat(81)}}]\n`, /password: must be 1-80 bytes/],
  ];
  for (const [what, text, expected] of bad) {
    it(`refuses ${what} with one line naming the field`, () => {
      const message = errorOf(text);
      expect(message).to.match(expected);
      expect(message).not.to.include('\n');
    });
  }
});
