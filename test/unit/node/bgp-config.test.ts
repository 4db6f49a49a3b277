import { expect } from 'chai';
import { checkSpeakerConfig } from '../../../src/bgp/speaker/config.js';
import { compilePolicies } from '../../../src/bgp/policy/index.js';
import type { BGPConfiguration, BGPPeer, IPPool, Node } from '../../../src/datastore/resources/types.js';
import {
  addressValue, computeBgpConfig, durationSeconds, EXPORT_POOLS_POLICY, hashedRouterId, splitPeerIP, type BgpInputs,
} from '../../../src/node/bgp-config.js';

const node = (name: string, v4?: string, extra: { asn?: number; labels?: Record<string, string>; cluster?: string; v6?: string } = {}): Node => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'Node',
  metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: {
    bgp: {
      ...(v4 ? { ipv4Address: v4 } : {}),
      ...(extra.v6 ? { ipv6Address: extra.v6 } : {}),
      ...(extra.asn ? { asNumber: extra.asn } : {}),
      ...(extra.cluster ? { routeReflectorClusterID: extra.cluster } : {}),
    },
  },
});
const bgpConfig = (name: string, spec: BGPConfiguration['spec']): BGPConfiguration => ({ apiVersion: 'tortie.dev/v1', kind: 'BGPConfiguration', metadata: { name }, spec });
const peer = (name: string, spec: BGPPeer['spec']): BGPPeer => ({ apiVersion: 'tortie.dev/v1', kind: 'BGPPeer', metadata: { name }, spec });
const pool = (name: string, cidr: string, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()', allowedUses: ['Workload'], ...extra },
});

const a = node('a', '10.0.0.1/24');
const b = node('b', '10.0.0.2/24');
const c = node('c', '10.0.0.3/24');

function plan(partial: Partial<BgpInputs> & { me: Node }) {
  return computeBgpConfig({ nodes: [a, b, c], bgpConfigurations: [], bgpPeers: [], ipPools: [], controlSocket: '/run/x.sock', ...partial });
}
const byAddress = (p: ReturnType<typeof plan>, address: string) => p.config.peers.find((x) => x.address === address);

