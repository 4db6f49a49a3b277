/**
 * The BGP benchmark of issue #4:
 *
 *   node dist/bench/run.js bgp [--n 100000,1000000] [--targets bird,frr,gobgp,tortie]
 *        [--runs 3] [--scenarios announce,withdraw,fib] [--limit gobgp=100000] [--no-floor]
 *        [--json bench/results/latest.json] [--keep-logs]
 *
 * For each N and each run, in this order (so every target sees the same machine state
 * within a run): the probes' floor, then each target in turn, each in fresh namespaces.
 * GoBGP is slow (about 4.5 minutes per 1M run), so by default it is only run up to N = 100k:
 * `--limit gobgp=none` runs it at every N, `--limit tortie=100000` caps another target.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { runFloor } from '../lib/floor.js';
import { markdownTable, SCENARIO_TEXT, summarize, textTable, type Row } from './report.js';
import { TARGETS } from './targets/index.js';
import { runTrial, type Measurement, type Scenario } from './trial.js';

export interface BgpBenchOptions {
  ns: number[];
  targets: string[];
  runs: number;
  scenarios: Scenario[];
  limits: Record<string, number>;
  floor: boolean;
  json: string;
  keepLogs: boolean;
  settleMs: number;
  report?: string;
}

const USAGE = `usage: node dist/bench/run.js bgp [options]
  --n LIST          prefix counts (default 100000,1000000)
  --targets LIST    of bird,frr,gobgp,tortie (default all four)
  --runs K          runs per target and N; medians are reported (default 3)
  --scenarios LIST  of announce,withdraw,fib (default all three)
  --limit T=N,...   largest N for a target (default gobgp=100000; T=none lifts it)
  --no-floor        skip the probes' own injector->monitor floor
  --json FILE       results file (default bench/results/latest.json in the checkout)
  --settle S        seconds between both sessions up and the first UPDATE (default 2)
  --report FILE     print the tables of an earlier results file and exit
  --keep-logs       keep every trial's config and logs in /tmp (failed trials are always kept)`;

class UsageError extends Error {}

function list(v: string | undefined, flag: string): string[] {
  if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function parseCount(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.replace(/_/g, ''));
  if (!m) throw new UsageError(`${flag}: "${s}" is not a count (e.g. 100000, 100k, 1M)`);
  const n = Number(m[1]) * (m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1);
  if (!Number.isInteger(n) || n < 1 || n > 4_000_000) throw new UsageError(`${flag}: ${s} must be a whole number from 1 to 4M`);
  return n;
}

export function repoRoot(): string {
  let dir = dirname(new URL(import.meta.url).pathname);
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'tortie') return dir;
    } catch {
      // keep climbing
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

export function parseBgpArgs(argv: string[]): BgpBenchOptions {
  const root = repoRoot();
  const o: BgpBenchOptions = {
    ns: [100_000, 1_000_000],
    targets: ['bird', 'frr', 'gobgp', 'tortie'],
    runs: 3,
    scenarios: ['announce', 'withdraw', 'fib'],
    limits: { gobgp: 100_000 },
    floor: true,
    json: join(root, 'bench', 'results', 'latest.json'),
    keepLogs: false,
    settleMs: 2000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') && a.startsWith('--') && !a.startsWith('--limit=') ? (a.split(/=(.*)/s) as [string, string]) : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--n':
        o.ns = list(value(), '--n').map((s) => parseCount(s, '--n'));
        break;
      case '--targets':
        o.targets = list(value(), '--targets');
        for (const t of o.targets) if (!(t in TARGETS)) throw new UsageError(`--targets: unknown target "${t}" (known: ${Object.keys(TARGETS).join(', ')})`);
        break;
      case '--runs': {
        const v = value();
        o.runs = Number(v);
        if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 50) throw new UsageError(`--runs: "${v}" is not a whole number from 1 to 50`);
        break;
      }
      case '--scenarios':
        o.scenarios = list(value(), '--scenarios') as Scenario[];
        for (const s of o.scenarios) if (!['announce', 'withdraw', 'fib'].includes(s)) throw new UsageError(`--scenarios: unknown scenario "${s}" (announce, withdraw, fib)`);
        break;
      case '--limit':
      case '--limit=': {
        const v = a.startsWith('--limit=') ? a.slice(8) : value();
        for (const item of list(v, '--limit')) {
          const [t, n] = item.split('=');
          if (!t || !(t in TARGETS) || n === undefined) throw new UsageError(`--limit: "${item}" is not TARGET=N or TARGET=none`);
          if (n === 'none') delete o.limits[t];
          else o.limits[t] = parseCount(n, '--limit');
        }
        break;
      }
      case '--no-floor':
        o.floor = false;
        break;
      case '--json':
        o.json = resolve(value() ?? '');
        break;
      case '--settle': {
        const v = value();
        o.settleMs = Number(v) * 1000;
        if (!Number.isFinite(o.settleMs) || o.settleMs < 0 || o.settleMs > 600_000) throw new UsageError(`--settle: "${v}" is not a number of seconds`);
        break;
      }
      case '--report':
        o.report = resolve(value() ?? '');
        break;
      case '--keep-logs':
        o.keepLogs = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  return o;
}

function log(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${t}] ${line}\n`);
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine(): Record<string, string | number> {
  const os = /PRETTY_NAME="([^"]+)"/.exec(sh('cat', ['/etc/os-release']))?.[1] ?? '?';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    kernel: sh('uname', ['-r']),
    node: process.version,
  };
}

export async function runBgpBench(argv: string[]): Promise<number> {
  let o: BgpBenchOptions;
  try {
    o = parseBgpArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench bgp: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (o.report !== undefined) return printReport(o.report);
  const root = repoRoot();
  const labels: Record<string, string> = { floor: 'probes floor (injector -> monitor)' };
  for (const t of o.targets) labels[t] = await TARGETS[t]!.label();
  const m = machine();
  log(`BGP benchmark: N ${o.ns.join(', ')}; targets ${o.targets.map((t) => labels[t]).join(', ')}; ${o.runs} run(s); scenarios ${o.scenarios.join(', ')}`);
  log(`machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}, Node ${m.node}`);
  const limited = Object.entries(o.limits).filter(([t]) => o.targets.includes(t));
  if (limited.length > 0) log(`limits: ${limited.map(([t, n]) => `${t} up to N=${n.toLocaleString('en')}`).join(', ')} (--limit T=none to lift)`);

  const all: Measurement[] = [];
  const notes: Record<string, string> = {};
  const started = Date.now();
  const bgpScenarios = o.scenarios.filter((s) => s !== 'fib');
  if (o.scenarios.includes('withdraw') && !bgpScenarios.includes('announce')) bgpScenarios.unshift('announce'); // withdraw needs the routes first
  const reportScenario = (s: Scenario) => o.scenarios.includes(s);

  for (const n of o.ns) {
    for (let run = 1; run <= o.runs; run++) {
      log(`--- N = ${n.toLocaleString('en')}, run ${run} of ${o.runs} ---`);
      if (o.floor && bgpScenarios.length > 0) {
        const phases = bgpScenarios as ('announce' | 'withdraw')[];
        try {
          const res = await runFloor({ n, phases, log: (l) => log(l), timeoutMs: 120_000 });
          for (const p of res) {
            all.push({
              target: 'floor', n, scenario: p.phase, run, ok: true, seconds: p.seconds,
              peakRssBytes: p.injectorPeakRss === null || p.monitorPeakRss === null ? null : p.injectorPeakRss + p.monitorPeakRss,
              cpuSeconds: p.injectorCpuS === null || p.monitorCpuS === null ? null : p.injectorCpuS + p.monitorCpuS,
              injectorWriteSeconds: ((p.sent.tLast as number) - (p.sent.tFirst as number)) / 1000,
            });
          }
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          log(`floor ${n} run ${run}: FAILED: ${msg}`);
          for (const s of phases) all.push({ target: 'floor', n, scenario: s, run, ok: false, error: msg });
        }
      }
      for (const name of o.targets) {
        const target = TARGETS[name]!;
        const limit = o.limits[name];
        if (limit !== undefined && n > limit) {
          for (const s of o.scenarios) notes[`${n}|${s}|${name}`] = `skipped above N=${limit.toLocaleString('en')} (--limit ${name}=none to run it)`;
          continue;
        }
        if (bgpScenarios.length > 0) {
          const ms = await runTrial({ target, n, run, scenarios: bgpScenarios, repoRoot: root, log, keepDir: o.keepLogs, settleMs: o.settleMs });
          all.push(...ms.filter((x) => reportScenario(x.scenario)));
        }
        if (o.scenarios.includes('fib')) {
          if (target.fibUnsupported !== null) {
            notes[`${n}|fib|${name}`] = `not run: ${target.fibUnsupported}`;
          } else {
            all.push(...(await runTrial({ target, n, run, scenarios: ['fib'], repoRoot: root, log, keepDir: o.keepLogs, settleMs: o.settleMs })));
          }
        }
      }
    }
    const rows = summarize(all.filter((x) => x.n === n), labels, notes);
    for (const s of o.scenarios) {
      const block = rows.filter((r) => r.scenario === s);
      if (block.length === 0) continue;
      process.stdout.write(`\nN = ${n.toLocaleString('en')}, ${SCENARIO_TEXT[s]} (medians of ${o.runs})\n${textTable(block)}\n`);
    }
  }

  const order = (r: Row) => o.ns.indexOf(r.n) * 100 + ['announce', 'withdraw', 'fib'].indexOf(r.scenario) * 10 + ['floor', ...o.targets].indexOf(r.target);
  const rows = summarize(all, labels, notes).sort((a, b) => order(a) - order(b));
  const elapsed = (Date.now() - started) / 1000;
  const md = markdownTable(rows);
  process.stdout.write(`\nMarkdown (${m.cpus} cores, ${m.os}, Node ${m.node}; medians of ${o.runs}; ${Math.round(elapsed)} s in all):\n\n${md}\n`);
  const skipped = Object.entries(notes).map(([k, v]) => `${k.replace(/\|/g, ' ')}: ${v}`);
  if (skipped.length > 0) process.stdout.write(`\nNot measured:\n${[...new Set(skipped)].map((s) => `- ${s}`).join('\n')}\n`);

  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(
    o.json,
    `${JSON.stringify({ date: new Date().toISOString(), command: `node dist/bench/run.js bgp ${argv.join(' ')}`.trim(), machine: m, options: o, labels, elapsedSeconds: elapsed, rows, notes, markdown: md }, null, 2)}\n`,
  );
  log(`results written to ${o.json}`);
  return rows.some((r) => r.failed > 0) ? 1 : 0;
}

/** Re-prints the tables of a results file written by an earlier run. */
function printReport(file: string): number {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    command: string;
    machine: Record<string, string | number>;
    labels: Record<string, string>;
    notes: Record<string, string>;
    rows: Row[];
    options: BgpBenchOptions;
  };
  const all = saved.rows.flatMap((r) => r.runs);
  const rows = summarize(all, saved.labels, saved.notes);
  const m = saved.machine;
  process.stdout.write(`${saved.command} (${saved.date})\n${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}, Node ${m.node}\n`);
  for (const n of saved.options.ns) {
    for (const s of saved.options.scenarios) {
      const block = rows.filter((r) => r.n === n && r.scenario === s);
      if (block.length > 0) process.stdout.write(`\nN = ${n.toLocaleString('en')}, ${SCENARIO_TEXT[s]} (medians of ${saved.options.runs})\n${textTable(block)}\n`);
    }
  }
  process.stdout.write(`\n${markdownTable(rows)}\n`);
  return 0;
}
