/**
 * felix benchmark: 1,000 workload endpoints and 500 policies of 5 rules on one host namespace.
 * Measures the start-of-day apply (startFelix until ready, and the apply alone), the rule
 * count (and how it grows: the pure calculation at other sizes), and the time from one
 * policy change in the datastore to the kernel (waitForRevision resolves after the restore).
 *
 * The host-side veths exist (peers in one spare namespace), so routes and sysctls are real.
 *
 * Run:  node --import ./test/register.mjs bench/felix.ts [endpoints] [policies] [--no-ipv6]
 */
import { MemoryKV } from '../src/datastore/memory.js';
import { ResourceStore } from '../src/datastore/resources/store.js';
import type { AnyResource } from '../src/datastore/resources/types.js';
import { CalcGraph } from '../src/felix/calc/graph.js';
import { startFelix } from '../src/felix/index.js';
import { execInNetns, ipBatch, NetnsScope } from '../src/kernel/index.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ENDPOINTS = Number(args[0] ?? 1000);
const POLICIES = Number(args[1] ?? 500);
const IPV6 = !process.argv.includes('--no-ipv6');
const API = 'tortie.dev/v1';
const GROUPS = 50;

const iface = (i: number) => `tortie${i.toString(16).padStart(9, '0')}`;
const ip = (i: number) => `10.${80 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function endpoint(i: number): AnyResource {
  return {
    apiVersion: API,
    kind: 'WorkloadEndpoint',
    metadata: { name: `node1-k8s-w${i}-eth0`, namespace: `ns${i % 10}`, labels: { app: `app-${i % GROUPS}`, role: `r${i % 20}` } },
    spec: { node: 'node1', interfaceName: iface(i), ipNetworks: [`${ip(i)}/32`], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
  } as AnyResource;
}

function policy(i: number, variant = 0): AnyResource {
  const egress = i % 5 === 4;
  const rules = [
    { action: 'Allow', protocol: 'TCP', source: { selector: `role == "r${i % 20}"` }, destination: { ports: [1000 + i + variant] } },
    { action: 'Allow', protocol: 'UDP', source: { nets: ['10.0.0.0/8', '192.168.0.0/16'] }, destination: { ports: ['5000:5100'] } },
    { action: 'Deny', protocol: 'TCP', source: { notSelector: `app == "app-${(i + 1) % GROUPS}"` }, destination: { ports: [22] } },
    { action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } },
    { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } },
  ];
  return {
    apiVersion: API,
    kind: 'NetworkPolicy',
    metadata: { name: `p${i}`, namespace: `ns${i % 10}` },
    spec: { order: i, selector: `app == "app-${i % GROUPS}"`, types: [egress ? 'Egress' : 'Ingress'], ...(egress ? { egress: rules } : { ingress: rules }) },
  } as AnyResource;
}

function rulesFor(endpoints: number, policies: number): number {
  const g = new CalcGraph({ nodeName: 'node1', ipv6: false });
  for (let i = 0; i < endpoints; i++) g.onUpdate(endpoint(i));
  for (let i = 0; i < policies; i++) g.onUpdate(policy(i));
  let n = 0;
  for (const t of g.desired().tables) for (const c of t.chains.values()) n += c.length;
  return n;
}

async function main(): Promise<void> {
  console.log(`felix bench: ${ENDPOINTS} endpoints, ${POLICIES} policies x 5 rules, IPv6 ${IPV6 ? 'on' : 'off'}`);
  console.log('rule growth (pure calculation, IPv4 filter+nat):');
  for (const [e, p] of [[ENDPOINTS / 2, POLICIES], [ENDPOINTS, POLICIES / 2], [ENDPOINTS, POLICIES], [ENDPOINTS * 2, POLICIES], [ENDPOINTS, POLICIES * 2]] as const) {
    console.log(`  ${String(e).padStart(5)} endpoints, ${String(p).padStart(4)} policies: ${rulesFor(e, p)} rules`);
  }

  const scope = new NetnsScope();
  try {
    const host = await scope.netns('host');
    const spare = await scope.netns('spare');
    const lines: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) lines.push(`link add ${iface(i)} type veth peer name p${i} netns ${spare}`, `link set ${iface(i)} up`);
    await ipBatch(lines, { netns: host, timeoutMs: 300_000 });

    const store = new ResourceStore(new MemoryKV());
    for (let i = 0; i < ENDPOINTS; i += 100) await store.applyAll(Array.from({ length: Math.min(100, ENDPOINTS - i) }, (_, k) => endpoint(i + k)), 'apply');
    for (let i = 0; i < POLICIES; i += 100) await store.applyAll(Array.from({ length: Math.min(100, POLICIES - i) }, (_, k) => policy(i + k)), 'apply');

    const t0 = performance.now();
    const felix = startFelix({ store, nodeName: 'node1', netns: host, ipv6: IPV6, refreshIntervalMs: 3_600_000 });
    await felix.ready;
    const startMs = performance.now() - t0;
    const st = felix.status();
    const save = await execInNetns(host, 'iptables-save');
    const kernelRules = save.split('\n').filter((l) => l.startsWith('-A ') && l.includes('tortie:')).length;
    const routes = (await execInNetns(host, 'ip', ['route', 'show', 'proto', '80'])).split('\n').filter(Boolean).length;
    console.log(`start of day: ${startMs.toFixed(0)} ms from startFelix to ready (the apply itself: ${st.lastApplyMs!.toFixed(0)} ms: ${JSON.stringify(st.lastTimings)})`);
    console.log(`  rules: ${st.counts.rules} (all tables and families; IPv4 in the kernel: ${kernelRules}), chains: ${st.counts.chains}, ipsets: ${st.counts.ipsets}, routes: ${routes}, pending: ${st.counts.pending}`);

    const times: number[] = [];
    for (let k = 1; k <= 20; k++) {
      const t = performance.now();
      const r = await store.apply(policy(k * 7, k));
      await felix.waitForRevision(Number(r.metadata.resourceVersion));
      times.push(performance.now() - t);
    }
    // check the last change is really in the kernel
    const after = await execInNetns(host, 'iptables-save', ['-t', 'filter']);
    if (!after.includes(`--dports ${1000 + 20 * 7 + 20}`)) throw new Error('the last policy change is not in the kernel');
    times.sort((a, b) => a - b);
    console.log(`one policy change to the kernel (20 changes): median ${times[10]!.toFixed(1)} ms, p90 ${times[18]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
    const steady = felix.status();
    console.log(`  last apply: ${steady.lastApplyMs!.toFixed(1)} ms: ${JSON.stringify(steady.lastTimings)}`);

    const t1 = performance.now();
    await felix.stop();
    const again = startFelix({ store, nodeName: 'node1', netns: host, ipv6: IPV6, refreshIntervalMs: 3_600_000 });
    await again.ready;
    console.log(`restart with the kernel already right: ${(performance.now() - t1).toFixed(0)} ms to ready (nothing written: read-back and compare)`);
    await again.stop();
    await store.kv.close();
  } finally {
    await scope.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
