/**
 * KernelFib: the speaker's best routes in the kernel routing table of the namespace it runs
 * in (or of a named namespace), the way BIRD's kernel protocol and FRR's zebra do it.
 *
 * - Every route carries tortie's route protocol number (`proto 200` unless told otherwise)
 *   and a metric of its own (32, BIRD's default), so ours are found by protocol, and routes
 *   of anyone else are never written over or deleted: a prefix we do not hold yet is written
 *   with `route add` (which fails rather than replace), only ours are replaced, and every
 *   delete names our protocol and metric.
 * - Changes queue up (`replace`, `remove`) and `flush()` writes them in one batch through a
 *   long-lived `ip -batch` child (./ip-batch.ts); a prefix changed several times between two
 *   flushes is written once, in its last state, and a change to what is already there is
 *   not written at all.
 * - `readBack()` lists our routes; `reconcile(desired)` reads back, then writes only the
 *   difference: ours deleted by hand come back, strays of ours go, others stay untouched.
 *   `startRepairLoop` does that on a timer.
 * - Next hops that are not on-link are resolved against the namespace's FIB (./resolve.ts);
 *   a route whose next hops cannot be resolved is not installed, is listed in `failures`,
 *   and is tried again by the next reconcile (or `retryFailed()`).
 * - Graceful restart, restarting side: `markAllStale()` adopts the routes a previous run left
 *   (nothing is flushed), `replace` refreshes them, `sweepStale()` removes the rest.
 */
import type { Logger } from '../../log/logger.js';
import { logger } from '../../log/logger.js';
import { canonicalPrefix, FibInputError, type Family } from './addr.js';
import { IpBatch, type LineFailures } from './ip-batch.js';
import { NextHopResolver } from './resolve.js';
import { normalizeNextHops, parseRouteLine, routeTail, sameNextHops, type KernelNextHop, type KernelRoute, type NextHop } from './route.js';
import { spawn } from 'node:child_process';

/** tortie's route protocol number: not in iproute2's rt_protos, nor used by BIRD (12), FRR (11, 186-198), Calico's felix (80). */
export const TORTIE_ROUTE_PROTOCOL = 200;
/** BIRD's default kernel metric: routes of a different metric never clash with others' (device routes, statics). */
export const DEFAULT_FIB_METRIC = 32;
export const MAIN_TABLE = 254;

export interface KernelFibOptions {
  /** Routing table id (default 254, main). */
  table?: number;
  /** Route protocol number marking our routes (default 200). */
  protocol?: number;
  /** Metric (priority) of our routes (default 32). */
  metric?: number;
  /** Work in this named network namespace (`ip -n`); default: the one we run in. */
  netns?: string;
  log?: Logger;
  /** Resolve next hops through the default route too (default false, as zebra). */
  resolveViaDefault?: boolean;
  /** Lines per `ip -batch` child before it is replaced (iproute2 leaks ~4 KiB per line). */
  maxLinesPerChild?: number;
}

/** The next hops the RIB asks for: objects, or bare gateway addresses. */
export type NextHopsInput = readonly (NextHop | string)[];

export type FibFailureReason = 'invalid' | 'unresolved' | 'rejected' | 'conflict';

/** A prefix the FIB could not put into the kernel as asked. */
export interface FibFailure {
  prefix: string;
  /** What was asked (null: a remove that failed). */
  nextHops: NextHopsInput | null;
  reason: FibFailureReason;
  message: string;
}

/** What one flush, reconcile or sweep did. */
export interface FibReport {
  added: number;
  replaced: number;
  removed: number;
  /** Already as wanted: nothing written. */
  unchanged: number;
  failed: number;
  /** Stale routes left in place (graceful restart, before sweepStale). */
  keptStale: number;
}

/** A route of ours as read back. */
export type FibRoute = KernelRoute;
export type { KernelNextHop, NextHop } from './route.js';

/** A way to write a route, interned: a million routes via one next hop share one. */
interface Tail {
  id: number;
  family: Family;
  /** The `via ...` / `nexthop ...` part of the ip line ('' for one read back from the kernel). */
  text: string;
  hops: readonly NextHop[];
  /** Read back from the kernel: compare by meaning, not by text. */
  kernel?: readonly KernelNextHop[];
  type?: string;
}

