/**
 * The plugin executable driven as a runtime drives it (env + stdin in, stdout JSON and exit
 * status out), in a namespace standing for the host, against a real etcd:
 *   - daemon mode: bin/tortie-cni.js forwards to a test-hosted `POST /cni` server;
 *   - in-process mode: the executable opens etcd itself.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveControl } from '../../../src/common/control-socket.js';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../../src/ipam/resource-source.js';
import { handleKey } from '../../../src/ipam/keys.js';
import { cniControlRoutes, endpointName, handleId, hostVethName, SUPPORTED_VERSIONS } from '../../../src/cni/index.js';
import { execInNetns, listLinks, netnsPath, setSysctls } from '../../../src/kernel/index.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { addPool, PLUGIN_BIN, runPlugin, type Invocation } from './harness.js';

const NODE = 'node-a';
const NET = 'tnet';

describe('CNI plugin executable (spec harness, real etcd)', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let store: ResourceStore;
  let server: Server;
  let tmp: string;
  let socket: string;
  let host: string;
  let n = 0;

  before(async () => {
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    store = new ResourceStore(kv);
    await addPool(kv, 'pool-a', '10.231.0.0/16');
    host = await scope().netns('host');
    await setSysctls(host, { 'net.ipv4.ip_forward': 1 });
    tmp = mkdtempSync(join(tmpdir(), 'tortie-cni-'));
    socket = join(tmp, 'node.sock');
    const ipam = new Ipam(kv, new ResourceConfigSource(store));
    server = await serveControl(socket, cniControlRoutes({ ipam, store, nodeName: NODE, hostNetns: host }));
  });

  after(async () => {
    await new Promise((r) => server?.close(r));
    await kv?.close();
    await etcd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const daemonConfig = (extra: Record<string, unknown> = {}) => ({ cniVersion: '1.0.0', name: NET, type: 'tortie', mtu: 1400, nodeSocket: socket, ...extra });
  const inProcessConfig = (extra: Record<string, unknown> = {}) => ({ cniVersion: '1.0.0', name: NET, type: 'tortie', nodeSocket: '', datastore: etcd.url, nodename: NODE, hostNetns: host, ...extra });

  async function newContainer(): Promise<{ id: string; netns: string; path: string }> {
    n++;
    const netns = await scope().netns(`c${n}`);
    return { id: `ctr${n}abc`, netns, path: netnsPath(netns) };
  }

  const inv = (command: string, c: { id: string; path: string }, extra: Partial<Invocation> = {}): Invocation => ({
    command, containerId: c.id, netns: c.path, ifName: 'eth0', ...extra,
  });

  /** Daemon mode: the plugin runs inside the host namespace, as on a real host. */
  const plugin = (i: Invocation, config: unknown) => runPlugin(PLUGIN_BIN, i, config, { hostNetns: host });

  it('ADD wires the container, CHECK passes, DEL undoes everything, twice', async () => {
    const c = await newContainer();
    const add = await plugin(inv('ADD', c, { args: 'IgnoreUnknown=1;TORTIE_LABELS=app=web,tier=front' }), daemonConfig());
    expect(add.exitCode, add.stdout + add.stderr).to.equal(0);
    const result = add.json as { cniVersion: string; ips: { address: string; gateway: string; interface: number }[]; interfaces: { name: string; sandbox?: string; mac?: string }[]; routes: { dst: string; gw: string }[] };
    expect(result.cniVersion).to.equal('1.0.0');
    expect(result.ips).to.have.length(1);
    const ip = result.ips[0]!.address.split('/')[0]!;
    expect(result.ips[0]!.address).to.match(/^10\.231\.\d+\.\d+\/32$/);
    expect(result.ips[0]!.gateway).to.equal('169.254.1.1');
    expect(result.interfaces[result.ips[0]!.interface]!).to.include({ name: 'eth0', sandbox: c.path });
    expect(result.routes).to.deep.include({ dst: '0.0.0.0/0', gw: '169.254.1.1' });

    // The kernel: container address and default route, host veth with routes and proxy ARP.
    const cAddr = await execInNetns(c.netns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(cAddr).to.include(`${ip}/32`);
    expect(await execInNetns(c.netns, 'ip', ['route', 'show', 'default'])).to.include('via 169.254.1.1 dev eth0 onlink');
    const hv = hostVethName(c.id);
    const links = await listLinks(host);
    const hostLink = links.find((l) => l.name === hv);
    expect(hostLink, `host veth ${hv}`).to.not.equal(undefined);
    expect(hostLink!.mac).to.equal('ee:ee:ee:ee:ee:ee');
    expect(hostLink!.mtu).to.equal(1400);
    expect(await execInNetns(host, 'ip', ['route', 'show', `${ip}/32`])).to.include(`dev ${hv} proto 80 scope link`);
    expect((await execInNetns(host, 'cat', [`/proc/sys/net/ipv4/conf/${hv}/proxy_arp`])).trim()).to.equal('1');

    // The datastore: the endpoint and the allocation.
    const wep = await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', c.id, 'eth0'), { namespace: 'default' });
    expect(wep?.spec).to.include({ node: NODE, containerID: c.id, interfaceName: hv, orchestrator: 'cni', endpoint: 'eth0' });
    expect(wep?.spec.ipNetworks).to.deep.equal([`${ip}/32`]);
    expect(wep?.metadata.labels).to.include({ app: 'web', tier: 'front' });
    expect(await kv.get(handleKey(handleId(NET, c.id)))).to.not.equal(null);

    const check = await plugin(inv('CHECK', c), daemonConfig({ prevResult: result }));
    expect(check.exitCode, check.stdout).to.equal(0);
    expect(check.stdout.trim()).to.equal('');

    for (let i = 0; i < 2; i++) {
      const del = await plugin(inv('DEL', c), daemonConfig({ prevResult: result }));
      expect(del.exitCode, `DEL #${i + 1}: ${del.stdout}`).to.equal(0);
      expect(del.stdout.trim()).to.equal('');
    }
    expect((await listLinks(host)).map((l) => l.name)).to.not.include(hv);
    expect((await listLinks(c.netns)).map((l) => l.name)).to.not.include('eth0');
    expect(await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', c.id, 'eth0'), { namespace: 'default' })).to.equal(null);
    expect(await kv.get(handleKey(handleId(NET, c.id)))).to.equal(null);
  });

  it('DEL of a container never added, and of one whose netns is gone, succeeds', async () => {
    const unknown = await plugin({ command: 'DEL', containerId: 'never-added', ifName: 'eth0', netns: '/run/netns/does-not-exist' }, daemonConfig());
    expect(unknown.exitCode, unknown.stdout).to.equal(0);
    const c = await newContainer();
    expect((await plugin(inv('ADD', c), daemonConfig())).exitCode).to.equal(0);
    await scope().removeNetns(c.netns);
    const del = await plugin(inv('DEL', c), daemonConfig());
    expect(del.exitCode, del.stdout).to.equal(0);
    expect((await listLinks(host)).map((l) => l.name)).to.not.include(hostVethName(c.id));
    expect(await kv.get(handleKey(handleId(NET, c.id)))).to.equal(null);
  });

  it('CHECK names what was tampered with: the default route, the address, the host route', async () => {
    const c = await newContainer();
    const add = await plugin(inv('ADD', c), daemonConfig());
    expect(add.exitCode, add.stdout).to.equal(0);
    const ip = (add.json as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!;
    const check = () => plugin(inv('CHECK', c), daemonConfig({ prevResult: add.json }));

    await execInNetns(c.netns, 'ip', ['route', 'del', 'default']);
    let r = await check();
    expect(r.exitCode).to.equal(1);
    expect(r.json).to.include({ code: 102 });
    expect(String(r.json?.msg)).to.include('no IPv4 default route via 169.254.1.1 dev eth0');

    await execInNetns(c.netns, 'ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink']);
    expect((await check()).exitCode).to.equal(0);

    await execInNetns(c.netns, 'ip', ['addr', 'del', `${ip}/32`, 'dev', 'eth0']);
    r = await check();
    expect(r.json).to.include({ code: 102 });
    expect(String(r.json?.msg)).to.include(`lacks address ${ip}/32`);

    await execInNetns(host, 'ip', ['route', 'del', `${ip}/32`]);
    r = await check();
    expect(String(r.json?.msg)).to.include(`host has no route to ${ip}`);

    expect((await plugin(inv('DEL', c), daemonConfig())).exitCode).to.equal(0);
    r = await check();
    expect(r.json).to.include({ code: 102 });
    expect(String(r.json?.msg)).to.include('does not exist');
  });

  it('answers bad input with the specification\'s error codes', async () => {
    const c = await newContainer();
    const cases: { what: string; i: Invocation; config: unknown; code: number; msg: RegExp }[] = [
      { what: 'no CNI_CONTAINERID', i: { command: 'ADD', netns: c.path, ifName: 'eth0' }, config: daemonConfig(), code: 4, msg: /CNI_CONTAINERID/ },
      { what: 'no CNI_NETNS on ADD', i: { command: 'ADD', containerId: 'x1', ifName: 'eth0' }, config: daemonConfig(), code: 4, msg: /CNI_NETNS/ },
      { what: 'no CNI_COMMAND', i: { command: 'ADD', env: { CNI_COMMAND: undefined } }, config: daemonConfig(), code: 4, msg: /CNI_COMMAND/ },
      { what: 'an interface name too long', i: inv('ADD', c, { ifName: 'a-very-long-ifname' }), config: daemonConfig(), code: 4, msg: /CNI_IFNAME/ },
      { what: 'stdin not JSON', i: inv('ADD', c), config: '{"cniVersion": "1.0.0", nope', code: 6, msg: /not JSON/ },
      { what: 'an unsupported version', i: inv('ADD', c), config: daemonConfig({ cniVersion: '0.3.1' }), code: 1, msg: /0\.3\.1.*not supported/ },
      { what: 'another IPAM plugin', i: inv('ADD', c), config: daemonConfig({ ipam: { type: 'host-local' } }), code: 2, msg: /ipam\.type "host-local"/ },
      { what: 'a bad MTU', i: inv('ADD', c), config: daemonConfig({ mtu: 'big' }), code: 7, msg: /mtu/ },
      { what: 'no name', i: inv('ADD', c), config: { cniVersion: '1.0.0', type: 'tortie', nodeSocket: socket }, code: 7, msg: /name is missing/ },
      { what: 'STATUS before 1.1.0', i: { command: 'STATUS' }, config: daemonConfig(), code: 1, msg: /STATUS needs cniVersion 1\.1\.0/ },
    ];
    for (const t of cases) {
      const r = await plugin(t.i, t.config);
      expect(r.exitCode, t.what).to.not.equal(0);
      expect(r.json?.code, `${t.what}: ${r.stdout}`).to.equal(t.code);
      expect(String(r.json?.msg), t.what).to.match(t.msg);
      expect(r.json, t.what).to.have.property('cniVersion');
    }
    // Nothing was made by any of them.
    expect((await listLinks(c.netns)).map((l) => l.name)).to.deep.equal(['lo']);
  });

  it('VERSION lists the supported versions; STATUS says ready', async () => {
    const v = await plugin({ command: 'VERSION' }, { cniVersion: '1.0.0' });
    expect(v.exitCode).to.equal(0);
    expect(v.json).to.deep.equal({ cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    const empty = await plugin({ command: 'VERSION' }, '');
    expect(empty.json?.supportedVersions).to.deep.equal([...SUPPORTED_VERSIONS]);
    const s = await plugin({ command: 'STATUS' }, daemonConfig({ cniVersion: '1.1.0' }));
    expect(s.exitCode, s.stdout).to.equal(0);
  });

  it('0.4.0 results carry ips[].version; an IPv4+IPv6 ADD gets both, with v6 routes', async () => {
    await addPool(kv, 'pool-v6', 'fd23::/112', 122);
    const c = await newContainer();
    const add = await plugin(inv('ADD', c), daemonConfig({ cniVersion: '0.4.0', ipam: { assign_ipv4: 'true', assign_ipv6: 'true' } }));
    expect(add.exitCode, add.stdout).to.equal(0);
    const ips = (add.json as { ips: { version: string; address: string }[] }).ips;
    expect(ips.map((i) => i.version)).to.deep.equal(['4', '6']);
    expect(ips[1]!.address).to.match(/^fd23::[0-9a-f:]+\/128$/);
    expect(await execInNetns(c.netns, 'ip', ['-6', 'route', 'show', 'default'])).to.include('via fe80::ecee:eeff:feee:eeee dev eth0');
    const check = await plugin(inv('CHECK', c), daemonConfig({ cniVersion: '0.4.0', ipam: { assign_ipv6: true }, prevResult: add.json }));
    expect(check.exitCode, check.stdout).to.equal(0);
    expect((await plugin(inv('DEL', c), daemonConfig({ cniVersion: '0.4.0' }))).exitCode).to.equal(0);
    await store.delete({ kind: 'IPPool', name: 'pool-v6' });
  });

  it('in-process mode (no daemon): ADD, CHECK, DEL against etcd', async () => {
    const c = await newContainer();
    // Run from the test's own namespace (where etcd listens); the config's hostNetns makes
    // the test namespace the host, so nothing is made outside test namespaces.
    const run = (i: Invocation, config: unknown) => runPlugin(PLUGIN_BIN, i, config);
    const add = await run(inv('ADD', c), inProcessConfig());
    expect(add.exitCode, add.stdout + add.stderr).to.equal(0);
    expect((add.json as { ips: { address: string }[] }).ips[0]!.address).to.match(/^10\.231\./);
    const check = await run(inv('CHECK', c), inProcessConfig({ prevResult: add.json }));
    expect(check.exitCode, check.stdout).to.equal(0);
    expect((await run(inv('DEL', c), inProcessConfig())).exitCode).to.equal(0);
    expect((await listLinks(host)).map((l) => l.name)).to.not.include(hostVethName(c.id));
    const noStore = await run(inv('ADD', c), { cniVersion: '1.0.0', name: NET, type: 'tortie', nodeSocket: '' });
    expect(noStore.json?.code, noStore.stdout).to.equal(7);
  });
});
