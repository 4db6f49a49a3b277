import { expect } from 'chai';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { startFelix, type FelixHandle } from '../../../src/felix/index.js';
import { execInNetns } from '../../../src/kernel/index.js';
import { ping, startEchoServer, tcpConnect, useNetnsScope } from '../../helpers/netns.js';
import { makeTopology, writeEndpoint, type Topology } from './topology.js';

describe('felix: workloads on one host (real packets)', function () {
  this.timeout(60_000);
  let store: ResourceStore;
  let felix: FelixHandle | undefined;
  // Registered before the scope's own cleanup, so that felix stops before its namespace goes.
  after(async () => {
    await felix?.stop();
    await store.kv.close();
  });
  const scope = useNetnsScope();
  let topo: Topology;

  before(async () => {
    topo = await makeTopology(scope(), 71, [
      { name: 'a', ip: '10.71.0.1', labels: { app: 'a' } },
      { name: 'b', ip: '10.71.0.2', labels: { app: 'b' } },
    ]);
    store = new ResourceStore(new MemoryKV());
    for (const w of topo.workloads.values()) await writeEndpoint(store, 'node1', w);
  });

  it('without felix the workloads cannot reach each other', async () => {
    expect(await ping(topo.workloads.get('a')!.netns, '10.71.0.2', { timeoutMs: 300 })).to.equal(false);
  });

  it('with felix: routes, proxy ARP and forwarding make them reachable (ICMP and TCP)', async () => {
    felix = startFelix({ store, nodeName: 'node1', netns: topo.host, localBlocks: () => ['10.71.0.0/26'] });
    await felix.ready;
    const a = topo.workloads.get('a')!;
    const b = topo.workloads.get('b')!;
    expect(await ping(a.netns, b.ip)).to.equal(true);
    const srv = await startEchoServer(scope(), b.netns, { proto: 'tcp', port: 8080 });
    expect(await tcpConnect(a.netns, b.ip, srv.port)).to.equal(true);
    const routes = await execInNetns(topo.host, 'ip', ['route', 'show', 'proto', '80']);
    expect(routes).to.include(`10.71.0.1 dev ${a.iface} scope link`);
    expect(routes).to.include('blackhole 10.71.0.0/26');
    expect(felix.status().counts.endpoints).to.equal(2);
  });
});
