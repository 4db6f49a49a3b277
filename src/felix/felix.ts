/**
 * The per-host dataplane agent. It watches the datastore, feeds the pure calculation, and
 * applies the result with the dataplane reconcilers in one loop:
 * - updates are coalesced: while an apply runs, later events just mark the state dirty;
 * - nothing is applied before the datastore is in sync, so the first apply (which reads the
 *   kernel and removes whatever carries our marks and is not wanted) sweeps only leftovers;
 * - a failed apply is retried with exponential back-off, reading the kernel first;
 * - every `refreshIntervalMs` the kernel is read back and repaired (drift from other tools).
 *
 * The node daemon starts one per host:
 *   const felix = startFelix({ store, nodeName, localBlocks: () => ipam.blocksOf(nodeName), log });
 *   await felix.ready;      // in sync with the datastore and applied once
 *   ...
 *   await felix.stop();     // kernel state stays, so a restart interrupts no flow
 */
import type { Server } from 'node:http';
import type { ResourceStore } from '../datastore/resources/store.js';
import type { KindName } from '../datastore/resources/types.js';
import type { ResourceEvent, ResourceWatch } from '../datastore/resources/watch.js';
import { errorMessage } from '../common/errors.js';
import { logger, type Logger } from '../log/logger.js';
import { CalcGraph } from './calc/graph.js';
import type { DesiredState } from './calc/model.js';
import { FELIX_ROUTE_PROTOCOL } from './calc/names.js';
import { Dataplane, type ApplyReport } from './dataplane/dataplane.js';
import type { TableHooks } from './dataplane/iptables.js';
import { FelixMetrics, serveMetrics } from './metrics.js';

export interface FelixOptions {
  store: ResourceStore;
  /** This host's name (WorkloadEndpoint/HostEndpoint spec.node). */
  nodeName: string;
  /** Run every kernel command inside this named network namespace (tests, labs). */
  netns?: string;
  /** This host's IPAM blocks, read at every apply; they get blackhole routes. */
  localBlocks?: () => string[];
  /** Serve /metrics, /liveness, /readiness on this port (0: any free port); unset: no server. */
  metricsPort?: number;
  /** Address the metrics server binds to (default 127.0.0.1). */
  metricsHost?: string;
  log?: Logger;
  /** Manage IPv6 as well (default true). */
  ipv6?: boolean;
  /** Read the kernel back and repair drift this often (default 2000 ms). */
  refreshIntervalMs?: number;
  /** Back-off after a failed apply: from minMs, doubling, up to maxMs (default 100 ms .. 10 s). */
  retry?: { minMs?: number; maxMs?: number };
  routeProtocol?: number;
  /** Test hooks into the dataplane (e.g. to corrupt a restore transaction). */
  hooks?: TableHooks;
}

export interface FelixStatus {
  inSync: boolean;
  /** In sync, applied at least once, and the last apply worked. */
  ready: boolean;
  applies: number;
  failures: number;
  lastError?: string;
  lastApplyMs?: number;
  /** The highest datastore revision (of an update) whose effects are in the kernel. */
  appliedRevision: number;
  counts: { endpoints: number; policies: number; profiles: number; rules: number; chains: number; ipsets: number; routes: number; pending: number };
  /** Resources that could not be used (failed closed). */
  problems: string[];
  /** Milliseconds per phase of the last apply (calc, ipsets, iptables, ...). */
  lastTimings?: Record<string, number>;
  metricsPort?: number;
}

export interface FelixHandle {
  /** Resolves once in sync with the datastore and the dataplane was applied once. */
  readonly ready: Promise<void>;
  /** Applies now (after any change seen so far); rejects if that apply fails. */
  applyNow(): Promise<FelixStatus>;
  /** Resolves once every update up to datastore revision `revision` is in the kernel. */
  waitForRevision(revision: number, timeoutMs?: number): Promise<FelixStatus>;
  status(): FelixStatus;
  /** The last desired state computed (for tests and debugging). */
  desired(): DesiredState | undefined;
  readonly dataplane: Dataplane;
  readonly metrics: FelixMetrics;
  /** Stops watching and applying. The kernel state is left as it is. */
  stop(): Promise<void>;
}