const enum Op {
  Add = 0,
  Replace = 1,
  Delete = 2,
}

type SetResolution = { ok: true; tail: Tail } | { ok: false; why: string };

function emptyReport(): FibReport {
  return { added: 0, replaced: 0, removed: 0, unchanged: 0, failed: 0, keptStale: 0 };
}

export class KernelFib {
  readonly table: number;
  readonly protocol: number;
  readonly metric: number;
  readonly netns: string | undefined;
  private readonly log: Logger;
  private readonly batch: IpBatch;
  private readonly resolver: NextHopResolver;
  /** What the kernel has of ours at our metric, as far as we know. */
  private installed = new Map<string, Tail>();
  /** Changes since the last flush; null means remove. Latest wins. */
  private queue = new Map<string, readonly NextHop[] | null>();
  private readonly failed = new Map<string, FibFailure>();
  private stale: Set<string> | null = null;
  private staleStrays: KernelRoute[] = [];
  private readonly normalized = new WeakMap<object, readonly NextHop[]>();
  private readonly tails = new Map<string, Tail>();
  private readonly sameCache = new Map<string, boolean>();
  private lastWant: Tail | null = null;
  private lastHave: Tail | null = null;
  private lastSame = false;
  private nextTailId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private repairTimer: NodeJS.Timeout | null = null;
  private repairRunning: Promise<unknown> | null = null;
  private stopped = false;
  private readonly common: string;
  private readonly resolveViaDefault: boolean;

