/**
 * One allocator process standing for one host's CNI plugin: the IPAM benchmark and the
 * integration tests start K of these (each a different host) against one etcd.
 *
 *   node dist/bench/ipam/allocator.js '<json job>'
 *
 * The job: {datastore, node, count, mode, handlePrefix, pools?}. With `pools` the pool list
 * is given (benchmark: no resources needed); without, pools, settings and nodes are read
 * from the resource store, as in production.
 *   hold   assign `count` addresses, one handle each, and keep them
 *   cycle  assign and release one address, `count` times (or until SIGTERM)
 *   bench  assign `count` addresses, then release them all, timing each call
 *   cas    `count` raw single-key compare-and-swap transactions on a key of its own: the
 *          ceiling for this process layout, to set IPAM's figures beside
 * Protocol on stdout, one JSON object a line: {"event":"ready"} once connected; the process
 * then waits for a line on stdin (so K processes start together), and ends with
 * {"event":"done", ...}. A failed call is recorded with its error's name and message, and
 * its handle is released, as a container runtime does after a failed CNI ADD.
 */
import { createInterface } from 'node:readline';
import { UserError } from '../../src/common/errors.js';
import { openKV } from '../../src/datastore/open.js';
import { ResourceStore } from '../../src/datastore/resources/store.js';
import type { IpamConfigSource, IpPoolInfo } from '../../src/ipam/config.js';
import { StaticConfigSource } from '../../src/ipam/config.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../src/ipam/resource-source.js';
import { CountingKV } from './counting-kv.js';

export interface AllocatorJob {
  datastore: string;
  node: string;
  count: number;
  mode: 'hold' | 'cycle' | 'bench' | 'cas';
  handlePrefix: string;
  pools?: IpPoolInfo[];
}

export interface CallError {
  handle: string;
  op: 'assign' | 'release';
  name: string;
  message: string;
  /** Whether the error is one the project means users to see (a UserError), not a bug. */
  userError: boolean;
}

export interface AllocatorResult {
  event: 'done';
  node: string;
  /** Addresses this process holds at the end (hold mode), with their handles. */
  held: { handle: string; ip: string; seq: number }[];
  /** Every address ever assigned to this process, in order. */
  assigned: string[];
  errors: CallError[];
  assignMs: number[];
  releaseMs: number[];
  /** Wall time of the assign phase and the release phase. */
  assignPhaseMs: number;
  releasePhaseMs: number;
  counts: { assignWrites: number; assignReads: number; releaseWrites: number; releaseReads: number };
  conflicts: number;
  cycles: number;
}

/** Lines from stdin, one at a time: the parent's go-aheads. */
function lineReader(): () => Promise<void> {
  const waiting: (() => void)[] = [];
  let pending = 0;
  createInterface({ input: process.stdin }).on('line', () => {
    const next = waiting.shift();
    if (next) next();
    else pending++;
  });
  return () =>
    new Promise<void>((resolve) => {
      if (pending > 0) {
        pending--;
        resolve();
      } else waiting.push(resolve);
    });
}

function emit(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function describe(handle: string, op: 'assign' | 'release', err: unknown): CallError {
  const e = err instanceof Error ? err : new Error(String(err));
  return { handle, op, name: e.name, message: e.message, userError: err instanceof UserError };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as AllocatorJob;
  const kv = new CountingKV(await openKV(job.datastore));
  const source: IpamConfigSource = job.pools ? new StaticConfigSource({ pools: job.pools, anyNodeExists: true }) : new ResourceConfigSource(new ResourceStore(kv));
  const ipam = new Ipam(kv, source, { configTtlMs: 5000 });
  let stop = false;
  process.on('SIGTERM', () => {
    stop = true;
  });

  const goAhead = lineReader();
  emit({ event: 'ready', node: job.node, pid: process.pid });
  await goAhead();

  const result: AllocatorResult = {
    event: 'done',
    node: job.node,
    held: [],
    assigned: [],
    errors: [],
    assignMs: [],
    releaseMs: [],
    assignPhaseMs: 0,
    releasePhaseMs: 0,
    counts: { assignWrites: 0, assignReads: 0, releaseWrites: 0, releaseReads: 0 },
    conflicts: 0,
    cycles: 0,
  };

  /** Releases a handle whose assign failed; retries while the store is unreachable. */
  const cleanUp = async (handle: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await ipam.releaseByHandle(handle);
        return;
      } catch (err) {
        result.errors.push(describe(handle, 'release', err));
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  const assignOne = async (handle: string): Promise<boolean> => {
    const t0 = performance.now();
    try {
      const r = await ipam.assign({ node: job.node, handle, attrs: { workload: handle, namespace: 'bench' } });
      result.assignMs.push(performance.now() - t0);
      const ip = r.ips[0]!;
      result.assigned.push(ip.ip);
      result.held.push({ handle, ip: ip.ip, seq: ip.seq });
      return true;
    } catch (err) {
      result.errors.push(describe(handle, 'assign', err));
      await cleanUp(handle);
      return false;
    }
  };

  const releaseOne = async (handle: string): Promise<void> => {
    const t0 = performance.now();
    try {
      await ipam.releaseByHandle(handle);
      result.releaseMs.push(performance.now() - t0);
    } catch (err) {
      result.errors.push(describe(handle, 'release', err));
      await cleanUp(handle);
    }
    result.held = result.held.filter((h) => h.handle !== handle);
  };

  if (job.mode === 'cas') {
    const key = `/bench/cas/${job.node}`;
    let rev = (await kv.put(key, '0')).modRevision;
    const t0 = performance.now();
    for (let i = 0; i < job.count; i++) {
      const t = performance.now();
      rev = (await kv.txn([{ op: 'update', key, value: String(i), expectRevision: rev }])).results[0]!.modRevision;
      result.assignMs.push(performance.now() - t);
    }
    result.assignPhaseMs = performance.now() - t0;
  } else if (job.mode === 'cycle') {
    for (let i = 0; i < job.count && !stop; i++) {
      const handle = `${job.handlePrefix}-${i}`;
      if (await assignOne(handle)) await releaseOne(handle);
      result.cycles++;
      emit({ event: 'cycle', n: result.cycles });
    }
  } else {
    const t0 = performance.now();
    let before = { ...kv.counts };
    for (let i = 0; i < job.count && !stop; i++) {
      await assignOne(`${job.handlePrefix}-${i}`);
      result.cycles++;
      if (job.mode === 'hold') emit({ event: 'cycle', n: result.cycles });
    }
    result.assignPhaseMs = performance.now() - t0;
    result.counts.assignWrites = kv.counts.writes - before.writes;
    result.counts.assignReads = kv.counts.reads - before.reads;
    if (job.mode === 'bench') {
      // Wait for the go-ahead again, so that every process releases while the others do.
      emit({ event: 'assigned' });
      await goAhead();
      before = { ...kv.counts };
      const t1 = performance.now();
      for (const h of [...result.held]) await releaseOne(h.handle);
      result.releasePhaseMs = performance.now() - t1;
      result.counts.releaseWrites = kv.counts.writes - before.writes;
      result.counts.releaseReads = kv.counts.reads - before.reads;
    }
  }
  result.conflicts = ipam.conflicts;
  emit(result);
  await kv.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`allocator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