const WATCHED: KindName[] = ['WorkloadEndpoint', 'HostEndpoint', 'NetworkPolicy', 'GlobalNetworkPolicy', 'Profile', 'IPPool'];

interface Waiter {
  done(s: FelixStatus): boolean;
  /** Generation an applyNow asked for: a failed attempt at or past it rejects the waiter. */
  gen?: number;
  resolve(s: FelixStatus): void;
  reject(err: Error): void;
}

export function startFelix(options: FelixOptions): FelixHandle {
  return new Felix(options);
}

class Felix implements FelixHandle {
  readonly ready: Promise<void>;
  readonly dataplane: Dataplane;
  readonly metrics = new FelixMetrics();
  private readonly log: Logger;
  private readonly graph: CalcGraph;
  private readonly watch: ResourceWatch;
  private readonly refreshTimer: NodeJS.Timeout;
  private retryTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private resolveReady!: () => void;

  private inSync = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private dirty = false;
  private refreshDue = false;
  private wanted = 0;
  private seenRevision = 0;
  private failuresInRow = 0;
  private lastTick = Date.now();
  private waiters: Waiter[] = [];
  private last: DesiredState | undefined;
  private st: FelixStatus = {
    inSync: false,
    ready: false,
    applies: 0,
    failures: 0,
    appliedRevision: 0,
    counts: { endpoints: 0, policies: 0, profiles: 0, rules: 0, chains: 0, ipsets: 0, routes: 0, pending: 0 },
    problems: [],
  };

  constructor(private readonly options: FelixOptions) {
    this.log = options.log ?? logger('felix', { node: options.nodeName });
    const families = options.ipv6 === false ? ([4] as const) : ([4, 6] as const);
    this.graph = new CalcGraph({ nodeName: options.nodeName, ipv6: options.ipv6 !== false });
    this.dataplane = new Dataplane({
      ...(options.netns !== undefined ? { netns: options.netns } : {}),
      families,
      routeProtocol: options.routeProtocol ?? FELIX_ROUTE_PROTOCOL,
      ...(options.hooks ? { hooks: options.hooks } : {}),
    });
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.refreshTimer = setInterval(() => {
      this.lastTick = Date.now();
      this.refreshDue = true;
      this.kick();
    }, options.refreshIntervalMs ?? 2000);
    this.watch = options.store.watch(WATCHED, {
      onEvents: (events) => this.onEvents(events),
      onError: (err) => this.log.warn({ err: err.message }, 'datastore watch trouble; it retries'),
    });
    if (options.metricsPort !== undefined) {
      serveMetrics(this.metrics, { live: () => this.live(), ready: () => this.st.ready }, options.metricsPort, options.metricsHost ?? '127.0.0.1').then(
        ({ server, port }) => {
          if (this.stopped) server.close();
          else {
            this.server = server;
            this.st.metricsPort = port;
          }
        },
        (err: unknown) => this.log.error({ err: errorMessage(err) }, 'cannot serve metrics'),
      );
    }
  }

