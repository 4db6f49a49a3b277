/**
 * One trial: fresh namespaces (inj, tgt, mon), one target started in tgt, the probes
 * connected to it, and one or more scenarios on that same process:
 *   announce  N /32s: first UPDATE written by the injector -> all N present at the monitor
 *   withdraw  (after announce) all N withdrawn: first withdrawal written -> all N gone
 *   fib       (fresh target with kernel install on) N announced: first UPDATE written ->
 *             all N in the target namespace's main table
 * For each: seconds, the target's peak RSS (VmHWM, at the end of the scenario) and the CPU
 * seconds it spent between the order and the end. Everything is torn down afterwards,
 * also on failure (NetnsScope), and a failure is a result, not an exception.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsScope } from '../../src/kernel/index.js';
import { nowMs } from '../lib/clock.js';
import { countRoutes, mainTablePrefixes } from '../lib/fib.js';
import { ProbeFailed, startInjector, startMonitor, waitUntil, type Probe } from '../lib/probes.js';
import { cpuSeconds, sumOf, treeCost } from '../lib/procstat.js';
import { ADDR, ASN, PREFIX_BASE, targetTopology } from '../lib/topology.js';
import type { RunningTarget, Target } from './targets/index.js';

export type Scenario = 'announce' | 'withdraw' | 'fib';

export interface Measurement {
  target: string;
  n: number;
  scenario: Scenario;
  run: number;
  ok: boolean;
  /** 1-minute load average when the trial started. */
  loadavg1?: number;
  error?: string;
  seconds?: number;
  peakRssBytes?: number | null;
  cpuSeconds?: number | null;
  /** Seconds from the first UPDATE sent to the first route at the monitor. */
  firstRouteSeconds?: number;
  /** Seconds the injector took to write everything (the target's reading pace). */
  injectorWriteSeconds?: number;
  /** fib: seconds until the monitor had all N as well. */
  monitorSeconds?: number;
  /** fib: routes counted by `ip route show` afterwards (baseline subtracted). */
  fibRoutesCounted?: number;
}

export interface TrialOptions {
  target: Target;
  n: number;
  run: number;
  /** ['announce'], ['announce', 'withdraw'] or ['fib']. */
  scenarios: Scenario[];
  repoRoot: string;
  log: (line: string) => void;
  /** Keep the trial's folder (configs, logs) instead of deleting it. */
  keepDir?: boolean;
  /** Pause between both sessions Established and the first UPDATE, ms (default 2000). */
  settleMs?: number;
}

function timeoutFor(n: number): number {
  return 120_000 + n * 2; // 1M: 34 min cap; stalls are caught much earlier
}

const STALL_MS = 30_000;

