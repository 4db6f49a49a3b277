import { expect } from 'chai';
import type { BGPConfiguration, WorkloadEndpoint } from '../../../src/datastore/resources/types.js';
import { communitiesFor, computeOriginations, hostPrefix } from '../../../src/node/originations.js';
import { formatNodeStatus, peerRow, type NodeStatus } from '../../../src/node/status.js';
import type { PeerStatus } from '../../../src/bgp/speaker/speaker.js';

const ep = (name: string, node: string, ipNetworks: string[]): WorkloadEndpoint => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default' },
  spec: { node, interfaceName: 'tortie0', ipNetworks },
});
const defaults = (spec: BGPConfiguration['spec'], annotations?: Record<string, string>): BGPConfiguration => ({
  apiVersion: 'tortie.dev/v1',
  kind: 'BGPConfiguration',
  metadata: { name: 'default', ...(annotations ? { annotations } : {}) },
  spec,
});

describe('node: originations', function () {
  const endpoints = [ep('a', 'n1', ['10.65.0.1/32', 'fd65::1/128']), ep('b', 'n1', ['10.65.1.7']), ep('c', 'n2', ['10.65.0.2/32'])];

  it('one /32 (/128) per local workload address; other nodes\' endpoints are not ours', function () {
    const o = computeOriginations({ nodeName: 'n1', endpoints, defaults: undefined, blocks: [] });
    expect([...o.keys()].sort()).to.deep.equal(['10.65.0.1/32', '10.65.1.7/32', 'fd65::1/128']);
    expect(o.get('10.65.0.1/32')).to.deep.equal({ prefix: '10.65.0.1/32', communities: [] });
    expect(hostPrefix('10.65.0.9/26')).to.equal('10.65.0.9/32');
  });

  it('communities from prefixAdvertisements, by value or by name', function () {
    const d = defaults({
      communities: [{ name: 'gold', value: '65000:100' }, { name: 'big', value: '65000:1:2' }],
      prefixAdvertisements: [{ cidr: '10.65.0.0/24', communities: ['gold', '65000:7'] }, { cidr: '10.65.0.0/16', communities: ['big'] }],
    });
    const notes = new Set<string>();
    expect(communitiesFor('10.65.0.1/32', d, notes)).to.deep.equal(['65000:100', '65000:7']);
    expect(communitiesFor('10.65.1.7/32', d)).to.deep.equal([]);
    expect([...notes].join()).to.match(/large community 65000:1:2/);
  });

  it('Calico\'s shape by annotation: block aggregates plus /32s only for borrowed addresses', function () {
    const d = defaults({}, { 'tortie.dev/advertise': 'blocks' });
    const o = computeOriginations({ nodeName: 'n1', endpoints, defaults: d, blocks: ['10.65.0.0/26'] });
    expect([...o.keys()].sort()).to.deep.equal(['10.65.0.0/26', '10.65.1.7/32', 'fd65::1/128']);
  });
});

describe('node: status table', function () {
  const peer = (address: string, state: string, lastError: string | null): PeerStatus => ({
    address, port: 179, asn: 64512, type: 'ibgp', state, since: '2026-01-02T10:11:12.000Z', uptimeSeconds: null, localAddress: null,
    routerId: null, holdTime: null, keepalive: null, families: [], capabilities: [], messages: { received: {}, sent: {} },
    prefixes: { received: 0, accepted: 3, advertised: 2, stale: 0 }, lastError,
  });

  it('prints one box per family like calicoctl node status, with the error in INFO', function () {
    const status: NodeStatus = {
      name: 'n1', pid: 42, asNumber: 64512, routerId: '10.0.0.1', ipv4Address: '10.0.0.1/24', ipv6Address: null, listenPort: 179,
      peers: [
        peerRow(peer('10.0.0.2', 'Established', null), { type: 'node-to-node mesh', node: 'n2' }),
        peerRow(peer('10.0.0.254', 'Active', 'connection refused'), { type: 'global', resource: 'tor' }),
      ],
      originated: 2, felix: { ready: true, inSync: true, applies: 3, failures: 0 }, fib: { installed: 3, restarting: false }, notes: ['BGPPeer x: filters f are not applied'],
    };
    const text = formatNodeStatus(status, new Date('2026-03-01T00:00:00Z'));
    expect(text).to.contain('tortie node n1 is running (pid 42, AS 64512, router id 10.0.0.1).');
    expect(text).to.contain('| 10.0.0.2     | node-to-node mesh | up    | 2026-01-02 | Established               |');
    expect(text).to.contain('| 10.0.0.254   | global            | start | 2026-01-02 | Active connection refused |');
    expect(text).to.contain('No IPv6 peers found.');
    expect(text).to.contain('  - BGPPeer x: filters f are not applied');
  });
});
