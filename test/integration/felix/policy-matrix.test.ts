/**
 * The policy matrix: each case writes policies (and profiles) to the datastore, waits until
 * felix has them in the kernel, and checks every expectation with a real connection attempt
 * (TCP connect, UDP echo, ICMP echo) between workload namespaces on one host. The topology
 * is built once; only policy changes between cases.
 */
import { expect } from 'chai';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { startFelix, type FelixHandle } from '../../../src/felix/index.js';
import { echoRoundTrip, ping, startEchoServer, tcpConnect, useNetnsScope } from '../../helpers/netns.js';
import { makeTopology, writeEndpoint, type Topology } from './topology.js';

const API = 'tortie.dev/v1';
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown> };
const np = (name: string, spec: Record<string, unknown>, namespace = 'default'): Doc => ({ apiVersion: API, kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const gnp = (name: string, spec: Record<string, unknown>): Doc => ({ apiVersion: API, kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const profile = (name: string, spec: Record<string, unknown>): Doc => ({ apiVersion: API, kind: 'Profile', metadata: { name }, spec });

/** [from, kind, to, port, allowed?] */
type Probe = [string, 'tcp' | 'udp' | 'ping', string, number, boolean];

interface Case {
  name: string;
  docs: Doc[];
  probes: Probe[];
}

const WEB = 'app == "web"';
const web = (spec: Record<string, unknown>) => ({ selector: WEB, types: ['Ingress'], ...spec });

const CASES: Case[] = [
  { name: 'no policy: open', docs: [], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'ping', 's', 0, true], ['c1', 'udp', 's', 5353, true]] },
  { name: 'selected with no ingress rules: default deny; its egress stays open', docs: [np('deny', web({}))], probes: [['c1', 'tcp', 's', 8080, false], ['c1', 'ping', 's', 0, false], ['s', 'ping', 'c1', 0, true]] },
  { name: 'Allow source selector', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { selector: 'role == "client"' } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c2', 'tcp', 's', 8080, false]] },
  { name: 'Allow source notSelector', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { notSelector: 'role == "client"' } }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Allow TCP destination port', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 9090, false]] },
  { name: 'Allow TCP port range', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['9000:9100'] } }] }))], probes: [['c1', 'tcp', 's', 9090, true], ['c1', 'tcp', 's', 8080, false]] },
  { name: 'Allow TCP notPorts', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { notPorts: [8080] } }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c1', 'tcp', 's', 9090, true]] },
  { name: 'Allow named port', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 9090, false]] },
  { name: 'Allow named notPorts', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', destination: { notPorts: ['http'] } }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c1', 'tcp', 's', 9090, true]] },
  { name: 'Allow UDP named port', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: ['dns'] } }] }))], probes: [['c1', 'udp', 's', 5353, true], ['c1', 'tcp', 's', 8080, false]] },
  { name: 'Allow protocol UDP only', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'UDP' }] }))], probes: [['c1', 'udp', 's', 5353, true], ['c1', 'tcp', 's', 8080, false], ['c1', 'ping', 's', 0, false]] },
  { name: 'Allow notProtocol UDP', docs: [np('p', web({ ingress: [{ action: 'Allow', notProtocol: 'UDP' }] }))], probes: [['c1', 'udp', 's', 5353, false], ['c1', 'tcp', 's', 8080, true], ['c1', 'ping', 's', 0, true]] },
  { name: 'Allow ICMP echo request (type 8)', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }] }))], probes: [['c1', 'ping', 's', 0, true], ['c1', 'tcp', 's', 8080, false]] },
  { name: 'Allow ICMP type 8 code 1 (echo has code 0)', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 1 } }] }))], probes: [['c1', 'ping', 's', 0, false]] },
  { name: 'Allow ICMP notICMP type 8', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'ICMP', notICMP: { type: 8 } }] }))], probes: [['c1', 'ping', 's', 0, false]] },
  { name: 'Allow source nets (one)', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { nets: ['10.72.0.1/32'] } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c2', 'tcp', 's', 8080, false]] },
  { name: 'Allow source nets (several: an ipset)', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { nets: ['10.72.0.1/32', '10.72.0.2/32'] } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c2', 'tcp', 's', 8080, true], ['p', 'tcp', 's', 8080, false]] },
  { name: 'Allow source notNets', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { notNets: ['10.72.0.1/32'] } }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Allow source ports (ephemeral range) vs privileged range', docs: [np('p', web({ ingress: [{ action: 'Allow', protocol: 'TCP', source: { ports: ['1024:65535'] }, destination: { ports: [8080] } }, { action: 'Allow', protocol: 'TCP', source: { ports: ['1:1023'] }, destination: { ports: [9090] } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 9090, false]] },
  { name: 'Egress default deny', docs: [np('e', { selector: 'role == "client"', types: ['Egress'] })], probes: [['c1', 'tcp', 's', 8080, false], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Egress Allow destination selector', docs: [np('e', { selector: 'role == "client"', types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: WEB } }] })], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 'c2', 8080, false]] },
  { name: 'Egress Allow destination nets / notNets', docs: [np('e', { selector: 'role == "client"', types: ['Egress'], egress: [{ action: 'Allow', destination: { nets: ['10.72.0.0/24'], notNets: ['10.72.0.2/32'] } }] })], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 'c2', 8080, false]] },
  { name: 'Deny before Allow in one policy', docs: [np('p', web({ ingress: [{ action: 'Deny', source: { selector: 'role == "client"' } }, { action: 'Allow' }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Order: Deny (order 10) before Allow (order 20)', docs: [np('first', web({ order: 10, ingress: [{ action: 'Deny', source: { selector: 'role == "client"' } }] })), np('second', web({ order: 20, ingress: [{ action: 'Allow' }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Order swapped: Allow (order 10) before Deny (order 20)', docs: [np('first', web({ order: 20, ingress: [{ action: 'Deny', source: { selector: 'role == "client"' } }] })), np('second', web({ order: 10, ingress: [{ action: 'Allow' }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['c2', 'tcp', 's', 8080, true]] },
  { name: 'Pass skips later policies; the profile decides', docs: [np('pass', web({ order: 1, ingress: [{ action: 'Pass' }] })), np('deny', web({ order: 2, ingress: [{ action: 'Deny' }] })), profile('prof-web', { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }] })], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 9090, false]] },
  { name: 'Pass with no profile rules: denied', docs: [np('pass', web({ ingress: [{ action: 'Pass' }] }))], probes: [['c1', 'tcp', 's', 8080, false]] },
  { name: 'Profile alone (no policy): its rules decide, default deny', docs: [profile('prof-web', { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] })], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 9090, false]] },
  { name: 'Log does not decide: Log then Allow is allowed', docs: [np('p', web({ ingress: [{ action: 'Log' }, { action: 'Allow' }] }))], probes: [['c1', 'tcp', 's', 8080, true]] },
  { name: 'Log alone does not allow', docs: [np('p', web({ ingress: [{ action: 'Log' }] }))], probes: [['c1', 'tcp', 's', 8080, false]] },
  { name: 'namespaceSelector picks by namespace labels', docs: [gnp('g', { selector: WEB, types: ['Ingress'], ingress: [{ action: 'Allow', source: { namespaceSelector: 'env == "prod"' } }] })], probes: [['p', 'tcp', 's', 8080, true], ['q', 'tcp', 's', 8080, false], ['c1', 'tcp', 's', 8080, false]] },
  { name: 'namespaceSelector with selector', docs: [gnp('g', { selector: WEB, types: ['Ingress'], ingress: [{ action: 'Allow', source: { namespaceSelector: 'has(env)', selector: 'role == "client"' } }] })], probes: [['p', 'tcp', 's', 8080, true], ['q', 'tcp', 's', 8080, true], ['c1', 'tcp', 's', 8080, false]] },
  { name: 'NetworkPolicy rule selector is scoped to its namespace', docs: [np('p', web({ ingress: [{ action: 'Allow', source: { selector: 'role == "client"' } }] }))], probes: [['c1', 'tcp', 's', 8080, true], ['p', 'tcp', 's', 8080, false]] },
  { name: 'GlobalNetworkPolicy rule selector sees every namespace', docs: [gnp('g', { selector: WEB, types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: 'role == "client"' } }] })], probes: [['c1', 'tcp', 's', 8080, true], ['p', 'tcp', 's', 8080, true], ['c2', 'tcp', 's', 8080, false]] },
  { name: 'a NetworkPolicy of another namespace does not select', docs: [np('p', { selector: 'all()', types: ['Ingress'] }, 'prod')], probes: [['c1', 'tcp', 's', 8080, true], ['c1', 'tcp', 'p', 8080, false]] },
  { name: 'ipVersion 6 rule does not allow IPv4', docs: [np('p', web({ ingress: [{ action: 'Allow', ipVersion: 6 }] }))], probes: [['c1', 'tcp', 's', 8080, false]] },
  { name: 'a policy felix cannot enforce fails closed, even beside an Allow', docs: [np('allow', web({ order: 1, ingress: [{ action: 'Allow' }] })), np('l7', web({ order: 2, ingress: [{ action: 'Allow', http: { methods: ['GET'] } }] }))], probes: [['c1', 'tcp', 's', 8080, false], ['c1', 'ping', 's', 0, false], ['s', 'ping', 'c1', 0, true]] },
];