  constructor(options: KernelFibOptions = {}) {
    this.table = options.table ?? MAIN_TABLE;
    this.protocol = options.protocol ?? TORTIE_ROUTE_PROTOCOL;
    this.metric = options.metric ?? DEFAULT_FIB_METRIC;
    for (const [name, v, max] of [
      ['table', this.table, 0xffffffff],
      ['protocol', this.protocol, 255],
      ['metric', this.metric, 0xffffffff],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new FibInputError(`fib ${name} ${v}: not an integer 0-${max}`);
    }
    if (this.protocol < 5) throw new FibInputError(`fib protocol ${this.protocol}: 0-4 are the kernel's own (unspec, redirect, kernel, boot, static)`);
    if (this.table === 0 || this.table === 255) throw new FibInputError(`fib table ${this.table}: not a table for routes of ours`);
    this.netns = options.netns;
    this.resolveViaDefault = options.resolveViaDefault ?? false;
    this.log = options.log ?? logger('bgp.fib', options.netns === undefined ? {} : { netns: options.netns });
    this.batch = new IpBatch({ netns: options.netns, maxLines: options.maxLinesPerChild, log: this.log });
    this.resolver = new NextHopResolver({ netns: options.netns, viaDefault: this.resolveViaDefault });
    this.common = `table ${this.table} proto ${this.protocol} metric ${this.metric}`;
  }

  // ---- Queueing -------------------------------------------------------------------------

  /**
   * Queue: `prefix` goes via these next hops (one, or several for ECMP). Throws
   * FibInputError at once for a bad prefix or next hop. Written by the next flush().
   */
  replace(prefix: string, nextHops: NextHopsInput): void {
    const p = canonicalPrefix(prefix).prefix;
    let hops = this.normalized.get(nextHops);
    if (hops === undefined) {
      hops = Object.freeze(normalizeNextHops(p, nextHops));
      this.normalized.set(nextHops, hops);
    }
    this.queue.set(p, hops);
    this.stale?.delete(p);
  }

  /** Queue: `prefix` has no route of ours any more. */
  remove(prefix: string): void {
    const p = canonicalPrefix(prefix).prefix;
    this.queue.set(p, null);
    this.stale?.delete(p);
  }

  /** Changes queued and not flushed yet. */
  get pending(): number {
    return this.queue.size;
  }

  /** Prefixes whose wanted state is not in the kernel, and why. */
  get failures(): ReadonlyMap<string, FibFailure> {
    return this.failed;
  }

  /** How many routes of ours the kernel holds, as far as this FIB knows. */
  get size(): number {
    return this.installed.size;
  }

  /** Whether a stale period (markAllStale .. sweepStale) is running. */
  get restarting(): boolean {
    return this.stale !== null;
  }

  /** Queue again every failed route (for callers that do not run the repair loop). */
  retryFailed(): number {
    let n = 0;
    for (const f of [...this.failed.values()]) {
      if (f.nextHops === null || f.reason === 'invalid') continue;
      if (this.queue.has(f.prefix)) continue;
      this.replace(f.prefix, f.nextHops);
      n++;
    }
    return n;
  }

  /** Runs `fn` after everything queued before it (flushes, reconciles, sweeps never overlap). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.catch(() => undefined);
    return result;
  }

  // ---- Writing ---------------------------------------------------------------------------

  /**
   * Writes everything queued since the last flush, in one batch. Resolves when the kernel
   * has it; prefixes that could not be written are in `failures` (and logged).
   */
  flush(): Promise<void> {
    return this.serial(async () => {
      await this.flushNow();
    });
  }

  /** flush(), with the counts. */
  flushWithReport(): Promise<FibReport> {
    return this.serial(() => this.flushNow());
  }

  private async flushNow(): Promise<FibReport> {
    const report = emptyReport();
    if (this.queue.size === 0) return report;
    const queue = this.queue;
    this.queue = new Map();
    const resolved = await this.resolveSets(queue.values());
    const prefixes: string[] = [];
    const ops: Op[] = [];
    const tails: (Tail | null)[] = [];
    const requested: (readonly NextHop[] | null)[] = [];
    for (const [p, hops] of queue) {
      const have = this.installed.get(p);
      if (hops === null) {
        const f = this.failed.get(p);
        this.failed.delete(p);
        // Not ours in the kernel for sure only if we never wrote it and it failed before.
        if (have === undefined && f !== undefined && f.nextHops !== null) continue;
        prefixes.push(p);
        ops.push(Op.Delete);
        tails.push(null);
        requested.push(null);
        continue;
      }
      const r = resolved(hops, p.includes(':') ? 6 : 4);
      if (!r.ok) {
        this.fail(p, hops, 'unresolved', r.why);
        report.failed++;
        if (have !== undefined) {
          // The new best path cannot be used: the old one must not stay either.
          prefixes.push(p);
          ops.push(Op.Delete);
          tails.push(null);
          requested.push(null);
        }
        continue;
      }
      if (have !== undefined && this.same(r.tail, have)) {
        this.failed.delete(p);
        report.unchanged++;
        continue;
      }
      prefixes.push(p);
      ops.push(have === undefined ? Op.Add : Op.Replace);
      tails.push(r.tail);
      requested.push(hops);
    }
    await this.apply(prefixes, ops, tails, requested, report, true);
    return report;
  }

  private fail(prefix: string, nextHops: NextHopsInput | null, reason: FibFailureReason, message: string): void {
    this.failed.set(prefix, { prefix, nextHops, reason, message });
  }

  private line(prefix: string, op: Op, tail: Tail | null, metric = this.metric): string {
    if (op === Op.Delete) return `route del ${prefix} table ${this.table} proto ${this.protocol} metric ${metric}`;
    return `route ${op === Op.Add ? 'add' : 'replace'} ${prefix} ${this.common} ${tail!.text}`;
  }

  /**
   * Writes the ops, updates `installed` and `failures`. With `checkConflicts`, an add that
   * met an existing route is looked at once more: if the route is ours (left by an earlier
   * run), it is replaced; if it belongs to someone else, it stays and we report a conflict.
   */
  private async apply(
    prefixes: string[],
    ops: Op[],
    tails: (Tail | null)[],
    requested: readonly (readonly NextHop[] | null)[],
    report: FibReport,
    checkConflicts: boolean,
    metrics?: number[],
  ): Promise<void> {
    if (prefixes.length === 0) return;
    const t0 = Date.now();
    const failedBefore = report.failed;
    const failures: LineFailures = await this.batch.run(prefixes.length, (i) =>
      this.line(prefixes[i]!, ops[i]!, tails[i]!, metrics?.[i] ?? this.metric),
    );
    const conflicts: number[] = [];
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      const op = ops[i]!;
      const err = failures.get(i);
      const ourMetric = metrics === undefined || metrics[i] === this.metric;
      if (err === undefined) {
        if (op === Op.Delete) {
          if (ourMetric) this.installed.delete(p);
          report.removed++;
        } else {
          this.installed.set(p, tails[i]!);
          this.failed.delete(p);
          if (op === Op.Add) report.added++;
          else report.replaced++;
        }
        continue;
      }
      if (op === Op.Delete) {
        if (/No such process/.test(err)) {
          // Already gone: what we wanted.
          if (ourMetric) this.installed.delete(p);
          continue;
        }
        this.fail(p, null, 'rejected', `delete ${p}: ${err}`);
        report.failed++;
      } else if (op === Op.Add && /File exists/.test(err)) {
        conflicts.push(i);
      } else {
        this.fail(p, requested[i] ?? tails[i]!.hops, 'rejected', `${p}: ${err}`);
        report.failed++;
      }
    }
    if (conflicts.length > 0) {
      if (!checkConflicts) {
        for (const i of conflicts) this.conflict(prefixes[i]!, requested[i] ?? tails[i]!.hops, report);
      } else {
        // Which of them hold a route of ours? Those we may replace.
        const ours = await this.readAll();
        const mine = new Set<string>();
        for (const r of ours) if (r.metric === this.metric) mine.add(r.prefix);
        const again: number[] = [];
        for (const i of conflicts) {
          if (mine.has(prefixes[i]!)) again.push(i);
          else this.conflict(prefixes[i]!, requested[i] ?? tails[i]!.hops, report);
        }
        await this.apply(
          again.map((i) => prefixes[i]!),
          again.map(() => Op.Replace),
          again.map((i) => tails[i]!),
          again.map((i) => requested[i] ?? null),
          report,
          false,
        );
      }
    }
    const ms = Date.now() - t0;
    if (checkConflicts && report.failed > failedBefore) {
      const first = [...this.failed.values()].slice(0, 3).map((f) => f.message);
      this.log.warn({ lines: prefixes.length, failed: report.failed - failedBefore, first, ms }, 'some kernel route changes failed');
    } else {
      this.log.debug({ lines: prefixes.length, ms }, 'kernel routes written');
    }
  }

