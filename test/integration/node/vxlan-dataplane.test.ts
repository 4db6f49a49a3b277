/**
 * VxlanDataplane against a real kernel, in a namespace of ours: the device as specified,
 * and neighbours, FDB entries and routes reconciled to a plan, added and removed.
 */
import { expect } from 'chai';
import { execInNetns, run } from '../../../src/kernel/index.js';
import { VXLAN_DEVICE, VXLAN_ROUTE_METRIC, VXLAN_ROUTE_PROTOCOL, VxlanDataplane, type VxlanPeer, type VxlanPlan } from '../../../src/node/vxlan.js';
import { useNetnsScope } from '../../helpers/netns.js';

const peer = (n: number, sameSubnet = false): VxlanPeer => ({
  node: `n${n}`,
  address: `10.76.0.${n}`,
  tunnelAddr: `10.77.${n}.1`,
  mac: `02:00:00:00:00:0${n}`,
  sameSubnet,
});

describe('node/vxlan: VxlanDataplane in a namespace', function () {
  this.timeout(30_000);
  const scope = useNetnsScope();
  let ns: string;
  let dp: VxlanDataplane;

  before(async () => {
    ns = await scope().netns('vx');
    const other = await scope().netns('vy');
    await scope().veth({ netns: ns, name: 'eth0', addresses: ['10.76.0.1/24'] }, { netns: other, name: 'eth0', addresses: ['10.76.0.9/24'] }, { mtu: 9000 });
    dp = new VxlanDataplane(ns);
  });

  it('finds the underlay and makes the device (VNI 4096, port 4789, nolearning, MTU - 50, tunnel address); a second call changes nothing', async () => {
    const under = await dp.underlay('10.76.0.1');
    expect(under).to.deep.equal({ ifname: 'eth0', mtu: 9000 });
    const mac = await dp.ensureDevice({ local: '10.76.0.1', parent: 'eth0', mtu: 8950, tunnelAddr: '10.77.0.1' });
    const dev = (await dp.device())!;
    expect(dev.address).to.equal(mac);
    expect(dev.mtu).to.equal(8950);
    expect(dev.linkinfo?.info_data).to.include({ id: 4096, port: 4789, local: '10.76.0.1', learning: false });
    expect(dev.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal(['10.77.0.1/32']);
    // Same spec: same device (same MAC); a new tunnel address replaces the old one.
    expect(await dp.ensureDevice({ local: '10.76.0.1', parent: 'eth0', mtu: 8950, tunnelAddr: '10.77.0.2' })).to.equal(mac);
    expect((await dp.device())!.addr_info?.filter((a) => a.family === 'inet').map((a) => a.local)).to.deep.equal(['10.77.0.2']);
  });

  it('reconciles neighbours, FDB and routes to the plan, and takes away what the plan drops', async () => {
    const plan: VxlanPlan = {
      enabled: true,
      peers: [peer(2), peer(3, true)],
      routes: new Map([
        ['10.77.2.1/32', ''],
        ['10.77.3.1/32', ''],
        ['10.77.2.5/32', '10.77.2.1'],
        ['10.77.2.6/32', '10.77.2.1'],
      ]),
    };
    expect(await dp.reconcile(plan)).to.equal(2 + 2 + 4);
    expect(await dp.reconcile(plan), 'nothing left to do').to.equal(0);
    expect(Object.fromEntries(await dp.neighbours())).to.deep.equal({ '10.77.2.1': '02:00:00:00:00:02', '10.77.3.1': '02:00:00:00:00:03' });
    expect(Object.fromEntries(await dp.fdb())).to.deep.equal({ '02:00:00:00:00:02': '10.76.0.2', '02:00:00:00:00:03': '10.76.0.3' });
    expect(Object.fromEntries(await dp.routes())).to.deep.equal(Object.fromEntries(plan.routes));
    const shown = JSON.parse(await execInNetns(ns, 'ip', ['-4', '-j', 'route', 'show', '10.77.2.5/32'])) as { metric?: number; protocol?: string; flags?: string[] }[];
    expect(shown[0]).to.include({ metric: VXLAN_ROUTE_METRIC, protocol: String(VXLAN_ROUTE_PROTOCOL) });
    expect(shown[0]!.flags).to.include('onlink');
    // The kernel sends 10.77.2.5 to peer 2's MAC, and that MAC to 10.76.0.2 over UDP.
    const get = JSON.parse(await execInNetns(ns, 'ip', ['-j', 'route', 'get', '10.77.2.5'])) as { dev: string; gateway: string }[];
    expect(get[0]).to.include({ dev: VXLAN_DEVICE, gateway: '10.77.2.1' });

    // Peer 3 goes, a route of peer 2 goes, a new one comes.
    const next: VxlanPlan = { enabled: true, peers: [peer(2)], routes: new Map([['10.77.2.1/32', ''], ['10.77.2.7/32', '10.77.2.1']]) };
    await dp.reconcile(next);
    expect([...(await dp.neighbours()).keys()]).to.deep.equal(['10.77.2.1']);
    expect([...(await dp.fdb()).keys()]).to.deep.equal(['02:00:00:00:00:02']);
    expect(Object.fromEntries(await dp.routes())).to.deep.equal(Object.fromEntries(next.routes));
  });

  it('removes the device, and with it everything on it', async () => {
    expect(await dp.removeDevice()).to.equal(true);
    expect(await dp.device()).to.equal(null);
    expect(await dp.removeDevice()).to.equal(false);
    expect(await run('ip', ['-n', ns, '-4', 'route', 'show', 'proto', String(VXLAN_ROUTE_PROTOCOL)])).to.equal('');
  });
});