describe('node: BGP configuration from the datastore', function () {
  it('full mesh by default: AS 64512, router id from IPv4, the higher address waits', function () {
    const p = plan({ me: b });
    expect(p.config.asn).to.equal(64512);
    expect(p.config.routerId).to.equal('10.0.0.2');
    expect(p.config.peers.map((x) => x.address)).to.deep.equal(['10.0.0.1', '10.0.0.3']);
    expect(byAddress(p, '10.0.0.1')!.passive).to.equal(true); // we (.2) are higher
    expect(byAddress(p, '10.0.0.3')!.passive).to.equal(false);
    expect(byAddress(p, '10.0.0.3')!.localAddress).to.equal('10.0.0.2');
    expect(p.origins.get('10.0.0.1')).to.deep.equal({ type: 'node-to-node mesh', node: 'a' });
    expect(p.config.fib.install).to.equal(true);
    expect(p.config.gracefulRestart.enabled).to.equal(true);
    expect(byAddress(p, '10.0.0.1')!.gracefulRestart).to.deep.equal({ enabled: true, restartTime: 120 });
    // Exactly one side of each pair initiates.
    for (const [x, y] of [[a, b], [a, c], [b, c]] as const) {
      const px = byAddress(plan({ me: x }), y.spec.bgp!.ipv4Address!.split('/')[0]!)!;
      const py = byAddress(plan({ me: y }), x.spec.bgp!.ipv4Address!.split('/')[0]!)!;
      expect(px.passive).to.not.equal(py.passive);
    }
    // The result is a valid speaker configuration.
    expect(() => checkSpeakerConfig(JSON.parse(JSON.stringify({ ...p.config, peers: p.config.peers })))).to.not.throw();
  });

  it('AS from the Node, else BGPConfiguration default; listen port per node; mesh off', function () {
    const defaults = bgpConfig('default', { asNumber: 65001, listenPort: 1790, nodeToNodeMeshEnabled: true, nodeMeshMaxRestartTime: '2m' });
    let p = plan({ me: a, bgpConfigurations: [defaults, bgpConfig('node.a', { listenPort: 1791 })] });
    expect(p.config.asn).to.equal(65001);
    expect(p.config.listen).to.deep.equal({ address: '0.0.0.0', port: 1791 });
    expect(byAddress(p, '10.0.0.2')!.port).to.equal(1790);
    expect(byAddress(p, '10.0.0.2')!.asn).to.equal(65001);
    expect(byAddress(p, '10.0.0.2')!.gracefulRestart.restartTime).to.equal(120);
    p = plan({ me: node('a', '10.0.0.1/24', { asn: 65100 }), bgpConfigurations: [defaults] });
    expect(p.config.asn).to.equal(65100);
    p = plan({ me: a, bgpConfigurations: [bgpConfig('default', { nodeToNodeMeshEnabled: false })] });
    expect(p.config.peers).to.deep.equal([]);
  });

  it('global and node-specific external peers: AS, port, password, ttlSecurity, restart time, pool export policy', function () {
    const peers = [
      peer('tor', { peerIP: '10.0.0.254', asNumber: 65000, password: { value: 's3cret' }, ttlSecurity: 1, maxRestartTime: '90s' }),
      peer('only-b', { node: 'b', peerIP: '10.0.0.200:1179', asNumber: 65002 }),
      peer('rack1', { nodeSelector: "rack == 'r1'", peerIP: '10.0.0.201', asNumber: 65003 }),
    ];
    const me = node('a', '10.0.0.1/24', { labels: { rack: 'r1' } });
    const p = plan({ me, nodes: [me, b, c], bgpPeers: peers, ipPools: [pool('p1', '10.65.0.0/16'), pool('off', '10.66.0.0/16', { disableBGPExport: true }), pool('dis', '10.67.0.0/16', { disabled: true })] });
    const tor = byAddress(p, '10.0.0.254')!;
    expect(tor).to.include({ asn: 65000, password: 's3cret', ttlSecurity: 1, export: EXPORT_POOLS_POLICY, import: 'accept-all', localAddress: '10.0.0.1' });
    expect(tor.gracefulRestart.restartTime).to.equal(90);
    expect(p.origins.get('10.0.0.254')).to.deep.equal({ type: 'global', resource: 'tor' });
    expect(byAddress(p, '10.0.0.200')).to.equal(undefined);
    expect(p.origins.get('10.0.0.201')).to.deep.equal({ type: 'node specific', resource: 'rack1' });
    const pb = plan({ me: b, bgpPeers: peers });
    expect(byAddress(pb, '10.0.0.200')).to.include({ port: 1179, asn: 65002 });
    // The export policy lets pool prefixes out, and nothing else.
    expect(p.config.policies[EXPORT_POOLS_POLICY]).to.deep.equal([{ description: 'prefixes inside exported IP pools', match: { prefix: ['10.65.0.0/16+'] }, action: 'accept' }]);
    expect(() => compilePolicies(p.config.policies)).to.not.throw();
  });

  it('route reflectors by peerSelector: symmetric peerings, clients marked, cluster id', function () {
    const rr = node('rr', '10.0.0.9/24', { labels: { 'route-reflector': 'true' }, cluster: '224.0.0.1' });
    const nodes = [a, b, c, rr];
    const peers = [peer('to-rr', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })];
    const mesh = [bgpConfig('default', { nodeToNodeMeshEnabled: false })];
    const client = plan({ me: a, nodes, bgpPeers: peers, bgpConfigurations: mesh });
    expect(client.config.peers.map((x) => x.address)).to.deep.equal(['10.0.0.9']);
    expect(byAddress(client, '10.0.0.9')!.routeReflectorClient).to.equal(false);
    expect(client.config.clusterId).to.equal(undefined);
    const reflector = plan({ me: rr, nodes, bgpPeers: peers, bgpConfigurations: mesh });
    expect(reflector.config.peers.map((x) => x.address)).to.deep.equal(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(reflector.config.peers.every((x) => x.routeReflectorClient)).to.equal(true);
    expect(reflector.config.clusterId).to.equal('224.0.0.1');
    expect(reflector.origins.get('10.0.0.2')).to.deep.equal({ type: 'node specific', resource: 'to-rr', node: 'b' }); // a nodeSelector, as calicoctl says
    // The RR is higher than its clients: it waits, they connect.
    expect(reflector.config.peers.every((x) => x.passive)).to.equal(true);
    expect(byAddress(client, '10.0.0.9')!.passive).to.equal(false);
  });

  it('reports what it cannot do instead of dropping it silently', function () {
    const p = plan({
      me: a,
      bgpPeers: [
        peer('f', { peerIP: '192.0.2.1', asNumber: 65000, filters: ['no-default'], password: { secretKeyRef: { name: 's', key: 'k' } } }),
        peer('bad', { peerIP: '192.0.2.2', asNumber: 65000, nodeSelector: 'rack ==' }),
      ],
    });
    expect(p.notes.join('\n')).to.match(/filters no-default are not applied/).and.match(/secret s\/k is not supported/).and.match(/BGPPeer bad: nodeSelector/);
    expect(byAddress(p, '192.0.2.1')!.password).to.equal(undefined);
    expect(byAddress(p, '192.0.2.2')).to.equal(undefined);
  });

  it('IPv6: peers per family, router id hashed for a v6-only node, listens on ::', function () {
    const x = node('x', undefined, { v6: 'fd00::1/64' });
    const y = node('y', '10.0.0.5/24', { v6: 'fd00::2/64' });
    const p = plan({ me: x, nodes: [x, y] });
    expect(p.config.peers.map((q) => [q.address, q.families])).to.deep.equal([['fd00::2', ['ipv6']]]);
    expect(p.config.routerId).to.equal(hashedRouterId('x'));
    expect(p.config.listen!.address).to.equal('::');
  });

  it('helpers: durations, peerIP with port, address order', function () {
    expect(durationSeconds('1m30s')).to.equal(90);
    expect(durationSeconds('2h')).to.equal(4095);
    expect(splitPeerIP('[fd00::1]:1790')).to.deep.equal({ ip: 'fd00::1', port: 1790 });
    expect(splitPeerIP('fd00::1')).to.deep.equal({ ip: 'fd00::1' });
    expect(splitPeerIP('10.0.0.1:179')).to.deep.equal({ ip: '10.0.0.1', port: 179 });
    expect(addressValue('10.0.0.10') > addressValue('10.0.0.9')).to.equal(true);
    expect(addressValue('fd00::10') > addressValue('fd00::9')).to.equal(true);
    expect(addressValue('fd00::1:0') > addressValue('fd00::ffff')).to.equal(true);
  });
});
