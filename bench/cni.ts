/**
 * CNI ADD latency on a real (throwaway) etcd, as a container runtime sees it.
 *
 *   npm run build && node dist/bench/cni.js [--cycles 200] [--inprocess-cycles 50] [--json FILE]
 *
 * Each cycle is one ADD then one DEL of a new container id in one container namespace, with
 * a test namespace standing for the host. Measured per ADD (and DEL):
 *   daemon/exec     bin/tortie-cni.js spawned inside the host namespace, forwarding to a
 *                   `POST /cni` server hosted by this process (what the node daemon hosts):
 *                   spawn to exit, the whole cost a runtime pays;
 *   daemon/server   the same calls, timed inside the server: the library's own work
 *                   (IPAM, two kernel scripts, the endpoint write);
 *   daemon/c-exec   bin/tortie-cni (the C client, native/cni-client.c) in place of the Node
 *                   client, same server: what a runtime pays with the C plugin installed;
 *   daemon/c-server the C client's calls timed inside the server;
 *   inprocess/exec  bin/tortie-cni.js with no daemon: it opens etcd itself on every call;
 *   node -e 0       a bare Node start on this machine, for scale.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { serveControl } from '../src/common/control-socket.js';
import { openKV } from '../src/datastore/open.js';
import { ResourceStore } from '../src/datastore/resources/store.js';
import { Ipam } from '../src/ipam/ipam.js';
import { ResourceConfigSource } from '../src/ipam/resource-source.js';
import { cniControlRoutes, handleCni, type CniCall } from '../src/cni/index.js';
import { NetnsScope, netnsPath, setSysctls } from '../src/kernel/index.js';
import { startEtcd } from '../test/helpers/etcd.js';

const PLUGIN = fileURLToPath(new URL('../../bin/tortie-cni.js', import.meta.url));
const C_PLUGIN = fileURLToPath(new URL('../../bin/tortie-cni', import.meta.url));

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(s[s.length - 1] ?? NaN), mean: round(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

function exec(file: string, args: string[], env: Record<string, string>, input: string): Promise<{ ms: number; code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${stdout} ${stderr}`));
      resolve({ ms, code: code ?? -1, stdout });
    });
    child.stdin.end(input);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '200' },
      'inprocess-cycles': { type: 'string', default: '50' },
      json: { type: 'string' },
    },
  });
  const cycles = Number(values.cycles);
  const inprocessCycles = Number(values['inprocess-cycles']);
  const scope = new NetnsScope();
  const etcd = await startEtcd();
  const kv = await openKV(etcd.url);
  const tmp = mkdtempSync(join(tmpdir(), 'tortie-bench-cni-'));
  try {
    const store = new ResourceStore(kv);
    await store.apply({ apiVersion: 'tortie.dev/v1', kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.236.0.0/16', blockSize: 26 } });
    const host = await scope.netns('host');
    await setSysctls(host, { 'net.ipv4.ip_forward': 1 });
    const container = await scope.netns('ctr');
    const socket = join(tmp, 'node.sock');
    const deps = { ipam: new Ipam(kv, new ResourceConfigSource(store)), store, nodeName: 'bench-node', hostNetns: host };
    const serverTimes: { ADD: number[]; DEL: number[] } = { ADD: [], DEL: [] };
    const routes = cniControlRoutes(deps);
    const server = await serveControl(socket, {
      'POST /cni': async (body, query) => {
        const t0 = performance.now();
        const out = await routes['POST /cni']!(body, query);
        const cmd = (body as CniCall).env.CNI_COMMAND as 'ADD' | 'DEL';
        serverTimes[cmd]?.push(performance.now() - t0);
        return out;
      },
    });
    const baseEnv = (command: string, id: string) => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: netnsPath(container),
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
    });

    const results: Record<string, { add: Stats; del: Stats }> = {};

    // Warm-up: one cycle through the library so that the first measured ADD does not pay
    // the first block claim.
    const warm = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'tortie' });
    for (const cmd of ['ADD', 'DEL']) {
      const out = await handleCni(baseEnv(cmd, 'warmup'), warm, deps);
      if (out.exitCode !== 0) throw new Error(`warm-up ${cmd} failed: ${out.stdout}`);
    }

    // Daemon mode: the executable forwards to our server.
    {
      const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'tortie', nodeSocket: socket });
      serverTimes.ADD.length = 0;
      serverTimes.DEL.length = 0;
      const add: number[] = [];
      const del: number[] = [];
      for (let i = 0; i < cycles; i++) {
        const id = `d${i}`;
        add.push((await exec('nsenter', [`--net=/run/netns/${host}`, process.execPath, PLUGIN], baseEnv('ADD', id), config)).ms);
        del.push((await exec('nsenter', [`--net=/run/netns/${host}`, process.execPath, PLUGIN], baseEnv('DEL', id), config)).ms);
      }
      results['daemon/exec'] = { add: stats(add), del: stats(del) };
      results['daemon/server'] = { add: stats(serverTimes.ADD), del: stats(serverTimes.DEL) };
    }

    // Daemon mode through the C client (bin/tortie-cni): no Node start per call.
    {
      const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'tortie', nodeSocket: socket });
      serverTimes.ADD.length = 0;
      serverTimes.DEL.length = 0;
      const add: number[] = [];
      const del: number[] = [];
      for (let i = 0; i < cycles; i++) {
        const id = `c${i}`;
        add.push((await exec('nsenter', [`--net=/run/netns/${host}`, C_PLUGIN], baseEnv('ADD', id), config)).ms);
        del.push((await exec('nsenter', [`--net=/run/netns/${host}`, C_PLUGIN], baseEnv('DEL', id), config)).ms);
      }
      results['daemon/c-exec'] = { add: stats(add), del: stats(del) };
      results['daemon/c-server'] = { add: stats(serverTimes.ADD), del: stats(serverTimes.DEL) };
    }

    // In-process mode: the executable opens etcd on every call.
    {
      const config = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'tortie', nodeSocket: '', datastore: etcd.url, nodename: 'bench-node', hostNetns: host });
      const add: number[] = [];
      const del: number[] = [];
      for (let i = 0; i < inprocessCycles; i++) {
        const id = `p${i}`;
        add.push((await exec(process.execPath, [PLUGIN], baseEnv('ADD', id), config)).ms);
        del.push((await exec(process.execPath, [PLUGIN], baseEnv('DEL', id), config)).ms);
      }
      results['inprocess/exec'] = { add: stats(add), del: stats(del) };
    }

    // A bare Node start, for scale.
    {
      const t: number[] = [];
      for (let i = 0; i < 30; i++) t.push((await exec(process.execPath, ['-e', '0'], { PATH: process.env.PATH ?? '' }, '')).ms);
      results['node -e 0'] = { add: stats(t), del: stats(t) };
    }

    await new Promise((r) => server.close(r));
    const line = (name: string, s: Stats) => `${name.padEnd(20)} ${String(s.n).padStart(5)} ${String(s.p50).padStart(8)} ${String(s.p90).padStart(8)} ${String(s.p99).padStart(8)} ${String(s.max).padStart(8)}`;
    process.stdout.write(`CNI latency in ms (etcd ${etcd.url}; target: daemon ADD p50 <= 50, p99 <= 150)\n`);
    process.stdout.write(`${'mode'.padEnd(20)} ${'n'.padStart(5)} ${'p50'.padStart(8)} ${'p90'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}\n`);
    for (const [mode, r] of Object.entries(results)) {
      process.stdout.write(`${line(`${mode} ${mode === 'node -e 0' ? '' : 'ADD'}`.trim(), r.add)}\n`);
      if (mode !== 'node -e 0') process.stdout.write(`${line(`${mode} DEL`, r.del)}\n`);
    }
    if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await kv.close();
    await etcd.stop();
    await scope.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
