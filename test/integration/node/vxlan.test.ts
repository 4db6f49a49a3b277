/**
 * Issue 9, "Overlay across subnets": an IPPool with vxlanMode CrossSubnet, three hosts:
 *
 *   host1 10.74.1.1/24 ─┐
 *   host3 10.74.1.2/24 ─┼─ bridge ─ router 10.74.1.254/24 ── 10.74.2.254/24 ── host2 10.74.2.1/24
 *
 * The router forwards between the two host subnets and knows nothing of workload addresses
 * (no BGP on it, no routes to the pool). A `tortie node run` per host (etcd on a unix socket).
 *
 * - host1/host3 workloads reach host2's (and back) over VXLAN: ping and TCP; a capture on
 *   host1's underlay shows UDP 4789 (VNI 4096) for that pair;
 * - host1 <-> host3 (same subnet) stays plain: the capture shows ICMP and no 4789;
 * - the MTU of vxlan.tortie and of a workload's eth0 is underlay - 50;
 * - switching the pool to Always encapsulates the same-subnet pair too; back to Never removes
 *   the device, and the plain BGP routes carry same-subnet traffic again.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KV } from '../../../src/datastore/kv.js';
import { openKV } from '../../../src/datastore/open.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { deleteNetns, execInNetns, listNetns, setSysctls, spawnInNetns, type NetnsProcess } from '../../../src/kernel/index.js';
import { VXLAN_DEVICE, VXLAN_ROUTE_PROTOCOL } from '../../../src/node/vxlan.js';
import { tortie, TORTIE_BIN } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { FORWARDING_SYSCTLS, makeHosts, ping, tcpConnect, useNetnsScope } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';

const API = 'tortie.dev/v1';
const POOL = '10.75.0.0/16';
const UNDERLAY_MTU = 1500;

interface HostInfo {
  netns: string;
  cidr: string;
  ip: string;
}
interface Workload {
  name: string;
  host: number;
  netns: string;
  ip: string;
}

describe('tortie node: VXLAN overlay across subnets (issue 9)', function () {
  this.timeout(240_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let store: ResourceStore;
  let dir: string;
  let stem: string;
  const hosts: HostInfo[] = [];
  const daemons: NetnsProcess[] = [];
  const servers: NetnsProcess[] = [];
  const workloads: Workload[] = [];

  const socket = (i: number) => join(dir, `node${i + 1}.sock`);
  const logs = () => daemons.map((d, i) => `--- node${i + 1} ---\n${d.output().split('\n').slice(-12).join('\n')}`).join('\n');
  const addWorkload = async (name: string, host: number): Promise<Workload> => {
    const r = await tortie([
      'workload', 'add', name, '--node', `node${host + 1}`, '--host-netns', hosts[host]!.netns,
      '--node-socket', socket(host), '--state-dir', join(dir, 'workloads'), '--datastore', etcd.url,
    ]);
    expect(r.exitCode, `workload add ${name}: ${r.stderr}`).to.equal(0);
    const list = JSON.parse((await tortie(['workload', 'list', '-o', 'json', '--state-dir', join(dir, 'workloads'), '--node-socket', '', '--datastore', etcd.url])).stdout) as { name: string; ips: string[]; netns: string }[];
    const rec = list.find((w) => w.name === name)!;
    const w = { name, host, netns: rec.netns, ip: rec.ips[0]!.split('/')[0]! };
    workloads.push(w);
    return w;
  };
  const vxlanRoutes = async (i: number): Promise<string[]> =>
    (JSON.parse(await execInNetns(hosts[i]!.netns, 'ip', ['-4', '-j', 'route', 'show', 'proto', String(VXLAN_ROUTE_PROTOCOL)])) as { dst: string }[]).map((r) => r.dst);
  const mtuOf = async (netns: string, dev: string) => (JSON.parse(await execInNetns(netns, 'ip', ['-j', 'link', 'show', 'dev', dev])) as { mtu: number }[])[0]!.mtu;
  const hasDevice = async (i: number) => (await execInNetns(hosts[i]!.netns, 'ip', ['-o', 'link', 'show'])).includes(`${VXLAN_DEVICE}:`);

  /**
   * Runs tcpdump on `netns`'s eth0 for `count` packets matching `filter` while `traffic` runs;
   * resolves with what it printed (it must see all `count` before the deadline).
   */
  const capture = async (netns: string, filter: string, count: number, traffic: () => Promise<unknown>): Promise<string> => {
    const proc = await scope().spawn(netns, 'tcpdump', ['-i', 'eth0', '-n', '-l', '-v', '-c', String(count), filter]);
    try {
      await waitFor(() => proc.output().includes('listening on'), { what: `tcpdump in ${netns} to listen`, timeoutMs: 5000, intervalMs: 20 });
      await traffic();
      await waitFor(() => proc.exit !== undefined, { what: `tcpdump in ${netns} to see ${count} packets (${filter})`, timeoutMs: 10_000, intervalMs: 50 });
      return proc.output();
    } finally {
      if (proc.exit === undefined) await proc.stop(500).catch(() => undefined);
    }
  };

  before(async function () {
    this.timeout(90_000);
    etcd = await startEtcd({ unixSocket: true });
    kv = await openKV(etcd.url);
    store = new ResourceStore(kv);
    await store.apply({ apiVersion: API, kind: 'IPPool', metadata: { name: 'pool-x' }, spec: { cidr: POOL, blockSize: 26, vxlanMode: 'CrossSubnet' } });
    await store.apply({ apiVersion: API, kind: 'Profile', metadata: { name: 'tortie' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } });
    // Subnet A: host1 (.1), host3 (.2) and the router (.3, moved to .254 below) on one bridge.
    const segA = await makeHosts(scope(), 3, { subnet: '10.74.1.0/24', forwarding: true, name: 'x', mtu: UNDERLAY_MTU });
    const router = segA.hosts[2]!.netns;
    await execInNetns(router, 'ip', ['addr', 'flush', 'dev', 'eth0']);
    await execInNetns(router, 'ip', ['addr', 'add', '10.74.1.254/24', 'dev', 'eth0']);
    // Subnet B: host2, one veth to the router.
    const h2 = await scope().netns('y2');
    await setSysctls(h2, FORWARDING_SYSCTLS);
    await scope().veth({ netns: h2, name: 'eth0', addresses: ['10.74.2.1/24'] }, { netns: router, name: 'eth1', addresses: ['10.74.2.254/24'] }, { mtu: UNDERLAY_MTU });
    for (const [ns, other, gw] of [[segA.hosts[0]!.netns, '10.74.2.0/24', '10.74.1.254'], [segA.hosts[1]!.netns, '10.74.2.0/24', '10.74.1.254'], [h2, '10.74.1.0/24', '10.74.2.254']] as const) {
      await execInNetns(ns, 'ip', ['route', 'add', other, 'via', gw]);
    }
    hosts.push({ netns: segA.hosts[0]!.netns, cidr: '10.74.1.1/24', ip: '10.74.1.1' });
    hosts.push({ netns: h2, cidr: '10.74.2.1/24', ip: '10.74.2.1' });
    hosts.push({ netns: segA.hosts[1]!.netns, cidr: '10.74.1.2/24', ip: '10.74.1.2' });
    expect(await ping(hosts[0]!.netns, '10.74.2.1'), 'underlay: host1 -> host2 through the router').to.equal(true);

    dir = mkdtempSync(join(tmpdir(), 'tortie-vxlan-'));
    stem = scope().prefix;
    for (let i = 0; i < 3; i++) {
      daemons.push(
        await scope().spawn(hosts[i]!.netns, process.execPath, [TORTIE_BIN, 'node', 'run', '--name', `node${i + 1}`, '--datastore', etcd.unixUrl!, '--ip', hosts[i]!.cidr, '--socket', socket(i)], {
          logFile: join(dir, `node${i + 1}.log`),
          env: { TORTIE_LOG_LEVEL: 'info' },
        }),
      );
    }
    try {
      for (let i = 0; i < 3; i++) {
        await waitFor(async () => {
          const r = await tortie(['node', 'status', '-o', 'json', '--socket', socket(i)]);
          if (r.exitCode !== 0) return false;
          const s = JSON.parse(r.stdout) as { peers: { info: string }[] };
          return s.peers.length === 2 && s.peers.every((p) => p.info === 'Established');
        }, { what: `node${i + 1}'s mesh peers to be Established`, timeoutMs: 30_000, intervalMs: 200 });
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of servers) await p.stop(1000).catch(() => undefined);
    for (const d of daemons) await d.stop(5000).catch(() => undefined);
    for (const ns of await listNetns()) if (stem && ns.startsWith(`tw-${stem}`)) await deleteNetns(ns).catch(() => undefined);
    await kv?.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each node has vxlan.tortie (MTU underlay - 50) and publishes its tunnel address and MAC', async () => {
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => {
        const n = await store.get('Node', `node${i + 1}`);
        return n?.spec.ipv4VXLANTunnelAddr && n.spec.vxlanTunnelMACAddr;
      }, { what: `node${i + 1} to publish its VXLAN info`, timeoutMs: 10_000 });
      const n = (await store.get('Node', `node${i + 1}`))!;
      expect(n.spec.ipv4VXLANTunnelAddr!.startsWith('10.75.')).to.equal(true);
      expect(await mtuOf(hosts[i]!.netns, VXLAN_DEVICE)).to.equal(UNDERLAY_MTU - 50);
      const link = (JSON.parse(await execInNetns(hosts[i]!.netns, 'ip', ['-d', '-j', 'addr', 'show', 'dev', VXLAN_DEVICE])) as { address: string; linkinfo: { info_data: { id: number; port: number; local: string } }; addr_info: { local: string }[] }[])[0]!;
      expect(link.address).to.equal(n.spec.vxlanTunnelMACAddr);
      expect(link.linkinfo.info_data).to.include({ id: 4096, port: 4789, local: hosts[i]!.ip });
      expect(link.addr_info.map((a) => a.local)).to.include(n.spec.ipv4VXLANTunnelAddr);
    }
  });

  it('workloads across subnets reach each other over VXLAN (ping, TCP); same-subnet ones without; MTU of eth0 is underlay - 50', async () => {
    await Promise.all([0, 1, 2].map((h) => addWorkload(`${stem}w${h + 1}`, h)));
    workloads.sort((a, b) => a.host - b.host); // added in parallel: put wN on host N first
    const [w1, w2, w3] = workloads as [Workload, Workload, Workload];
    for (const w of workloads) expect(await mtuOf(w.netns, 'eth0'), `${w.name} eth0 MTU`).to.equal(UNDERLAY_MTU - 50);
    // Tunnel routes: host1 and host3 route w2 through vxlan.tortie, host2 routes w1 and w3; none for the same-subnet pair.
    await waitFor(async () => (await vxlanRoutes(0)).includes(w2.ip) && (await vxlanRoutes(2)).includes(w2.ip), { what: 'host1/host3 to route w2 over VXLAN', timeoutMs: 10_000 });
    await waitFor(async () => {
      const r = await vxlanRoutes(1);
      return r.includes(w1.ip) && r.includes(w3.ip);
    }, { what: 'host2 to route w1 and w3 over VXLAN', timeoutMs: 10_000 });
    expect(await vxlanRoutes(0)).to.not.include(w3.ip);
    expect(await vxlanRoutes(2)).to.not.include(w1.ip);

    for (const [a, b] of [[w1, w2], [w2, w1], [w3, w2], [w2, w3], [w1, w3], [w3, w1]] as const) {
      expect(await waitFor(() => ping(a.netns, b.ip, { timeoutMs: 1000 }), { what: `${a.name} -> ${b.name} ping`, timeoutMs: 10_000 }).catch(() => false), `${a.name} -> ${b.name} ping\n${logs()}`).to.equal(true);
    }
    for (const w of workloads) {
      const proc = await spawnInNetns(w.netns, process.execPath, ['-e', "require('node:net').createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(7000, () => console.log('LISTENING'))"]);
      servers.push(proc);
      await waitFor(() => proc.output().includes('LISTENING'), { what: `TCP server in ${w.name}`, timeoutMs: 5000, intervalMs: 20 });
    }
    for (const [a, b] of [[w1, w2], [w2, w1], [w3, w2], [w2, w3], [w1, w3]] as const) {
      expect(await tcpConnect(a.netns, b.ip, 7000, 2000), `${a.name} -> ${b.name} TCP`).to.equal(true);
    }
  });

  it('a capture on host1\'s underlay: UDP 4789 (VNI 4096) for host1 <-> host2, plain ICMP for host1 <-> host3', async () => {
    const [w1, w2, w3] = workloads as [Workload, Workload, Workload];
    const cross = await capture(hosts[0]!.netns, 'udp port 4789', 4, () => execInNetns(w1.netns, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '1', w2.ip]));
    const vxlanLines = cross.split('\n').filter((l) => /VXLAN/.test(l));
    expect(vxlanLines.length, cross).to.be.at.least(2);
    expect(cross, 'outer: host1 <-> host2 on 4789').to.match(new RegExp(`10\\.74\\.1\\.1\\.\\d+ > 10\\.74\\.2\\.1\\.4789`));
    expect(cross).to.match(/vni 4096/);
    expect(cross, 'inner: w1 -> w2 ICMP echo').to.contain(`${w1.ip} > ${w2.ip}: ICMP echo request`);
    expect(cross, 'inner: the reply').to.contain(`${w2.ip} > ${w1.ip}: ICMP echo reply`);

    const same = await capture(hosts[0]!.netns, `icmp or udp port 4789`, 4, () => execInNetns(w1.netns, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '1', w3.ip]));
    expect(same, 'no VXLAN between same-subnet hosts').to.not.match(/VXLAN|4789/);
    expect(same).to.contain(`${w1.ip} > ${w3.ip}: ICMP echo request`);
    expect(same).to.contain(`${w3.ip} > ${w1.ip}: ICMP echo reply`);
  });

  it('the overlay route wins over the speaker\'s (metric 16 vs 32) and follows workloads as they come and go', async () => {
    const [w1, w2, w3] = workloads as [Workload, Workload, Workload];
    const routeGet = async (i: number, ip: string) => (JSON.parse(await execInNetns(hosts[i]!.netns, 'ip', ['-j', 'route', 'get', ip])) as { dev: string; gateway?: string }[])[0]!;
    // The speaker has its own /32 for w2 (via the router, proto 200, metric 32); ours is chosen.
    const speaker = JSON.parse(await execInNetns(hosts[0]!.netns, 'ip', ['-4', '-j', 'route', 'show', `${w2.ip}/32`, 'proto', '200'])) as { metric?: number; gateway?: string }[];
    expect(speaker.map((r) => [r.gateway, r.metric]), 'the speaker\'s route for w2').to.deep.equal([['10.74.1.254', 32]]);
    expect(await routeGet(0, w2.ip)).to.include({ dev: VXLAN_DEVICE });
    expect(await routeGet(0, w3.ip), 'same subnet: the plain BGP route').to.include({ dev: 'eth0', gateway: hosts[2]!.ip });
    // A new workload on host2 gets a tunnel route on host1; deleting it takes the route away.
    const w4 = await addWorkload(`${stem}w4`, 1);
    await waitFor(async () => (await vxlanRoutes(0)).includes(w4.ip), { what: 'host1 to route the new w4 over VXLAN', timeoutMs: 5000 });
    expect(await waitFor(() => ping(w1.netns, w4.ip), { what: 'w1 -> w4', timeoutMs: 5000 })).to.equal(true);
    const r = await tortie(['workload', 'del', w4.name, '--host-netns', hosts[1]!.netns, '--node-socket', socket(1), '--state-dir', join(dir, 'workloads'), '--datastore', etcd.url]);
    expect(r.exitCode, r.stderr).to.equal(0);
    workloads.pop();
    await waitFor(async () => !(await vxlanRoutes(0)).includes(w4.ip), { what: 'host1 to drop w4\'s VXLAN route', timeoutMs: 5000 });
    expect(await vxlanRoutes(0)).to.include(w2.ip);
  });

  it('vxlanMode Always encapsulates the same-subnet pair too; Never removes the device and plain routes carry it again', async () => {
    const [w1, w2, w3] = workloads as [Workload, Workload, Workload];
    await store.apply({ apiVersion: API, kind: 'IPPool', metadata: { name: 'pool-x' }, spec: { cidr: POOL, blockSize: 26, vxlanMode: 'Always' } });
    await waitFor(async () => (await vxlanRoutes(0)).includes(w3.ip) && (await vxlanRoutes(2)).includes(w1.ip), { what: 'host1/host3 to route each other\'s workloads over VXLAN', timeoutMs: 10_000 });
    const always = await capture(hosts[0]!.netns, 'udp port 4789', 4, () => execInNetns(w1.netns, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '1', w3.ip]));
    expect(always).to.match(/10\.74\.1\.1\.\d+ > 10\.74\.1\.2\.4789/);
    expect(always).to.contain(`${w1.ip} > ${w3.ip}: ICMP echo request`);

    await store.apply({ apiVersion: API, kind: 'IPPool', metadata: { name: 'pool-x' }, spec: { cidr: POOL, blockSize: 26, vxlanMode: 'Never' } });
    for (let i = 0; i < 3; i++) await waitFor(async () => !(await hasDevice(i)), { what: `node${i + 1} to remove ${VXLAN_DEVICE}`, timeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) expect(await vxlanRoutes(i)).to.deep.equal([]);
    expect(await waitFor(() => ping(w1.netns, w3.ip), { what: 'w1 -> w3 over plain routes', timeoutMs: 5000 })).to.equal(true);
    // Without the overlay the router drops workload traffic: it knows no workload address.
    expect(await ping(w1.netns, w2.ip, { timeoutMs: 500 })).to.equal(false);
    await waitFor(async () => !(await store.get('Node', 'node1'))?.spec.ipv4VXLANTunnelAddr, { what: 'node1 to clear its tunnel address', timeoutMs: 5000 });
  });
});