export async function runTrial(o: TrialOptions): Promise<Measurement[]> {
  const scope = new NetnsScope();
  const dir = mkdtempSync(join(tmpdir(), `tortie-bench-${o.target.name}-`));
  const fib = o.scenarios.includes('fib');
  const results: Measurement[] = [];
  // The machine's load when the trial began: on a shared machine, the context of a number.
  const base = { target: o.target.name, n: o.n, run: o.run, loadavg1: Number(loadavg()[0]!.toFixed(2)) };
  let running: RunningTarget | undefined;
  let failed = false;
  try {
    const topo = await targetTopology(scope);
    running = await o.target.start({ scope, netns: topo.tgt, dir, fib, repoRoot: o.repoRoot });
    const tgt = running;
    const monitor = await startMonitor(scope, topo.mon, {
      endpoint: { mode: 'connect', address: ADDR.targetMonSide, port: 179, localAddress: ADDR.monitor },
      bgp: { localAsn: ASN.monitor, peerAsn: ASN.target, routerId: ADDR.monitor },
      n: o.n,
      base: PREFIX_BASE,
    });
    const injector = await startInjector(scope, topo.inj, {
      endpoint: { mode: 'connect', address: ADDR.targetInjSide, port: 179, localAddress: ADDR.injector },
      bgp: { localAsn: ASN.injector, peerAsn: ASN.target, routerId: ADDR.injector },
      n: o.n,
      base: PREFIX_BASE,
      nextHop: ADDR.injector,
    });
    const watch = [injector, monitor];
    const targetDied = () => {
      const why = tgt.exited();
      return why ? `${why}: ${tgt.logTail(5).replace(/\n/g, ' | ')}` : null;
    };
    await waitUntil('both probe sessions Established', () => injector.last('ready') && monitor.last('established'), {
      timeoutMs: 60_000,
      watch,
      check: targetDied,
    });
    await tgt.waitEstablished(30_000);
    // Let start-up timers run out (FRR coalesces a new update group's first second, for
    // one) so that every target is measured in its steady state, routes arriving on
    // sessions that have been up a while, as in production.
    await new Promise((r) => setTimeout(r, o.settleMs ?? 2000));
    const netPid = tgt.pids()[tgt.pids().length - 1]!;
    const fibBaseline = fib ? mainTablePrefixes(netPid) ?? 0 : 0;
    const fibLineBaseline = fib ? await countRoutes(topo.tgt) : 0;

    for (const scenario of o.scenarios) {
      const m = await scenarioOnce(scenario, o, tgt, injector, monitor, netPid, fibBaseline, fibLineBaseline, targetDied, topo.tgt);
      results.push({ ...base, scenario, ok: true, ...m });
      o.log(`${o.target.name} ${scenario} ${o.n} run ${o.run}: ${m.seconds.toFixed(3)} s, ${fmtMiB(m.peakRssBytes)} MiB, ${m.cpuSeconds?.toFixed(2) ?? '?'} CPU s`);
    }
  } catch (err) {
    failed = true;
    const msg = err instanceof Error ? err.message : String(err);
    const why = msg;
    for (const scenario of o.scenarios) {
      if (!results.some((r) => r.scenario === scenario)) results.push({ ...base, scenario, ok: false, error: oneLine(why) });
    }
    o.log(`${o.target.name} ${o.scenarios.join('+')} ${o.n} run ${o.run}: FAILED: ${oneLine(why)}`);
    if (running) o.log(`  last log lines of ${o.target.name} (${dir}):\n${indent(running.logTail(8))}`);
  } finally {
    try {
      await running?.stop();
    } catch {
      // cleanup below kills whatever is left
    }
    await scope.cleanup().catch((err: unknown) => o.log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
    if (!o.keepDir && !failed) rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

interface ScenarioNumbers {
  seconds: number;
  peakRssBytes: number | null;
  cpuSeconds: number | null;
  firstRouteSeconds?: number;
  injectorWriteSeconds?: number;
  monitorSeconds?: number;
  fibRoutesCounted?: number;
}

async function scenarioOnce(
  scenario: Scenario,
  o: TrialOptions,
  tgt: RunningTarget,
  injector: Probe,
  monitor: Probe,
  netPid: number,
  fibBaseline: number,
  fibLineBaseline: number,
  targetDied: () => string | null,
  tgtNetns: string,
): Promise<ScenarioNumbers> {
  const phase = scenario === 'withdraw' ? 'withdraw' : 'announce';
  const pids = tgt.pids();
  const cost0 = treeCost(pids);
  const mark = monitor.events.length;
  injector.order();
  const timeoutMs = timeoutFor(o.n);
  const watch = [injector, monitor];
  const label = `${o.target.name} ${scenario} ${o.n}`;
  const counts = () => {
    const p = monitor.last('progress');
    return p ? (phase === 'announce' ? (p.present as number) : o.n - (p.present as number)) : 0;
  };
  // Progress: the monitor's counts, the FIB count, or the target still burning CPU.
  const fibPoll = scenario === 'fib' ? new FibPoller(netPid, fibBaseline, o.n) : null;
  const progress = () => `${counts()}/${fibPoll?.count ?? 0}/${(sumOf(pids, cpuSeconds) ?? 0).toFixed(1)}`;
  let lastLine = -3000;
  const tick = (ms: number) => {
    // A line at 2 s, then every 5 s: enough to see a slow target move, not a flood.
    if (ms < 2000 || ms - lastLine < 5000) return;
    lastLine = ms;
    const what = fibPoll ? `${fibPoll.count.toLocaleString('en')} in FIB, ` : '';
    o.log(`  ${label}: ${what}${counts().toLocaleString('en')}/${o.n.toLocaleString('en')} ${phase === 'announce' ? 'present' : 'withdrawn'} at the monitor, ${(ms / 1000).toFixed(0)} s`);
  };
  const doneEvent = phase === 'announce' ? 'all-present' : 'all-absent';
  const what = fibPoll ? `${o.n} routes in the target's FIB` : `the monitor to see all ${o.n} ${phase === 'announce' ? 'announced' : 'withdrawn'}`;
  const { sent, doneT } = await waitUntil(`${label}: ${what}`, () => {
    const done = fibPoll ? fibPoll.poll() : monitor.find(doneEvent, mark)?.t ?? null;
    const sentEvent = injector.find('sent', 0, (e) => e.phase === phase);
    return done !== null && sentEvent !== undefined ? { sent: sentEvent, doneT: done } : null;
  }, { timeoutMs, watch, check: targetDied, progress, stallMs: STALL_MS, tick, intervalMs: 10 });
  const seenT = doneT;
  let monitorSeconds: number | undefined;
  if (fibPoll) {
    const mon = monitor.find('all-present', mark);
    if (mon) monitorSeconds = (mon.t - (sent.tFirst as number)) / 1000;
  }
  const cost1 = treeCost(pids);
  const first = monitor.find('first-route', mark);
  const out: ScenarioNumbers = {
    seconds: (seenT - (sent.tFirst as number)) / 1000,
    peakRssBytes: cost1?.peakRssBytes ?? null,
    cpuSeconds: cost0 === null || cost1 === null ? null : cost1.cpuSeconds - cost0.cpuSeconds,
    injectorWriteSeconds: ((sent.tLast as number) - (sent.tFirst as number)) / 1000,
  };
  if (first && phase === 'announce') out.firstRouteSeconds = (first.t - (sent.tFirst as number)) / 1000;
  if (monitorSeconds !== undefined) out.monitorSeconds = monitorSeconds;
  if (scenario === 'fib') {
    out.fibRoutesCounted = (await countRoutes(tgtNetns)) - fibLineBaseline;
    if (out.fibRoutesCounted < o.n) throw new ProbeFailed(`${label}: fib_triestat said ${fibPoll?.count} but ip route shows ${out.fibRoutesCounted}`);
  }
  return out;
}

/**
 * Polls the FIB count without stealing the target's CPU: a read of fib_triestat walks the
 * whole trie (~70 ms at 1M routes on this machine kind), so reads are spaced by ten times
 * their cost while far from N, and closer as the count approaches N (predicted from the
 * install rate), but never closer than two read times or 20 ms. The completion time is the
 * end of the first read that sees N: an upper bound, within about one read of the truth.
 */
class FibPoller {
  count = 0;
  private doneT: number | null = null;
  private next = 0;
  private lastCount = 0;
  private lastT = 0;

  constructor(
    private readonly pid: number,
    private readonly baseline: number,
    private readonly n: number,
  ) {}

  poll(): number | null {
    if (this.doneT !== null) return this.doneT;
    const t0 = nowMs();
    if (t0 < this.next) return null;
    const c = mainTablePrefixes(this.pid);
    const t1 = nowMs();
    if (c === null) return null;
    this.count = c - this.baseline;
    if (this.count >= this.n) {
      this.doneT = t1;
      return t1;
    }
    const readMs = t1 - t0;
    let wait = Math.max(20, readMs * 10);
    const rate = this.lastT > 0 ? (this.count - this.lastCount) / (t1 - this.lastT) : 0;
    if (rate > 0) wait = Math.min(wait, Math.max(20, readMs * 2, (this.n - this.count) / rate / 2));
    this.lastCount = this.count;
    this.lastT = t1;
    this.next = t1 + wait;
    return null;
  }
}

function fmtMiB(b: number | null): string {
  return b === null ? '?' : (b / 1048576).toFixed(0);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' | ').slice(0, 400);
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