  private conflict(prefix: string, nextHops: NextHopsInput, report: FibReport): void {
    this.fail(prefix, nextHops, 'conflict', `${prefix}: a route of another protocol holds this prefix at metric ${this.metric} in table ${this.table}; left alone`);
    report.failed++;
  }

  // ---- Next hops ------------------------------------------------------------------------

  private intern(family: Family, hops: readonly NextHop[]): Tail {
    const text = routeTail(family, hops);
    const key = `${family}${text}`;
    let t = this.tails.get(key);
    if (t === undefined) {
      t = { id: this.nextTailId++, family, text, hops };
      this.tails.set(key, t);
    }
    return t;
  }

  /**
   * Resolves each distinct next-hop set once: one `ip route get` batch for the gateways
   * not known yet. Returns a lookup by set and prefix family (an IPv4 route may have an
   * IPv6 next hop, RFC 5549, and is then written `via inet6`).
   */
  private async resolveSets(sets: Iterable<readonly NextHop[] | null>): Promise<(hops: readonly NextHop[], family: Family) => SetResolution> {
    const distinct = new Set<readonly NextHop[]>();
    for (const s of sets) if (s !== null) distinct.add(s);
    const gateways = new Set<string>();
    for (const s of distinct) for (const h of s) if (h.dev === undefined) gateways.add(h.via);
    await this.resolver.lookup(gateways);
    const done = new Map<readonly NextHop[], [SetResolution | undefined, SetResolution | undefined]>();
    return (hops, family) => {
      let both = done.get(hops);
      if (both === undefined) {
        both = [undefined, undefined];
        done.set(hops, both);
      }
      const i = family === 4 ? 0 : 1;
      return (both[i] ??= this.resolveSet(hops, family));
    };
  }

