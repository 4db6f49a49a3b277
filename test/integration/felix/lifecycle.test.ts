/**
 * felix over time, with real packets: start-of-day sweep, drift repair, other tools' rules,
 * restart without interrupting a flow, bad input, NAT outgoing, host endpoints with
 * failsafe ports, unknown workload interfaces, and the metrics endpoint.
 */
import { expect } from 'chai';
import { get } from 'node:http';
import { UserError } from '../../../src/common/errors.js';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { resourceKey } from '../../../src/datastore/resources/keys.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { startFelix, type FelixHandle } from '../../../src/felix/index.js';
import { execInNetns, ipBatch, setSysctls, type NetnsProcess } from '../../../src/kernel/index.js';
import { ping, startEchoServer, tcpConnect, useNetnsScope } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';
import { addWorkload, makeTopology, writeEndpoint, type Topology } from './topology.js';

const API = 'tortie.dev/v1';

/** Every chain of ours with the hashes of its rules, from the kernel. */
async function ourRuleset(netns: string): Promise<string> {
  const out = await execInNetns(netns, 'iptables-save');
  return out
    .split('\n')
    .filter((l) => /^-A /.test(l) && /tortie:/.test(l))
    .map((l) => `${l.split(' ')[1]} ${/tortie:([a-z0-9]+)/.exec(l)![1]}`)
    .join('\n');
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const CLIENT = String.raw`
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let got = 0;
s.on('connect', () => { console.log('CONNECTED'); setInterval(() => s.write('x'), 50); });
s.on('data', (d) => { got += d.length; console.log('GOT ' + got); });
s.on('error', (e) => { console.log('ERROR ' + e.code); process.exit(1); });
s.on('close', () => { console.log('CLOSED'); process.exit(1); });
`;

describe('felix: lifecycle (real packets)', function () {
  this.timeout(60_000);
  let store: ResourceStore;
  let felix: FelixHandle | undefined;
  // Registered before the scope's own cleanup, so that felix stops before its namespace goes.
  after(async () => {
    await felix?.stop();
    await store?.kv.close();
  });
  const scope = useNetnsScope();
  let topo: Topology;
  let marker = 0;

  async function sync(f = felix!): Promise<void> {
    const r = await store.apply({ apiVersion: API, kind: 'Profile', metadata: { name: 'zz-sync-marker' }, spec: { labelsToApply: { n: String(++marker) } } });
    await f.waitForRevision(Number(r.metadata.resourceVersion));
  }

  before(async () => {
    topo = await makeTopology(scope(), 74, [
      { name: 'c', ip: '10.74.0.1', labels: { role: 'client' } },
      { name: 's', ip: '10.74.0.10', labels: { app: 'web' } },
    ]);
    store = new ResourceStore(new MemoryKV());
    for (const w of topo.workloads.values()) await writeEndpoint(store, 'node1', w);
    await startEchoServer(scope(), topo.workloads.get('s')!.netns, { proto: 'tcp', port: 8080 });
    await store.apply({
      apiVersion: API,
      kind: 'NetworkPolicy',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: 'app == "web"', ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: 'role == "client"' }, destination: { ports: [8080] } }] },
    });
  });

  it('start of day: sweeps what an earlier run left (our marks only) and keeps everything else', async () => {
    const s = topo.workloads.get('s')!;
    await execInNetns(topo.host, 'iptables-restore', ['--noflush'], {
      input: '*filter\n:tortie-stale - [0:0]\n-A tortie-stale -j DROP\n:keepme - [0:0]\n-A keepme -j RETURN\n-A FORWARD -j keepme\nCOMMIT\n',
    });
    await execInNetns(topo.host, 'ipset', ['restore'], { input: 'create tortie-s-stale hash:net\ncreate keepme hash:net\n' });
    await ipBatch([`route add 10.74.9.9/32 dev ${s.iface} proto 80`, `route add 10.74.9.10/32 dev ${s.iface} proto static`], { netns: topo.host });

    felix = startFelix({ store, nodeName: 'node1', netns: topo.host, ipv6: false, metricsPort: 0 });
    await felix.ready;
    const save = await execInNetns(topo.host, 'iptables-save', ['-t', 'filter']);
    expect(save).to.not.include('tortie-stale');
    expect(save).to.include('-A keepme -j RETURN');
    expect(save).to.include('-A FORWARD -j keepme');
    // our jump is first in FORWARD, theirs stays after it
    expect(save.split('\n').filter((l) => l.startsWith('-A FORWARD'))[0]).to.include('-j tortie-FORWARD');
    const sets = await execInNetns(topo.host, 'ipset', ['list', '-n']);
    expect(sets.split('\n')).to.include('keepme').and.not.include('tortie-s-stale');
    const routes = await execInNetns(topo.host, 'ip', ['route']);
    expect(routes).to.not.include('10.74.9.9');
    expect(routes).to.include('10.74.9.10');
    expect(await tcpConnect(topo.workloads.get('c')!.netns, s.ip, 8080)).to.equal(true);
  });

  it('serves /metrics, /liveness and /readiness on loopback', async () => {
    const port = await waitFor(() => felix!.status().metricsPort, { what: 'metrics server' });
    const m = await httpGet(port, '/metrics');
    expect(m.status).to.equal(200);
    expect(m.body).to.match(/tortie_felix_apply_duration_seconds_count [1-9]/);
    expect(m.body).to.match(/tortie_felix_active_endpoints 2/);
    expect(m.body).to.match(/tortie_felix_active_policies 1/);
    expect(m.body).to.match(/tortie_felix_iptables_rules [1-9]\d*/);
    expect((await httpGet(port, '/liveness')).status).to.equal(200);
    expect((await httpGet(port, '/readiness')).status).to.equal(200);
  });

  it('drift: a flushed chain of ours and a deleted route are repaired within 5 s', async () => {
    const before = await ourRuleset(topo.host);
    const s = topo.workloads.get('s')!;
    await execInNetns(topo.host, 'iptables', ['-F', 'tortie-FORWARD']);
    await execInNetns(topo.host, 'ip', ['route', 'del', `${s.ip}/32`]);
    expect(await ourRuleset(topo.host)).to.not.equal(before);
    await waitFor(async () => (await ourRuleset(topo.host)) === before, { timeoutMs: 5000, what: 'the ruleset to be repaired' });
    await waitFor(async () => (await execInNetns(topo.host, 'ip', ['route', 'show', 'proto', '80'])).includes(s.ip), { timeoutMs: 5000, what: 'the route to come back' });
  });

  it("another tool's rules, in its own chain and above our jump, survive every apply", async () => {
    await execInNetns(topo.host, 'iptables', ['-I', 'FORWARD', '1', '-j', 'keepme']);
    await execInNetns(topo.host, 'iptables', ['-A', 'keepme', '-s', '10.99.0.0/16', '-j', 'RETURN']);
    // a policy change and a read-back/repair both happen
    await store.apply({ apiVersion: API, kind: 'NetworkPolicy', metadata: { name: 'extra', namespace: 'default' }, spec: { selector: 'role == "client"', types: ['Egress'], egress: [{ action: 'Allow' }] } });
    await sync();
    const refreshed = felix!.status().applies;
    await waitFor(() => felix!.status().applies > refreshed + 1, { what: 'two more applies' });
    const save = await execInNetns(topo.host, 'iptables-save', ['-t', 'filter']);
    expect(save).to.include('-A keepme -s 10.99.0.0/16 -j RETURN');
    const forward = save.split('\n').filter((l) => l.startsWith('-A FORWARD'));
    expect(forward[0]).to.include('-j tortie-FORWARD'); // ours moved back to the top
    expect(forward.filter((l) => l === '-A FORWARD -j keepme')).to.have.length(2);
    await store.delete({ kind: 'NetworkPolicy', name: 'extra', namespace: 'default' });
    await sync();
  });

  it('restart with the same datastore: the same ruleset (equal hashes) and an established flow keeps working', async () => {
    const c = topo.workloads.get('c')!;
    const s = topo.workloads.get('s')!;
    const client: NetnsProcess = await scope().spawn(c.netns, process.execPath, ['-e', CLIENT, s.ip, '8080']);
    const received = () => Number(/GOT (\d+)\n?$/.exec(client.output().trimEnd() + '\n')?.[1] ?? 0);
    await waitFor(() => received() > 0, { what: 'the flow to carry data' });
    const before = await ourRuleset(topo.host);
    await felix!.stop();
    felix = startFelix({ store, nodeName: 'node1', netns: topo.host, ipv6: false });
    await felix.ready;
    expect(await ourRuleset(topo.host)).to.equal(before);
    const at = received();
    await waitFor(() => received() > at + 10, { what: 'the established flow to keep carrying data' });
    expect(client.output()).to.not.match(/CLOSED|ERROR/);
    await client.stop();
  });

  it('bad input: a selector that does not parse is refused by the store with its position', async () => {
    let err: unknown;
    try {
      await store.apply({ apiVersion: API, kind: 'NetworkPolicy', metadata: { name: 'bad', namespace: 'default' }, spec: { selector: 'app == ' } });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(/spec\.selector.*position 7/);
  });

  it('bad input that reaches felix anyway (written past validation) fails closed and is reported', async () => {
    const c = topo.workloads.get('c')!;
    const s = topo.workloads.get('s')!;
    const bad = { apiVersion: API, kind: 'NetworkPolicy', metadata: { name: 'bad', namespace: 'default' }, spec: { selector: 'app == ', types: ['Ingress'] } };
    const key = resourceKey('NetworkPolicy', 'bad', 'default');
    await store.kv.put(key, JSON.stringify(bad));
    await sync();
    expect(felix!.status().problems.join('\n')).to.match(/position 7/);
    expect(await tcpConnect(c.netns, s.ip, 8080, 700)).to.equal(false);
    await store.kv.delete(key);
    await sync();
    expect(await tcpConnect(c.netns, s.ip, 8080)).to.equal(true);
  });

  it('a failed iptables-restore leaves the old ruleset whole (a bad rule injected by a test hook)', async () => {
    let inject = false;
    const hooked = startFelix({
      store,
      nodeName: 'node1',
      netns: topo.host,
      ipv6: false,
      retry: { minMs: 60_000 },
      hooks: { beforeRestore: ({ table, input }) => (inject && table === 'filter' ? input.replace('COMMIT', '-A tortie-FORWARD -j no-such-target-chain\nCOMMIT') : input) },
    });
    await felix!.stop();
    felix = hooked;
    await hooked.ready;
    const before = await ourRuleset(topo.host);
    inject = true;
    // a change that rewrites chains: the new policy's transaction carries the bad rule
    await store.apply({ apiVersion: API, kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'default' }, spec: { selector: 'all()', order: 1, ingress: [{ action: 'Deny' }] } });
    await waitFor(() => hooked.status().failures > 0, { what: 'the apply to fail' });
    expect(hooked.status().lastError).to.match(/iptables-restore/);
    expect(await ourRuleset(topo.host)).to.equal(before);
    expect(await tcpConnect(topo.workloads.get('c')!.netns, topo.workloads.get('s')!.ip, 8080)).to.equal(true);
    inject = false;
    await hooked.applyNow();
    expect(await ourRuleset(topo.host)).to.not.equal(before);
    expect(await tcpConnect(topo.workloads.get('c')!.netns, topo.workloads.get('s')!.ip, 8080, 700)).to.equal(false);
    await store.delete({ kind: 'NetworkPolicy', name: 'deny-all', namespace: 'default' });
    await sync();
  });

  it('traffic from a workload interface felix does not know is dropped', async () => {
    const x = await addWorkload(scope(), topo.host, { name: 'x', ip: '10.74.0.30' });
    // Make the kernel side work by hand, so that only felix's dispatch can stop it.
    await setSysctls(topo.host, { [`net.ipv4.conf.${x.iface}.proxy_arp`]: 1, [`net.ipv4.neigh.${x.iface}.proxy_delay`]: 0 });
    await ipBatch([`route add ${x.ip}/32 dev ${x.iface} scope link`], { netns: topo.host });
    const c = topo.workloads.get('c')!; // no policy selects c: only the dispatch can drop
    expect(await ping(x.netns, c.ip, { timeoutMs: 700 })).to.equal(false);
    await writeEndpoint(store, 'node1', x);
    await sync();
    expect(await ping(x.netns, c.ip)).to.equal(true);
  });

  it('NAT outgoing: a natOutgoing pool is masqueraded to addresses outside every pool', async () => {
    const c = topo.workloads.get('c')!;
    const pool = (natOutgoing: boolean) => ({ apiVersion: API, kind: 'IPPool', metadata: { name: 'pool' }, spec: { cidr: '10.74.0.0/16', natOutgoing } });
    await store.apply(pool(false));
    await sync();
    // ext has no route back to 10.74/16: only a masqueraded packet gets an answer
    expect(await ping(c.netns, topo.extIp, { timeoutMs: 700 })).to.equal(false);
    await store.apply(pool(true));
    await sync();
    expect(await ping(c.netns, topo.extIp)).to.equal(true);
    // between workloads (inside the pool) no NAT: s still sees c's own address
    const nat = await execInNetns(topo.host, 'iptables-save', ['-t', 'nat']);
    expect(nat).to.match(/--match-set tortie-masq-pools src -m set ! --match-set tortie-all-pools dst -j MASQUERADE/);
  });

  it('a host endpoint is default-deny but keeps the failsafe ports open', async () => {
    await startEchoServer(scope(), topo.host, { proto: 'tcp', port: 22 });
    await startEchoServer(scope(), topo.host, { proto: 'tcp', port: 8081 });
    expect(await tcpConnect(topo.ext, topo.hostIp, 8081)).to.equal(true);
    await store.apply({ apiVersion: API, kind: 'HostEndpoint', metadata: { name: 'node1-eth0', labels: { host: 'node1' } }, spec: { node: 'node1', interfaceName: 'eth0' } });
    await sync();
    expect(await tcpConnect(topo.ext, topo.hostIp, 8081, 700)).to.equal(false);
    expect(await tcpConnect(topo.ext, topo.hostIp, 22)).to.equal(true);
    // a GlobalNetworkPolicy selecting the host endpoint opens 8081
    await store.apply({ apiVersion: API, kind: 'GlobalNetworkPolicy', metadata: { name: 'host-8081' }, spec: { selector: 'host == "node1"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8081] } }] } });
    await sync();
    expect(await tcpConnect(topo.ext, topo.hostIp, 8081)).to.equal(true);
    await store.delete({ kind: 'HostEndpoint', name: 'node1-eth0' });
    await store.delete({ kind: 'GlobalNetworkPolicy', name: 'host-8081' });
    await sync();
  });
});