  private onEvents(events: ResourceEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'in-sync') {
        this.inSync = true;
        this.st.inSync = true;
        continue;
      }
      try {
        if (ev.type === 'update') {
          this.graph.onUpdate(ev.resource);
          this.seenRevision = Math.max(this.seenRevision, Number(ev.resource.metadata.resourceVersion ?? 0));
        } else {
          this.graph.onDelete(ev.resource);
        }
      } catch (err) {
        // A bug, not bad input (validation and the calculation handle that): keep its stack.
        this.log.error({ err }, 'calculation failed for a resource');
      }
    }
    this.dirty = true;
    this.wanted++;
    this.kick();
  }

  private live(): boolean {
    return !this.stopped && Date.now() - this.lastTick < 5 * (this.options.refreshIntervalMs ?? 2000) + 10_000;
  }

  private kick(): void {
    if (this.stopped || this.running || this.retryTimer) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if ((this.dirty || this.refreshDue) && this.inSync && !this.retryTimer) this.kick();
    });
  }

  private async loop(): Promise<void> {
    // Let a burst of events land first: they are handled by one apply.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!this.stopped && this.inSync && (this.dirty || this.refreshDue)) {
      const gen = this.wanted;
      const revision = this.seenRevision;
      this.dirty = false;
      if (this.refreshDue) {
        this.refreshDue = false;
        this.dataplane.markForReadBack();
      }
      const t0 = performance.now();
      let report: ApplyReport;
      try {
        if (this.options.localBlocks) this.graph.setLocalBlocks(this.options.localBlocks());
        const desired = this.graph.desired();
        const calcMs = performance.now() - t0;
        this.last = desired;
        report = await this.dataplane.apply(desired);
        report.timings = { calc: Math.round(calcMs * 10) / 10, ...report.timings };
        this.record(desired, report, performance.now() - t0, revision);
      } catch (err) {
        this.fail(err, gen);
        return;
      }
      if (report.wrote && this.st.applies > 1) this.log.debug({ ms: this.st.lastApplyMs }, 'dataplane updated');
      this.settle(gen);
    }
  }

  private record(desired: DesiredState, report: ApplyReport, ms: number, revision: number): void {
    const first = !this.st.ready;
    this.failuresInRow = 0;
    this.st.applies++;
    this.st.lastApplyMs = ms;
    this.st.lastTimings = report.timings;
    this.st.appliedRevision = Math.max(this.st.appliedRevision, revision);
    delete this.st.lastError;
    this.st.ready = true;
    this.st.problems = desired.problems;
    this.st.counts = { ...desired.counts, rules: report.rules, chains: report.chains, ipsets: report.ipsets, routes: report.routes, pending: report.pending };
    const m = this.metrics;
    m.applyDuration.observe(ms / 1000);
    m.applies.inc();
    m.rules.set(report.rules);
    m.chains.set(report.chains);
    m.ipsets.set(report.ipsets);
    m.routes.set(report.routes);
    m.endpoints.set(desired.counts.endpoints);
    m.policies.set(desired.counts.policies);
    m.pending.set(report.pending);
    m.problems.set(desired.problems.length);
    if (first) {
      this.log.info({ ms: Math.round(ms), ...this.st.counts }, 'dataplane in sync with the datastore');
      this.resolveReady();
    }
    for (const p of desired.problems) this.log.debug({ problem: p }, 'input failed closed');
  }

  private fail(err: unknown, gen: number): void {
    this.failuresInRow++;
    this.st.failures++;
    this.st.ready = false;
    this.st.lastError = errorMessage(err);
    this.metrics.failures.inc();
    this.dirty = true;
    this.dataplane.markForReadBack();
    const min = this.options.retry?.minMs ?? 100;
    const max = this.options.retry?.maxMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failuresInRow - 1, 16));
    this.log.warn({ err: this.st.lastError, retryInMs: delay }, 'dataplane apply failed; retrying');
    const error = err instanceof Error ? err : new Error(String(err));
    this.waiters = this.waiters.filter((w) => {
      if (w.gen !== undefined && w.gen <= gen) {
        w.reject(error);
        return false;
      }
      return true;
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }

  private settle(gen: number): void {
    const s = this.status();
    this.waiters = this.waiters.filter((w) => {
      if ((w.gen === undefined || w.gen <= gen) && w.done(s)) {
        w.resolve(s);
        return false;
      }
      return true;
    });
  }

  applyNow(): Promise<FelixStatus> {
    if (this.stopped) return Promise.reject(new Error('felix is stopped'));
    this.wanted++;
    this.dirty = true;
    const gen = this.wanted;
    const p = new Promise<FelixStatus>((resolve, reject) => this.waiters.push({ gen, done: () => true, resolve, reject }));
    // A retry waiting for its back-off is cut short: the caller wants it now.
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.kick();
    return p;
  }

  waitForRevision(revision: number, timeoutMs = 10_000): Promise<FelixStatus> {
    if (this.st.appliedRevision >= revision && !this.dirty && !this.running) return Promise.resolve(this.status());
    return new Promise<FelixStatus>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`felix did not apply datastore revision ${revision} within ${timeoutMs} ms (applied: ${this.st.appliedRevision}; last error: ${this.st.lastError ?? 'none'})`));
      }, timeoutMs);
      const waiter: Waiter = {
        done: (s) => s.appliedRevision >= revision,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  status(): FelixStatus {
    return structuredClone(this.st);
  }

  desired(): DesiredState | undefined {
    return this.last;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearTimeout(this.retryTimer);
    await this.watch.cancel();
    await this.running?.catch(() => undefined);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    const err = new Error('felix stopped');
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }
}