describe('felix: policy matrix (real packets)', function () {
  this.timeout(120_000);
  let store: ResourceStore;
  let felix: FelixHandle;
  // Registered before the scope's own cleanup, so that felix stops before its namespace goes.
  after(async () => {
    await felix?.stop();
    await store?.kv.close();
  });
  const scope = useNetnsScope();
  let topo: Topology;
  let applied: Doc[] = [];
  let marker = 0;

  /** Waits until felix has applied everything written so far (a marker write orders it). */
  async function sync(): Promise<void> {
    const r = await store.apply(profile('zz-sync-marker', { labelsToApply: { n: String(++marker) } }));
    await felix.waitForRevision(Number(r.metadata.resourceVersion));
  }

  before(async function () {
    this.timeout(60_000);
    topo = await makeTopology(scope(), 72, [
      { name: 'c1', ip: '10.72.0.1', labels: { role: 'client' } },
      { name: 'c2', ip: '10.72.0.2', labels: { role: 'other' } },
      { name: 's', ip: '10.72.0.10', labels: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }] },
      { name: 'p', ip: '10.72.0.20', namespace: 'prod', labels: { role: 'client' } },
      { name: 'q', ip: '10.72.0.21', namespace: 'dev', labels: { role: 'client' } },
    ]);
    store = new ResourceStore(new MemoryKV());
    await store.apply(profile('kns.prod', { labelsToApply: { env: 'prod' } }));
    await store.apply(profile('kns.dev', { labelsToApply: { env: 'dev' } }));
    for (const w of topo.workloads.values()) {
      await store.apply({
        apiVersion: API,
        kind: 'WorkloadEndpoint',
        metadata: { name: `node1-k8s-${w.name}-eth0`, namespace: w.namespace, labels: w.labels },
        spec: { node: 'node1', interfaceName: w.iface, ipNetworks: [`${w.ip}/32`], profiles: w.name === 's' ? ['prof-web'] : [], ...(w.ports.length ? { ports: w.ports } : {}) },
      });
    }
    const s = topo.workloads.get('s')!;
    for (const port of [8080, 9090]) await startEchoServer(scope(), s.netns, { proto: 'tcp', port });
    await startEchoServer(scope(), s.netns, { proto: 'udp', port: 5353 });
    for (const w of ['c1', 'c2', 'p']) await startEchoServer(scope(), topo.workloads.get(w)!.netns, { proto: 'tcp', port: 8080 });
    felix = startFelix({ store, nodeName: 'node1', netns: topo.host, ipv6: false });
    await felix.ready;
  });

  async function probe([from, kind, to, port, want]: Probe): Promise<boolean> {
    const src = topo.workloads.get(from)!.netns;
    const ip = topo.workloads.get(to)!.ip;
    const timeoutMs = want ? 3000 : 700;
    if (kind === 'tcp') return tcpConnect(src, ip, port, timeoutMs);
    if (kind === 'udp') return echoRoundTrip(src, 'udp', ip, port, timeoutMs);
    return ping(src, ip, { timeoutMs });
  }

  CASES.forEach((c, i) => {
    it(`${i + 1}. ${c.name}`, async () => {
      for (const d of applied) {
        if (!c.docs.some((x) => x.kind === d.kind && x.metadata.name === d.metadata.name && x.metadata.namespace === d.metadata.namespace)) {
          await store.delete({ kind: d.kind as 'NetworkPolicy', name: d.metadata.name, ...(d.metadata.namespace ? { namespace: d.metadata.namespace } : {}) });
        }
      }
      for (const d of c.docs) await store.apply(d);
      applied = c.docs;
      await sync();
      const got = await Promise.all(c.probes.map((p) => probe(p)));
      const report = c.probes.map((p, j) => `${p[0]} -${p[1]}-> ${p[2]}${p[3] ? `:${p[3]}` : ''}: want ${p[4] ? 'allowed' : 'denied'}, got ${got[j] ? 'allowed' : 'denied'}`);
      expect(report).to.deep.equal(c.probes.map((p) => `${p[0]} -${p[1]}-> ${p[2]}${p[3] ? `:${p[3]}` : ''}: want ${p[4] ? 'allowed' : 'denied'}, got ${p[4] ? 'allowed' : 'denied'}`));
    });
  });

  it('the matrix has at least 30 cases', () => {
    expect(CASES.length).to.be.at.least(30);
  });
});
