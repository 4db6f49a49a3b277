/**
 * KernelFib install speed: N unique /32s into a fresh network namespace, against the raw
 * floor of one `ip -batch` of the same `route add` lines (same run, same namespace, another
 * protocol number so the two never mix).
 *
 *   node --import ./test/register.mjs bench/fib.ts [--n 100000,1000000] [--no-raw]
 *
 * Prints per N: raw ip -batch seconds and routes/s; KernelFib flush seconds (replace() of
 * all N + flush() until the kernel has acknowledged the last one), routes/s, and a check
 * that all N are visible in the kernel; read-back seconds; a no-op reconcile; removal.
 * Everything happens in namespaces this process creates, deleted at the end (and on ^C).
 */
import { spawn } from 'node:child_process';
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelFib, type NextHopsInput } from '../src/bgp/fib/index.js';
import { NetnsScope, run } from '../src/kernel/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const sizes = (arg('--n') ?? '100000,1000000').split(',').map(Number);
const withRaw = !process.argv.includes('--no-raw');

function prefix(i: number): string {
  const a = (10 << 24) + (64 << 16) + i; // 10.64.0.0 upwards
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
}

/** Lines of `ip -o route show` for a protocol, counted while streaming. */
function countRoutes(netns: string, proto: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['-n', netns, '-o', '-4', 'route', 'show', 'proto', String(proto)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    p.stdout.on('data', (b: Buffer) => {
      for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
    });
    p.on('error', reject);
    p.on('close', () => resolve(n));
  });
}

function secs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function rate(n: number, s: number): string {
  return `${Math.round(n / s).toLocaleString('en-US')} routes/s`;
}

async function main(): Promise<void> {
  const scope = new NetnsScope();
  const dir = mkdtempSync(join(tmpdir(), 'tortie-fib-bench-'));
  try {
    const ns = await scope.netns('fib');
    const peer = await scope.netns('peer');
    await scope.veth({ netns: ns, name: 'up0', addresses: ['10.99.0.1/24'] }, { netns: peer, name: 'down0', addresses: ['10.99.0.2/24'] });
    console.log(`KernelFib bench: node ${process.version}, ${(await run('ip', ['-V'])).trim()}, kernel ${(await run('uname', ['-r'])).trim()}`);
    for (const n of sizes) {
      console.log(`\n== N = ${n.toLocaleString('en-US')} /32s via one on-link next hop`);
      if (withRaw) {
        const file = join(dir, `raw-${n}.txt`);
        const lines: string[] = [];
        for (let i = 0; i < n; i++) lines.push(`route add ${prefix(i)} via 10.99.0.2 proto 201 metric 32`);
        writeFileSync(file, lines.join('\n') + '\n');
        lines.length = 0;
        const t0 = process.hrtime.bigint();
        await run('ip', ['-n', ns, '-batch', file], { timeoutMs: 600_000 });
        const s = secs(t0);
        const seen = await countRoutes(ns, 201);
        console.log(`raw ip -batch (one process, route add):  ${s.toFixed(2)} s  ${rate(n, s)}  visible ${seen}`);
        await run('ip', ['-n', ns, 'route', 'flush', 'proto', '201'], { timeoutMs: 600_000 });
      }
      const fib = new KernelFib({ netns: ns });
      const via: NextHopsInput = ['10.99.0.2'];
      const rss0 = process.memoryUsage().rss;
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fib.replace(prefix(i), via);
      const queued = secs(t0);
      const report = await fib.flushWithReport();
      const s = secs(t0);
      const t1 = process.hrtime.bigint();
      const seen = await countRoutes(ns, 200);
      const countS = secs(t1);
      console.log(
        `KernelFib replace()+flush():              ${s.toFixed(2)} s  ${rate(n, s)}  (queueing ${queued.toFixed(2)} s)  added ${report.added} failed ${report.failed}  visible ${seen} (counted in ${countS.toFixed(2)} s)  rss +${Math.round((process.memoryUsage().rss - rss0) / 2 ** 20)} MiB`,
      );
      if (seen !== n) throw new Error(`only ${seen} of ${n} routes are in the kernel`);

      t0 = process.hrtime.bigint();
      const back = await fib.readBack();
      console.log(`readBack():                               ${secs(t0).toFixed(2)} s  ${back.size} routes`);

      const desired = new Map<string, NextHopsInput>();
      for (let i = 0; i < n; i++) desired.set(prefix(i), via);
      t0 = process.hrtime.bigint();
      const r = await fib.reconcile(desired);
      console.log(`reconcile() with nothing to do:           ${secs(t0).toFixed(2)} s  unchanged ${r.unchanged} written ${r.added + r.replaced + r.removed}`);

      t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fib.remove(prefix(i));
      const rem = await fib.flushWithReport();
      const rs = secs(t0);
      console.log(`remove()+flush() of all:                  ${rs.toFixed(2)} s  ${rate(n, rs)}  removed ${rem.removed}  left ${await countRoutes(ns, 200)}`);
      await fib.stop();
    }
    console.log(`\npeak rss of this process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await scope.cleanup();
  }
}

await main();
