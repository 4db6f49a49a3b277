/**
 * From CNI ADD returning to the workload's /32 in the other hosts' kernels (issue 7's target:
 * p50 <= 100 ms; Calico's BIRD scans the kernel every 2 s), and from DEL returning to the
 * route gone.
 *
 *   npm run build && node dist/bench/node.js [--n 50] [--json FILE]
 *
 * Three host namespaces on one segment, one etcd (over its unix socket), `tortie node run`
 * in each. Each cycle is one ADD on host 1 through the node socket (`POST /cni`, what the
 * plugin executable forwards), then one DEL, in one container namespace. `ip monitor route`
 * runs in hosts 2 and 3; a route counts as "in the kernel" when the kernel reports it there.
 * The time per cycle is the later of the two hosts (the route is everywhere).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { callControl } from '../src/common/control-socket.js';
import { openKV } from '../src/datastore/open.js';
import { ResourceStore } from '../src/datastore/resources/store.js';
import type { CniOutcome } from '../src/cni/index.js';
import { NetnsScope, netnsPath, type NetnsProcess } from '../src/kernel/index.js';
import type { NodeStatus } from '../src/node/status.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { makeHosts } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';

const TORTIE = fileURLToPath(new URL('../../bin/tortie.js', import.meta.url));
const API = 'tortie.dev/v1';

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(s[s.length - 1] ?? NaN) };
}

/** `ip -4 monitor route` in a namespace: when each prefix was last added / deleted. */
class RouteMonitor {
  readonly added = new Map<string, number>();
  readonly deleted = new Map<string, number>();
  private readonly child: ChildProcess;
  private buf = '';

  constructor(netns: string) {
    this.child = spawn('nsenter', [`--net=${netnsPath(netns)}`, 'ip', '-4', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      const now = performance.now();
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      for (const line of lines) {
        if (!/\bproto 200\b/.test(line)) continue;
        const m = /^(Deleted )?(\S+)/.exec(line);
        if (!m) continue;
        const prefix = m[2]!.includes('/') ? m[2]! : `${m[2]}/32`;
        (m[1] ? this.deleted : this.added).set(prefix, now);
      }
    });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '50' }, json: { type: 'string' } } });
  const n = Number(values.n);
  const scope = new NetnsScope();
  const etcd = await startEtcd({ unixSocket: true });
  const kv = await openKV(etcd.url);
  const dir = mkdtempSync(join(tmpdir(), 'tortie-bench-node-'));
  const monitors: RouteMonitor[] = [];
  const daemons: NetnsProcess[] = [];
  try {
    const store = new ResourceStore(kv);
    await store.apply({ apiVersion: API, kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.74.0.0/16', blockSize: 26 } });
    await store.apply({ apiVersion: API, kind: 'Profile', metadata: { name: 'bench' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } });
    const { hosts } = await makeHosts(scope, 3, { subnet: '10.73.0.0/24', forwarding: true, name: 'b' });
    const socket = (i: number) => join(dir, `node${i + 1}.sock`);
    for (let i = 0; i < 3; i++) {
      daemons.push(
        await scope.spawn(hosts[i]!.netns, process.execPath, [TORTIE, 'node', 'run', '--name', `bench${i + 1}`, '--datastore', etcd.unixUrl!, '--ip', hosts[i]!.cidr4, '--socket', socket(i)], {
          logFile: join(dir, `node${i + 1}.log`),
          env: { TORTIE_LOG_LEVEL: 'warn' },
        }),
      );
    }
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => {
        const s = await callControl<NodeStatus>(socket(i), 'GET', '/status');
        return s.peers.length === 2 && s.peers.every((p) => p.info === 'Established');
      }, { what: `bench${i + 1} to peer`, timeoutMs: 30_000, intervalMs: 100 });
    }
    monitors.push(new RouteMonitor(hosts[1]!.netns), new RouteMonitor(hosts[2]!.netns));
    const container = await scope.netns('ctr');
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'tortie' });
    const cni = async (command: 'ADD' | 'DEL', id: string) => {
      const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(container), CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
      const out = await callControl<CniOutcome>(socket(0), 'POST', '/cni', { env, stdin: config });
      if (out.exitCode !== 0) throw new Error(`${command} ${id}: ${out.stdout}`);
      return out;
    };
    const prefixOf = (out: CniOutcome) => `${(JSON.parse(out.stdout) as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]}/32`;
    const seenEverywhere = (map: 'added' | 'deleted', prefix: string, after: number) =>
      waitFor(() => {
        const times = monitors.map((m) => m[map].get(prefix));
        return times.every((t) => t !== undefined && t >= after) ? times.map((t) => t!) : null;
      }, { what: `${prefix} ${map} on hosts 2 and 3`, timeoutMs: 10_000, intervalMs: 1 });

    // Warm-up: the first ADD claims a block.
    const warm = await cni('ADD', 'warmup');
    await seenEverywhere('added', prefixOf(warm), 0);
    await cni('DEL', 'warmup');

    const add: number[] = [];
    const addWhole: number[] = [];
    const del: number[] = [];
    const perHost: number[][] = [[], []];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const out = await cni('ADD', `c${i}`);
      const tAdd = performance.now();
      const prefix = prefixOf(out);
      const seen = await seenEverywhere('added', prefix, t0);
      add.push(Math.max(...seen) - tAdd);
      addWhole.push(Math.max(...seen) - t0);
      seen.forEach((t, h) => perHost[h]!.push(t - tAdd));
      const tDelCalled = performance.now();
      await cni('DEL', `c${i}`);
      const tDel = performance.now();
      const gone = await seenEverywhere('deleted', prefix, tDelCalled);
      del.push(Math.max(...gone) - tDel);
    }
    const result = {
      n,
      'ADD returned -> /32 in both other kernels (ms)': stats(add),
      'ADD called -> /32 in both other kernels (ms)': stats(addWhole),
      'ADD returned -> /32 in host 2 (ms)': stats(perHost[0]!),
      'ADD returned -> /32 in host 3 (ms)': stats(perHost[1]!),
      'DEL returned -> /32 gone from both (ms)': stats(del),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  } finally {
    for (const m of monitors) m.stop();
    for (const d of daemons) await d.stop(5000).catch(() => undefined);
    await scope.cleanup().catch(() => undefined);
    await kv.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
