/**
 * tortie first in a conflist, chained before Debian's reference plugins (tuning, portmap from
 * containernetworking-plugins in /usr/lib/cni), driven as libcni drives a list: ADD and
 * CHECK in order with prevResult handed on, DEL in reverse. Plugins run inside the test
 * namespace standing for the host (portmap's iptables rules land there).
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveControl } from '../../../src/common/control-socket.js';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../../src/ipam/resource-source.js';
import { cniControlRoutes, hostVethName } from '../../../src/cni/index.js';
import { execInNetns, listLinks, netnsPath } from '../../../src/kernel/index.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { addPool, makeCniPath, runChain, type Conflist } from './harness.js';

describe('CNI conflist: tortie, then tuning and portmap (reference plugins)', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let server: Server;
  let tmp: string;
  let socket: string;
  let host: string;
  let cniPath: { dir: string; remove(): void };

  before(async function () {
    if (!existsSync('/usr/lib/cni/tuning') || !existsSync('/usr/lib/cni/portmap')) this.skip();
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    const store = new ResourceStore(kv);
    await addPool(kv, 'pool-c', '10.235.0.0/16');
    host = await scope().netns('host');
    tmp = mkdtempSync(join(tmpdir(), 'tortie-chain-'));
    socket = join(tmp, 'node.sock');
    server = await serveControl(socket, cniControlRoutes({ ipam: new Ipam(kv, new ResourceConfigSource(store)), store, nodeName: 'node-c', hostNetns: host }));
    cniPath = makeCniPath();
  });

  after(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await kv?.close();
    await etcd?.stop();
    cniPath?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ADD, CHECK and DEL pass through the whole chain, each plugin doing its part', async () => {
    const list: Conflist = {
      cniVersion: '1.0.0',
      name: 'chained',
      plugins: [
        { type: 'tortie', nodeSocket: socket, mtu: 1450 },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_ignore': '1' } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    };
    const c = await scope().netns('c1');
    const inv = { containerId: 'chain1', netns: netnsPath(c), ifName: 'eth0' };
    const runtimeConfig = { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] };
    const opts = { hostNetns: host, cniPath: cniPath.dir, runtimeConfig };

    const add = await runChain(list, 'ADD', inv, opts);
    expect(add.failed, JSON.stringify(add.failed)).to.equal(undefined);
    const result = add.result as { cniVersion: string; ips: { address: string }[]; interfaces: { name: string }[] };
    expect(result.cniVersion).to.equal('1.0.0');
    const ip = result.ips[0]!.address.split('/')[0]!;
    expect(ip).to.match(/^10\.235\./);
    expect(result.interfaces.map((i) => i.name)).to.include.members([hostVethName('chain1'), 'eth0']);
    // tuning did its part inside the container, portmap its DNAT on the host.
    expect((await execInNetns(c, 'cat', ['/proc/sys/net/ipv4/conf/eth0/arp_ignore'])).trim()).to.equal('1');
    const nat = await execInNetns(host, 'iptables-save', ['-t', 'nat']);
    expect(nat).to.match(new RegExp(`--dport 18080 .*--to-destination ${ip.replace(/\./g, '\\.')}:80`));

    // CHECK without portmap: Debian's portmap 1.1.1 fails its own CHECK on IPv4-only
    // containers, looking for IPv6 rules it never made (containernetworking/plugins#819).
    const checkList = { ...list, plugins: list.plugins.filter((p) => p.type !== 'portmap') };
    const check = await runChain(checkList, 'CHECK', inv, { ...opts, prevResult: add.result });
    expect(check.failed, JSON.stringify(check.failed)).to.equal(undefined);

    // CHECK fails at tortie when its route is gone: the chain stops there, with our code.
    await execInNetns(c, 'ip', ['route', 'del', 'default']);
    const bad = await runChain(checkList, 'CHECK', inv, { ...opts, prevResult: add.result });
    expect(bad.failed?.plugin).to.equal('tortie');
    expect(bad.failed?.run.json).to.include({ code: 102 });

    for (let i = 0; i < 2; i++) {
      const del = await runChain(list, 'DEL', inv, { ...opts, prevResult: add.result });
      expect(del.failed, `DEL #${i + 1}: ${JSON.stringify(del.failed)}`).to.equal(undefined);
    }
    expect(await execInNetns(host, 'iptables-save', ['-t', 'nat'])).to.not.include('18080');
    expect((await listLinks(host)).map((l) => l.name)).to.deep.equal(['lo']);
    expect((await listLinks(c)).map((l) => l.name)).to.deep.equal(['lo']);
  });
});
