import { expect } from 'chai';
import type { IPPool, Node, WorkloadEndpoint } from '../../../src/datastore/resources/types.js';
import { inCidr, planVxlan, vxlanPools } from '../../../src/node/vxlan.js';

const pool = (name: string, cidr: string, vxlanMode: IPPool['spec']['vxlanMode'], disabled = false): IPPool => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode, natOutgoing: false, disabled, disableBGPExport: false, nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'] },
});
const node = (name: string, cidr: string, tunnel?: string, mac?: string): Node => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'Node',
  metadata: { name },
  spec: { bgp: { ipv4Address: cidr }, ...(tunnel ? { ipv4VXLANTunnelAddr: tunnel } : {}), ...(mac ? { vxlanTunnelMACAddr: mac } : {}) },
});
const wep = (name: string, nodeName: string, ips: string[]): WorkloadEndpoint => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default' },
  spec: { node: nodeName, ipNetworks: ips, interfaceName: `tortie${name}` },
});

// n1 and n3 share 10.1.0.0/24; n2 is on 10.2.0.0/24; n4 has no VXLAN info yet.
const NODES = [
  node('n1', '10.1.0.1/24', '10.50.0.1', '02:00:00:00:00:01'),
  node('n2', '10.2.0.1/24', '10.50.1.1', '02:00:00:00:00:02'),
  node('n3', '10.1.0.2/24', '10.50.2.1', '02:00:00:00:00:03'),
  node('n4', '10.3.0.1/24'),
];
const EPS = [
  wep('a', 'n1', ['10.50.0.5/32']),
  wep('b', 'n2', ['10.50.1.5/32']),
  wep('c', 'n3', ['10.50.2.5/32']),
  wep('d', 'n4', ['10.50.3.5/32']),
  wep('e', 'n2', ['10.99.0.5/32']), // outside every VXLAN pool
];

describe('node/vxlan: planVxlan', () => {
  it('inCidr compares under the prefix', () => {
    expect(inCidr('10.1.0.200', '10.1.0.1/24')).to.equal(true);
    expect(inCidr('10.1.1.1', '10.1.0.1/24')).to.equal(false);
    expect(inCidr('10.1.1.1', '10.0.0.0/8')).to.equal(true);
    expect(inCidr('10.1.1.1', '0.0.0.0/0')).to.equal(true);
  });

  it('no VXLAN pool (Never or disabled): disabled, nothing planned', () => {
    const p = planVxlan({ nodeName: 'n1', nodes: NODES, pools: [pool('p', '10.50.0.0/16', 'Never'), pool('q', '10.60.0.0/16', 'Always', true)], endpoints: EPS });
    expect(p.enabled).to.equal(false);
    expect(p.peers).to.deep.equal([]);
    expect(p.routes.size).to.equal(0);
    expect(vxlanPools([pool('q', '10.60.0.0/16', 'Always', true)])).to.deep.equal([]);
  });

  it('CrossSubnet: only the other-subnet node\'s workloads go through the tunnel; every peer gets neighbour/FDB', () => {
    const p = planVxlan({ nodeName: 'n1', nodes: NODES, pools: [pool('p', '10.50.0.0/16', 'CrossSubnet')], endpoints: EPS });
    expect(p.enabled).to.equal(true);
    expect(p.peers.map((x) => [x.node, x.address, x.tunnelAddr, x.mac, x.sameSubnet])).to.deep.equal([
      ['n2', '10.2.0.1', '10.50.1.1', '02:00:00:00:00:02', false],
      ['n3', '10.1.0.2', '10.50.2.1', '02:00:00:00:00:03', true],
    ]);
    expect([...p.routes].sort()).to.deep.equal([
      ['10.50.1.1/32', ''],
      ['10.50.1.5/32', '10.50.1.1'],
      ['10.50.2.1/32', ''],
    ]);
  });

  it('Always: every peer\'s workloads in the pool go through the tunnel, none of our own', () => {
    const p = planVxlan({ nodeName: 'n1', nodes: NODES, pools: [pool('p', '10.50.0.0/16', 'Always')], endpoints: EPS });
    expect(p.routes.get('10.50.1.5/32')).to.equal('10.50.1.1');
    expect(p.routes.get('10.50.2.5/32')).to.equal('10.50.2.1');
    expect(p.routes.has('10.50.0.5/32'), 'own workload').to.equal(false);
    expect(p.routes.has('10.50.3.5/32'), 'node without VXLAN info').to.equal(false);
    expect(p.routes.has('10.99.0.5/32'), 'address outside the pools').to.equal(false);
  });

  it('the view from the other side: n2 tunnels to both n1 and n3 under CrossSubnet', () => {
    const p = planVxlan({ nodeName: 'n2', nodes: NODES, pools: [pool('p', '10.50.0.0/16', 'CrossSubnet')], endpoints: EPS });
    expect(p.routes.get('10.50.0.5/32')).to.equal('10.50.0.1');
    expect(p.routes.get('10.50.2.5/32')).to.equal('10.50.2.1');
  });
});
