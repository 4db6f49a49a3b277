/**
 * Issue 7's "done when": three hosts (namespaces on one underlay segment), one etcd (reached
 * over its unix socket from inside the hosts), a `tortie node run` per host, two workloads per
 * host made by `tortie workload add` through each node's socket.
 *
 * - every workload reaches every other (ping and TCP) over BGP-learned /32s (proto 200);
 * - deleting a workload withdraws its /32 from every other host within 1 s;
 * - a new workload is reachable from every host;
 * - felix policy holds across hosts (a denied pair, checked with real connections);
 * - `tortie node status` shows the mesh peers Established;
 * - kill -9 of one node daemon, then a restart: pings between the other two hosts'
 *   workloads never stop, pings to the restarted host's workloads lose at most ~1 s.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KV } from '../../../src/datastore/kv.js';
import { openKV } from '../../../src/datastore/open.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { deleteNetns, execInNetns, listNetns, spawnInNetns, type NetnsProcess } from '../../../src/kernel/index.js';
import type { NodeStatus } from '../../../src/node/status.js';
import { tortie, TORTIE_BIN } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { makeHosts, ping, tcpConnect, useNetnsScope, type Host } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';

const API = 'tortie.dev/v1';
const POOL = '10.72.0.0/16';

interface Workload {
  name: string;
  host: number;
  netns: string;
  ip: string;
}

/** Runs `fn` over items, at most `limit` at a time. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/** /32s our speaker installed in a host namespace (protocol 200). */
async function bgpRoutes(netns: string): Promise<string[]> {
  const routes = JSON.parse(await execInNetns(netns, 'ip', ['-4', '-j', 'route', 'show', 'proto', '200'])) as { dst: string }[];
  return routes.map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`));
}

describe('tortie node: three hosts, BGP /32s, policy, restart (issue 7)', function () {
  this.timeout(240_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let store: ResourceStore;
  let hosts: Host[];
  let dir: string;
  let stem: string;
  const daemons: (NetnsProcess | undefined)[] = [];
  const workloads = new Map<string, Workload>();

  const nodeName = (i: number) => `node${i + 1}`;
  const socket = (i: number) => join(dir, `node${i + 1}.sock`);
  const startDaemon = async (i: number) => {
    daemons[i] = await scope().spawn(
      hosts[i]!.netns,
      process.execPath,
      // node3 finds its address itself (autodetection by CIDR); the others are told.
      [TORTIE_BIN, 'node', 'run', '--name', nodeName(i), '--datastore', etcd.unixUrl!, ...(i === 2 ? ['--ip-autodetect', 'cidr=10.71.0.0/24'] : ['--ip', hosts[i]!.cidr4]), '--socket', socket(i)],
      { logFile: join(dir, `node${i + 1}.log`), env: { TORTIE_LOG_LEVEL: 'info' } },
    );
  };
  const status = async (i: number): Promise<NodeStatus> => {
    const r = await tortie(['node', 'status', '-o', 'json', '--socket', socket(i)]);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as NodeStatus;
  };
  const allEstablished = async (i: number) => {
    const s = await status(i);
    return s.peers.length === hosts.length - 1 && s.peers.every((p) => p.info === 'Established');
  };
  const addWorkload = async (name: string, host: number, labels: string): Promise<Workload> => {
    const r = await tortie([
      'workload', 'add', name, '--node', nodeName(host), '--labels', labels, '--host-netns', hosts[host]!.netns,
      '--node-socket', socket(host), '--state-dir', join(dir, 'workloads'), '--datastore', etcd.url,
    ]);
    expect(r.exitCode, `workload add ${name}: ${r.stderr}`).to.equal(0);
    const list = JSON.parse((await tortie(['workload', 'list', '-o', 'json', '--state-dir', join(dir, 'workloads'), '--node-socket', '', '--datastore', etcd.url])).stdout) as { name: string; ips: string[]; netns: string }[];
    const rec = list.find((w) => w.name === name)!;
    const w = { name, host, netns: rec.netns, ip: rec.ips[0]!.split('/')[0]! };
    workloads.set(name, w);
    return w;
  };
  const delWorkload = async (w: Workload) => {
    const r = await tortie(['workload', 'del', w.name, '--host-netns', hosts[w.host]!.netns, '--node-socket', socket(w.host), '--state-dir', join(dir, 'workloads'), '--datastore', etcd.url]);
    expect(r.exitCode, `workload del ${w.name}: ${r.stderr}`).to.equal(0);
    workloads.delete(w.name);
  };
  // TCP servers inside workload namespaces (which the scope did not make: stopped in after()).
  const servers: NetnsProcess[] = [];
  const startServer = async (w: Workload) => {
    const proc = await spawnInNetns(w.netns, process.execPath, ['-e', "require('node:net').createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(7000, () => console.log('LISTENING'))"]);
    servers.push(proc);
    await waitFor(() => proc.output().includes('LISTENING'), { what: `TCP server in ${w.netns}`, timeoutMs: 5000, intervalMs: 20 });
  };
  const logs = () => daemons.map((d, i) => `--- node${i + 1} ---\n${d?.output().split('\n').slice(-15).join('\n') ?? ''}`).join('\n');

  before(async function () {
    this.timeout(90_000);
    etcd = await startEtcd({ unixSocket: true });
    kv = await openKV(etcd.url);
    store = new ResourceStore(kv);
    await store.apply({ apiVersion: API, kind: 'IPPool', metadata: { name: 'pool-n' }, spec: { cidr: POOL, blockSize: 26 } });
    // The workloads' network profile: allow everything, so that only policies deny.
    await store.apply({ apiVersion: API, kind: 'Profile', metadata: { name: 'tortie' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } });
    hosts = (await makeHosts(scope(), 3, { subnet: '10.71.0.0/24', forwarding: true, name: 'n' })).hosts;
    dir = mkdtempSync(join(tmpdir(), 'tortie-node-'));
    stem = scope().prefix;
    for (let i = 0; i < hosts.length; i++) await startDaemon(i);
    try {
      for (let i = 0; i < hosts.length; i++) await waitFor(() => allEstablished(i), { what: `node${i + 1}'s mesh peers to be Established`, timeoutMs: 30_000, intervalMs: 200 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of servers) await p.stop(1000).catch(() => undefined);
    for (const d of daemons) await d?.stop(5000).catch(() => undefined);
    for (const ns of await listNetns()) if (ns.startsWith(`tw-${stem}`)) await deleteNetns(ns).catch(() => undefined);
    await kv?.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two workloads per host reach every other one over BGP-learned /32s (ping and TCP)', async () => {
    await Promise.all(
      hosts.flatMap((_, h) => [`${stem}w${h + 1}a`, `${stem}w${h + 1}b`].map((name, k) => addWorkload(name, h, `app=w${h + 1}${k === 0 ? 'a' : 'b'},host=h${h + 1}`))),
    );
    const all = [...workloads.values()];
    expect(all).to.have.length(6);
    // Each host learns the other hosts' workloads as /32s from BGP (protocol 200).
    for (let h = 0; h < hosts.length; h++) {
      const remote = all.filter((w) => w.host !== h).map((w) => `${w.ip}/32`).sort();
      await waitFor(async () => {
        const have = await bgpRoutes(hosts[h]!.netns);
        return remote.every((r) => have.includes(r));
      }, { what: `host ${h + 1} to learn ${remote.join(', ')} over BGP`, timeoutMs: 10_000 });
    }
    const pairs = all.flatMap((a) => all.filter((b) => b !== a).map((b) => [a, b] as const));
    const pinged = await inBatches(pairs, 10, async ([a, b]) => [`${a.name}->${b.name}`, await ping(a.netns, b.ip, { timeoutMs: 2000 })] as const);
    expect(pinged.filter(([, ok]) => !ok).map(([p]) => p), 'pairs that could not ping').to.deep.equal([]);
    await Promise.all(all.map((w) => startServer(w)));
    const connected = await inBatches(pairs, 6, async ([a, b]) => [`${a.name}->${b.name}`, await tcpConnect(a.netns, b.ip, 7000, 2000)] as const);
    expect(connected.filter(([, ok]) => !ok).map(([p]) => p), 'pairs that could not connect over TCP').to.deep.equal([]);
  });

  it('deleting a workload withdraws its /32 from every other host within 1 s', async () => {
    const w = workloads.get(`${stem}w1b`)!;
    const prefix = `${w.ip}/32`;
    for (const h of [1, 2]) expect(await bgpRoutes(hosts[h]!.netns)).to.include(prefix);
    await delWorkload(w);
    const deleted = Date.now();
    await Promise.all(
      [1, 2].map((h) => waitFor(async () => !(await bgpRoutes(hosts[h]!.netns)).includes(prefix), { what: `${prefix} to leave host ${h + 1}`, timeoutMs: 1000, intervalMs: 20 })),
    );
    expect(Date.now() - deleted).to.be.below(1000);
  });

  it('a new workload is reachable from every host and every other workload', async () => {
    const w = await addWorkload(`${stem}w2c`, 1, 'app=w2c,host=h2');
    for (const h of [0, 2]) {
      await waitFor(async () => (await bgpRoutes(hosts[h]!.netns)).includes(`${w.ip}/32`), { what: `host ${h + 1} to learn ${w.ip}`, timeoutMs: 5000 });
    }
    for (let h = 0; h < hosts.length; h++) expect(await ping(hosts[h]!.netns, w.ip), `host ${h + 1} -> ${w.name}`).to.equal(true);
    for (const other of workloads.values()) if (other !== w) expect(await ping(other.netns, w.ip), `${other.name} -> ${w.name}`).to.equal(true);
  });

  it('service discovery: a workload resolves workloads on other hosts by name through its node (169.254.1.1)', async () => {
    const [from, ...others] = [...workloads.values()];
    for (const to of others.filter((o) => o.host !== from!.host).slice(0, 2)) {
      const name = `${to.name.toLowerCase()}.default.tortie.local`;
      const resolve = `const r=new (require('node:dns').promises.Resolver)({timeout:1000,tries:1});r.setServers(['169.254.1.1']);r.resolve4(process.argv[1]).then(a=>console.log(a.join(',')),e=>{console.log('ERR '+e.code);})`;
      const answer = await waitFor(async () => {
        const out = (await execInNetns(from!.netns, process.execPath, ['-e', resolve, name])).trim();
        return out.startsWith('ERR') ? undefined : out;
      }, { timeoutMs: 10_000, what: `${from!.name} to resolve ${name}` });
      expect(answer, name).to.equal(to.ip);
    }
  });

  it('felix policy holds across hosts: a denied pair cannot connect, the others still can', async () => {
    const target = workloads.get(`${stem}w1a`)!; // on host 1
    const denied = workloads.get(`${stem}w2a`)!; // on host 2
    const allowed = workloads.get(`${stem}w3a`)!; // on host 3
    expect(await tcpConnect(denied.netns, target.ip, 7000)).to.equal(true);
    await store.apply({
      apiVersion: API,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'deny-w2a-to-w1a' },
      spec: { selector: "app == 'w1a'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { selector: "app == 'w2a'" } }, { action: 'Allow' }] },
    });
    await waitFor(async () => !(await tcpConnect(denied.netns, target.ip, 7000, 500)), { what: 'the policy to deny w2a -> w1a', timeoutMs: 10_000 });
    expect(await ping(denied.netns, target.ip, { timeoutMs: 500 })).to.equal(false);
    expect(await tcpConnect(allowed.netns, target.ip, 7000)).to.equal(true);
    expect(await tcpConnect(target.netns, denied.ip, 7000), 'the other direction is not denied').to.equal(true);
    await store.delete({ kind: 'GlobalNetworkPolicy', name: 'deny-w2a-to-w1a' });
    await waitFor(() => tcpConnect(denied.netns, target.ip, 7000, 500), { what: 'w2a -> w1a to be allowed again', timeoutMs: 10_000 });
  });

  it('tortie node status shows the mesh peers Established', async () => {
    const r = await tortie(['node', 'status', '--socket', socket(0)]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('tortie node node1 is running');
    for (const peer of [hosts[1]!.ipv4, hosts[2]!.ipv4]) {
      const row = r.stdout.split('\n').find((l) => l.includes(` ${peer} `));
      expect(row, r.stdout).to.match(/\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established/);
    }
    const s = await status(0);
    expect(s.asNumber).to.equal(64512);
    expect(s.ipv4Address).to.equal(hosts[0]!.cidr4);
    expect(s.originated).to.equal([...workloads.values()].filter((w) => w.host === 0).length);
    expect(s.felix.ready).to.equal(true);
    expect((await status(2)).ipv4Address, 'node3 autodetected').to.equal(hosts[2]!.cidr4);
  });

  it('BGP changes in the datastore apply without a restart (mesh off, then on)', async () => {
    const pid = daemons[0]!.pid;
    await store.apply({ apiVersion: API, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } });
    await waitFor(async () => (await status(0)).peers.length === 0, { what: 'node1 to drop its mesh peers', timeoutMs: 5000 });
    await waitFor(async () => (await bgpRoutes(hosts[0]!.netns)).length === 0, { what: 'node1\'s BGP routes to go', timeoutMs: 5000 });
    await store.apply({ apiVersion: API, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: true } });
    for (let i = 0; i < hosts.length; i++) await waitFor(() => allEstablished(i), { what: `node${i + 1}'s mesh to come back`, timeoutMs: 20_000, intervalMs: 200 });
    const remote = [...workloads.values()].filter((w) => w.host !== 0).map((w) => `${w.ip}/32`);
    await waitFor(async () => {
      const have = await bgpRoutes(hosts[0]!.netns);
      return remote.every((r) => have.includes(r));
    }, { what: 'node1 to learn the routes again', timeoutMs: 5000 });
    expect(daemons[0]!.pid).to.equal(pid);
    expect(daemons[0]!.exit).to.equal(undefined);
  });

  it('kill -9 of a node daemon and a restart: other hosts never stop; its workloads lose at most ~1 s', async () => {
    const w1 = workloads.get(`${stem}w1a`)!;
    const w2 = workloads.get(`${stem}w2a`)!;
    const w3 = workloads.get(`${stem}w3a`)!;
    const intervalS = 0.05;
    const count = 240; // 12 s of pings
    const loop = (from: Workload, to: Workload) =>
      execInNetns(from.netns, 'ping', ['-n', '-q', '-i', String(intervalS), '-c', String(count), '-W', '1', to.ip], { timeoutMs: 60_000 }).catch((err: Error) => err.message);
    const lost = (out: string) => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`no ping summary in: ${out}`);
      return Number(m[1]) - Number(m[2]);
    };
    const between = loop(w1, w2);
    const toRestarted = loop(w1, w3);
    const fromRestarted = loop(w3, w2);
    const old = daemons[2]!;
    process.kill(old.pid, 'SIGKILL');
    await old.exited;
    // Peers keep node3's routes while it is away (graceful restart helper).
    expect(await bgpRoutes(hosts[0]!.netns)).to.include(`${w3.ip}/32`);
    await startDaemon(2);
    try {
      await waitFor(() => allEstablished(2), { what: 'node3 to be back with its peers', timeoutMs: 30_000, intervalMs: 200 });
      for (const i of [0, 1]) await waitFor(() => allEstablished(i), { what: `node${i + 1} to see node3 again`, timeoutMs: 30_000, intervalMs: 200 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
    const [a, b, c] = await Promise.all([between, toRestarted, fromRestarted]);
    expect(lost(a), `w1 -> w2 while node3 restarted: ${a}`).to.equal(0);
    expect(lost(b), `w1 -> w3 while node3 restarted: ${b}`).to.be.at.most(Math.round(1 / intervalS));
    expect(lost(c), `w3 -> w2 while node3 restarted: ${c}`).to.be.at.most(Math.round(1 / intervalS));
    // And the routes are all there after the restart, learned afresh.
    for (let h = 0; h < hosts.length; h++) {
      const remote = [...workloads.values()].filter((w) => w.host !== h).map((w) => `${w.ip}/32`);
      await waitFor(async () => {
        const have = await bgpRoutes(hosts[h]!.netns);
        return remote.every((r) => have.includes(r));
      }, { what: `host ${h + 1}'s routes after the restart`, timeoutMs: 10_000 });
    }
  });

  it('SIGTERM: Cease to the peers (they withdraw its routes at once), socket removed, felix\'s kernel state kept', async () => {
    const w2 = workloads.get(`${stem}w2a`)!;
    const node2 = daemons[1]!;
    const chains = async () => (await execInNetns(hosts[1]!.netns, 'iptables-save', ['-t', 'filter'])).split('\n').filter((l) => l.startsWith(':tortie-')).sort();
    const chainsBefore = await chains();
    expect(chainsBefore.length).to.be.greaterThan(0);
    process.kill(node2.pid, 'SIGTERM');
    const exit = await node2.exited;
    expect(exit, node2.output().split('\n').slice(-10).join('\n')).to.deep.equal({ code: 0, signal: null });
    expect(existsSync(socket(1)), 'socket removed').to.equal(false);
    // A Cease is no restart: the peers drop node2's routes now, not after the restart time.
    await waitFor(async () => !(await bgpRoutes(hosts[0]!.netns)).includes(`${w2.ip}/32`), { what: 'node1 to withdraw node2\'s routes', timeoutMs: 2000 });
    const peer = (await status(0)).peers.find((p) => p.address === hosts[1]!.ipv4)!;
    expect(peer.state).to.equal('start');
    // felix's kernel state stays: its chains, and the local workload's route.
    expect(await chains()).to.deep.equal(chainsBefore);
    expect(await ping(hosts[1]!.netns, w2.ip)).to.equal(true);
  });
});