  private resolveSet(set: readonly NextHop[], family: Family): SetResolution {
    const hops: NextHop[] = [];
    const why: string[] = [];
    for (const h of set) {
      if (h.dev !== undefined) {
        hops.push(h);
        continue;
      }
      const r = this.resolver.peek(h.via);
      if (r === undefined || !r.ok) {
        why.push(r?.why ?? `next hop ${h.via}: not looked up`);
        continue;
      }
      for (const x of r.hops) hops.push(h.weight !== undefined && set.length > 1 ? { ...x, weight: h.weight } : x);
    }
    if (hops.length === 0) return { ok: false, why: why.join('; ') };
    // Several BGP next hops may resolve to the same gateway: keep one of each.
    const seen = new Set<string>();
    const unique = hops.filter((h) => {
      const k = `${h.via}%${h.dev ?? ''}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (unique.length > 1) unique.sort((a, b) => (`${a.via}%${a.dev ?? ''}` < `${b.via}%${b.dev ?? ''}` ? -1 : 1));
    return { ok: true, tail: this.intern(family, unique) };
  }

  private same(want: Tail, have: Tail): boolean {
    if (want === have) return true;
    if (have.kernel === undefined) return false;
    if (have.type !== undefined && have.type !== 'unicast') return false;
    // Nearly every route shares its pair with the one before: no string key for those.
    if (this.lastWant === want && this.lastHave === have) return this.lastSame;
    const key = `${want.id}:${have.id}`;
    let r = this.sameCache.get(key);
    if (r === undefined) {
      r = sameNextHops(want.hops, have.kernel);
      if (this.sameCache.size > 10_000) this.sameCache.clear();
      this.sameCache.set(key, r);
    }
    this.lastWant = want;
    this.lastHave = have;
    this.lastSame = r;
    return r;
  }

  // ---- Reading back ---------------------------------------------------------------------

  /** Every route of ours (our protocol, our table), any metric or type, IPv4 and IPv6. */
  private async readAll(): Promise<KernelRoute[]> {
    const kernelTails = new Map<string, readonly KernelNextHop[]>();
    const [v4, v6] = await Promise.all([this.dump(4, kernelTails), this.dump(6, kernelTails)]);
    return v4.concat(v6);
  }

  private dump(family: Family, interned: Map<string, readonly KernelNextHop[]>): Promise<KernelRoute[]> {
    const args = [
      ...(this.netns === undefined ? [] : ['-n', this.netns]),
      '-o',
      family === 4 ? '-4' : '-6',
      'route',
      'show',
      'table',
      String(this.table),
      'proto',
      String(this.protocol),
    ];
    return new Promise((resolve, reject) => {
      const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const routes: KernelRoute[] = [];
      let tail = '';
      let stderr = '';
      const take = (line: string): void => {
        const r = parseRouteLine(line, family);
        if (r === null) return;
        const key = r.nextHops.map((h) => `${h.via ?? ''}%${h.dev ?? ''}%${h.weight}`).join(' ');
        const shared = interned.get(key);
        if (shared !== undefined) r.nextHops = shared as KernelNextHop[];
        else interned.set(key, r.nextHops);
        routes.push(r);
      };
      p.stdout.setEncoding('utf8').on('data', (d: string) => {
        const text = tail + d;
        let start = 0;
        for (;;) {
          const nl = text.indexOf('\n', start);
          if (nl < 0) break;
          take(text.slice(start, nl));
          start = nl + 1;
        }
        tail = text.slice(start);
      });
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      p.on('error', reject);
      p.on('close', (code) => {
        if (tail !== '') take(tail);
        if (code !== 0) reject(new Error(`ip ${args.join(' ')}: exit status ${code}: ${stderr.trim()}`));
        else resolve(routes);
      });
    });
  }

  /**
   * Routes of ours in the kernel (our protocol, our table), by prefix. Where a prefix has
   * more than one (another metric: a stray), the one at our metric is given.
   */
  readBack(): Promise<Map<string, FibRoute>> {
    return this.serial(async () => {
      const out = new Map<string, FibRoute>();
      for (const r of await this.readAll()) {
        const had = out.get(r.prefix);
        if (had === undefined || (had.metric !== this.metric && r.metric === this.metric)) out.set(r.prefix, r);
      }
      return out;
    });
  }

  private kernelTail(r: KernelRoute): Tail {
    // One Tail per distinct kernel next-hop list (they are interned by dump()).
    let t = this.kernelTails.get(r.nextHops);
    if (t === undefined) {
      t = {
        id: this.nextTailId++,
        family: r.family,
        text: '',
        hops: r.nextHops.filter((h) => h.via !== undefined).map((h) => ({ via: h.via!, dev: h.dev, weight: h.weight })),
        kernel: r.nextHops,
        type: r.type,
      };
      this.kernelTails.set(r.nextHops, t);
    }
    if (t.type !== r.type) return { ...t, id: this.nextTailId++, type: r.type };
    return t;
  }

  private kernelTails = new WeakMap<readonly KernelNextHop[], Tail>();

  // ---- Reconciling ----------------------------------------------------------------------

  /**
   * Makes the kernel hold exactly `desired` (prefix -> next hops) of ours: reads our routes
   * back, resolves next hops afresh, and writes only the difference. Queued changes are
   * dropped: `desired` is the whole truth. Routes of other protocols are never touched;
   * during a stale period, stale routes not in `desired` stay until sweepStale().
   */
  reconcile(desired: ReadonlyMap<string, NextHopsInput>): Promise<FibReport> {
    return this.serial(() => this.reconcileNow(desired));
  }

  private async reconcileNow(desired: ReadonlyMap<string, NextHopsInput>): Promise<FibReport> {
    const report = emptyReport();
    this.queue = new Map();
    this.resolver.clear();
    const kernel = await this.readAll();
    const atMetric = new Map<string, KernelRoute>();
    const strays: KernelRoute[] = [];
    for (const r of kernel) {
      if (r.metric === this.metric && !atMetric.has(r.prefix)) atMetric.set(r.prefix, r);
      else strays.push(r);
    }
    // Normalize what is wanted; bad entries are reported, not fatal.
    const wanted = new Map<string, readonly NextHop[]>();
    const invalid = new Set<string>();
    for (const [prefix, input] of desired) {
      try {
        const p = canonicalPrefix(prefix).prefix;
        let hops = this.normalized.get(input);
        if (hops === undefined) {
          hops = Object.freeze(normalizeNextHops(p, input));
          this.normalized.set(input, hops);
        }
        wanted.set(p, hops);
      } catch (err) {
        if (!(err instanceof FibInputError)) throw err;
        this.fail(prefix, input, 'invalid', err.message);
        invalid.add(prefix);
        report.failed++;
      }
    }
    for (const p of [...this.failed.keys()]) if (!wanted.has(p) && !invalid.has(p)) this.failed.delete(p);
    const resolved = await this.resolveSets(wanted.values());
    const prefixes: string[] = [];
    const ops: Op[] = [];
    const tails: (Tail | null)[] = [];
    const metrics: number[] = [];
    const requested: (readonly NextHop[] | null)[] = [];
    const installed = new Map<string, Tail>();
    for (const [p, hops] of wanted) {
      const k = atMetric.get(p);
      const r = resolved(hops, p.includes(':') ? 6 : 4);
      if (!r.ok) {
        this.fail(p, hops, 'unresolved', r.why);
        report.failed++;
        if (k !== undefined) {
          prefixes.push(p);
          ops.push(Op.Delete);
          tails.push(null);
          metrics.push(this.metric);
          requested.push(null);
        }
        continue;
      }
      if (k !== undefined) {
        const have = this.kernelTail(k);
        if (this.same(r.tail, have)) {
          installed.set(p, have);
          this.failed.delete(p);
          report.unchanged++;
          continue;
        }
        installed.set(p, have);
      }
      prefixes.push(p);
      ops.push(k === undefined ? Op.Add : Op.Replace);
      tails.push(r.tail);
      metrics.push(this.metric);
      requested.push(hops);
    }
    for (const [p, k] of atMetric) {
      if (wanted.has(p)) continue;
      if (this.stale?.has(p)) {
        installed.set(p, this.kernelTail(k));
        report.keptStale++;
        continue;
      }
      prefixes.push(p);
      ops.push(Op.Delete);
      tails.push(null);
      metrics.push(this.metric);
      requested.push(null);
    }
    for (const s of strays) {
      if (this.stale !== null) {
        report.keptStale++;
        continue;
      }
      prefixes.push(s.prefix);
      ops.push(Op.Delete);
      tails.push(null);
      metrics.push(s.metric);
      requested.push(null);
    }
    this.installed = installed;
    await this.apply(prefixes, ops, tails, requested, report, false, metrics);
    if (report.added + report.replaced + report.removed + report.failed > 0) {
      this.log.info({ ...report }, 'kernel routes reconciled');
    }
    return report;
  }

  /**
   * Reconciles against `desired()` every intervalMs (the first run at once), one run at a
   * time. Errors are logged, and the loop goes on.
   */
  startRepairLoop(intervalMs: number, desired: () => ReadonlyMap<string, NextHopsInput>, onReport?: (report: FibReport) => void): void {
    if (this.repairTimer !== null || this.repairRunning !== null) throw new Error('KernelFib: the repair loop runs already');
    if (!(intervalMs > 0)) throw new FibInputError(`fib repair interval ${intervalMs}: must be more than 0 ms`);
    this.stopped = false;
    const tick = (): void => {
      this.repairTimer = null;
      // desired() is asked when the reconcile runs, not before it waits its turn: queued
      // changes are dropped by reconcile, so the snapshot must be at least as new as they are.
      this.repairRunning = this.serial(() => this.reconcileNow(desired()))
        .then((report) => onReport?.(report))
        .catch((err: unknown) => this.log.error({ err }, 'kernel route repair failed'))
        .finally(() => {
          this.repairRunning = null;
          if (!this.stopped) {
            this.repairTimer = setTimeout(tick, intervalMs);
            this.repairTimer.unref();
          }
        });
    };
    tick();
  }

  /** Stops the repair loop and the `ip` children. Routes stay in the kernel (as BIRD's `persist`). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.repairTimer !== null) clearTimeout(this.repairTimer);
    this.repairTimer = null;
    await this.repairRunning;
    await this.chain;
    await this.batch.close();
  }

  // ---- Graceful restart (restarting speaker) -------------------------------------------

  /**
   * At start after a restart: adopt the routes of ours a previous run left in the kernel,
   * as stale. Nothing is removed; each `replace` refreshes its prefix (and writes nothing
   * if the route is already right). Resolves with how many were found.
   */
  markAllStale(): Promise<number> {
    return this.serial(async () => {
      const kernel = await this.readAll();
      this.stale = new Set();
      this.staleStrays = [];
      for (const r of kernel) {
        if (r.metric === this.metric && !this.stale.has(r.prefix)) {
          this.stale.add(r.prefix);
          // A prefix replaced before markAllStale is already fresh.
          if (this.queue.has(r.prefix)) this.stale.delete(r.prefix);
          this.installed.set(r.prefix, this.kernelTail(r));
        } else {
          this.staleStrays.push(r);
        }
      }
      if (kernel.length === 0) {
        // Nothing left by a previous run: no stale period to keep up.
        this.stale = null;
        return 0;
      }
      this.log.info({ routes: this.stale.size, strays: this.staleStrays.length }, 'kept kernel routes of the previous run as stale');
      return kernel.length;
    });
  }

  /**
   * After the RIB has learned again (End-of-RIB from every peer, or the restart timer):
   * writes what is queued, then removes every stale route that was not refreshed.
   */
  sweepStale(): Promise<FibReport> {
    return this.serial(async () => {
      const report = await this.flushNow();
      const stale = this.stale ?? new Set<string>();
      const strays = this.staleStrays;
      this.stale = null;
      this.staleStrays = [];
      const prefixes = [...stale, ...strays.map((s) => s.prefix)];
      const metrics = [...[...stale].map(() => this.metric), ...strays.map((s) => s.metric)];
      const sweep = emptyReport();
      await this.apply(prefixes, prefixes.map(() => Op.Delete), prefixes.map(() => null), prefixes.map(() => null), sweep, false, metrics);
      this.log.info({ swept: sweep.removed }, 'stale kernel routes swept');
      report.removed += sweep.removed;
      report.failed += sweep.failed;
      return report;
    });
  }
}
