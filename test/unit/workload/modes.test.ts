/** --net parsing and the subnet arithmetic of the bridge and macvlan modes (pure). */
import { expect } from 'chai';
import { modeKind, parseNetMode, WorkloadError } from '../../../src/workload/index.js';
import { inSubnet, subnetOf } from '../../../src/workload/modes/subnet.js';

describe('workload modes: --net parsing and subnets', () => {
  it('parses every mode, with bridge defaulting to tortie-br0', () => {
    expect(parseNetMode('tortie')).to.equal('tortie');
    expect(parseNetMode('none')).to.equal('none');
    expect(parseNetMode('host')).to.equal('host');
    expect(parseNetMode('container:web-1')).to.equal('container:web-1');
    expect(parseNetMode('bridge')).to.equal('bridge:tortie-br0');
    expect(parseNetMode('bridge:br-apps')).to.equal('bridge:br-apps');
    expect(parseNetMode('macvlan:eth0')).to.equal('macvlan:eth0');
    expect(modeKind(parseNetMode('bridge'))).to.equal('bridge');
    expect(modeKind(parseNetMode('macvlan:ens3.100'))).to.equal('macvlan');
    expect(modeKind(parseNetMode('container:a'))).to.equal('container');
    expect(modeKind('none')).to.equal('none');
  });

  it('refuses bad modes, bridge and parent names with one line naming them', () => {
    expect(() => parseNetMode('macvlan')).to.throw(WorkloadError, '--net "macvlan"');
    expect(() => parseNetMode('bridge:much-too-long-name')).to.throw(WorkloadError, 'bridge:much-too-long-name');
    expect(() => parseNetMode('macvlan:eth 0')).to.throw(WorkloadError, 'macvlan:eth 0');
    expect(() => parseNetMode('macvlan:a;rm')).to.throw(WorkloadError);
    expect(() => parseNetMode('ipvlan:eth0')).to.throw(WorkloadError, 'bridge[:BRIDGE] or macvlan:PARENT');
  });

  it('finds a subnet, its network, first and broadcast addresses, and what lies inside', () => {
    expect(subnetOf('10.221.0.0/24', 'pool')).to.deep.equal({ cidr: '10.221.0.0/24', prefixLength: 24, network: '10.221.0.0', broadcast: '10.221.0.255', first: '10.221.0.1' });
    expect(subnetOf('192.168.7.77/20', 'eth0')).to.include({ cidr: '192.168.0.0/20', broadcast: '192.168.15.255', first: '192.168.0.1' });
    const s = subnetOf('10.223.0.9/24', 'eth0');
    expect(inSubnet('10.223.0.200', s)).to.equal(true);
    expect(inSubnet('10.223.1.1', s)).to.equal(false);
    expect(inSubnet('fd00::1', s)).to.equal(false);
    expect(inSubnet('nonsense', s)).to.equal(false);
  });

  it('refuses IPv6, too small and malformed subnets', () => {
    expect(() => subnetOf('fd00::/64', 'IPPool "v6"')).to.throw(WorkloadError, 'IPPool "v6": "fd00::/64" is not IPv4');
    expect(() => subnetOf('10.0.0.0/31', 'pool')).to.throw(WorkloadError, 'too small');
    expect(() => subnetOf('10.0.0.0', 'pool')).to.throw('no prefix length');
  });
});
