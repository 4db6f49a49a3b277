/**
 * The probes' floor: the injector's session goes straight into the monitor (which accepts
 * it), with nothing in between. What this measures is the least any target can add to.
 */
import { NetnsScope } from '../../src/kernel/index.js';
import { ADDR, ASN, floorTopology, PREFIX_BASE } from './topology.js';
import { ProbeFailed, startInjector, startMonitor, waitUntil, type Probe, type ProbeEvent } from './probes.js';
import { cpuSeconds, peakRssBytes } from './procstat.js';

export interface FloorPhase {
  phase: 'announce' | 'withdraw';
  /** Seconds from the injector's first UPDATE written to the monitor seeing the last change. */
  seconds: number;
  sent: ProbeEvent;
  seen: ProbeEvent;
  injectorCpuS: number | null;
  monitorCpuS: number | null;
  injectorPeakRss: number | null;
  monitorPeakRss: number | null;
}

export interface FloorOptions {
  n: number;
  phases: ('announce' | 'withdraw')[];
  timeoutMs?: number;
  log?: (line: string) => void;
  scope?: NetnsScope;
}

/** Runs injector -> monitor in a fresh pair of namespaces; cleans up what it made. */
export async function runFloor(o: FloorOptions): Promise<FloorPhase[]> {
  const scope = o.scope ?? new NetnsScope();
  const out: FloorPhase[] = [];
  try {
    const topo = await floorTopology(scope);
    const monitor = await startMonitor(scope, topo.mon, {
      endpoint: { mode: 'listen', address: ADDR.floorMonitor, port: 179 },
      bgp: { localAsn: ASN.monitor, peerAsn: ASN.injector, routerId: ADDR.floorMonitor },
      n: o.n,
      base: PREFIX_BASE,
    });
    const injector = await startInjector(scope, topo.inj, {
      endpoint: { mode: 'connect', address: ADDR.floorMonitor, port: 179, localAddress: ADDR.injector },
      bgp: { localAsn: ASN.injector, peerAsn: ASN.monitor, routerId: ADDR.injector },
      n: o.n,
      base: PREFIX_BASE,
      nextHop: ADDR.injector,
    });
    const watch = [injector, monitor];
    const timeoutMs = o.timeoutMs ?? 60_000;
    await waitUntil('both probes established and the injector ready', () => injector.last('ready') && monitor.last('established'), {
      timeoutMs,
      watch,
    });
    for (const phase of o.phases) {
      out.push(await floorPhase(phase, injector, monitor, o.n, timeoutMs));
      o.log?.(`floor ${phase} ${o.n}: ${out[out.length - 1]!.seconds.toFixed(3)} s`);
    }
    await injector.stop();
    await monitor.stop();
  } finally {
    if (o.scope === undefined) await scope.cleanup();
  }
  return out;
}

async function floorPhase(phase: 'announce' | 'withdraw', injector: Probe, monitor: Probe, n: number, timeoutMs: number): Promise<FloorPhase> {
  const seenEvent = phase === 'announce' ? 'all-present' : 'all-absent';
  const injCpu0 = cpuSeconds(injector.pid);
  const monCpu0 = cpuSeconds(monitor.pid);
  injector.order();
  const sent = await waitUntil(`injector to send ${phase}`, () => injector.find('sent', 0, (e) => e.phase === phase), {
    timeoutMs,
    watch: [injector, monitor],
  });
  const seen = await waitUntil(`monitor to see ${phase} of ${n}`, () => monitor.last(seenEvent), {
    timeoutMs,
    watch: [injector, monitor],
    progress: () => JSON.stringify(monitor.last('progress') ?? {}),
    stallMs: 20_000,
  });
  const injCpu1 = cpuSeconds(injector.pid);
  const monCpu1 = cpuSeconds(monitor.pid);
  const seconds = (seen.t - (sent.tFirst as number)) / 1000;
  if (!(seconds >= 0)) throw new ProbeFailed(`floor ${phase}: negative time ${seconds}`);
  return {
    phase,
    seconds,
    sent,
    seen,
    injectorCpuS: injCpu0 === null || injCpu1 === null ? null : injCpu1 - injCpu0,
    monitorCpuS: monCpu0 === null || monCpu1 === null ? null : monCpu1 - monCpu0,
    injectorPeakRss: peakRssBytes(injector.pid),
    monitorPeakRss: peakRssBytes(monitor.pid),
  };
}
