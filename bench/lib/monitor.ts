/**
 * The benchmark's BGP monitor: one process, one eBGP session, counting what arrives.
 *
 *   node dist/bench/lib/monitor.js '<json MonitorJob>'
 *
 * It connects to the target (or, for the probes' floor, accepts the injector's session) and
 * keeps one byte of state per expected /32, indexed by its offset from the base address: no
 * object per prefix. It reports JSON lines on stdout:
 *   established; first-route {t}; all-present {t} when every one of the N prefixes is
 *   present; all-absent {t} when, after that, every one has been withdrawn; progress every
 *   second while counts change; counts on SIGUSR2 and at exit.
 * Times are wall-clock ms (clock.ts), comparable with the injector's.
 */
import { decodeMessage, ipv4FromString, type NlriList, type SessionWireFormat } from '../../src/bgp/wire/index.js';
import { nowMs } from './clock.js';
import { emit, jobFromArgv, openTransport, ProbeSession, type ProbeBgpOptions, type ProbeEndpoint } from './session.js';

export interface MonitorJob {
  endpoint: ProbeEndpoint;
  bgp: ProbeBgpOptions;
  n: number;
  base: string;
  /** Progress report interval, ms (default 1000). */
  progressMs?: number;
}

const ABSENT = 0;
const PRESENT = 1;
const WITHDRAWN = 2;

export interface MonitorCounts {
  updates: number;
  /** Prefix announcements received, repeats included. */
  announcements: number;
  /** Distinct expected prefixes announced at least once. */
  distinctAnnounced: number;
  /** Announcements of a prefix that was already present. */
  repeats: number;
  /** Expected prefixes present now. */
  present: number;
  /** Prefix withdrawals received, including of prefixes not present. */
  withdrawals: number;
  /** Distinct expected prefixes withdrawn while present. */
  distinctWithdrawn: number;
  /** Prefixes outside base .. base+N-1 or not /32 (announced or withdrawn). */
  outOfRange: number;
  endOfRib: number;
}

export class PrefixCounter {
  readonly state: Uint8Array;
  readonly counts: MonitorCounts = {
    updates: 0,
    announcements: 0,
    distinctAnnounced: 0,
    repeats: 0,
    present: 0,
    withdrawals: 0,
    distinctWithdrawn: 0,
    outOfRange: 0,
    endOfRib: 0,
  };
  private everSeen: Uint8Array;

  constructor(
    readonly base: number,
    readonly n: number,
  ) {
    this.state = new Uint8Array(n);
    this.everSeen = new Uint8Array(n);
  }

  announce(list: NlriList): void {
    const { addrs, lengths, count } = list;
    const c = this.counts;
    c.announcements += count;
    for (let i = 0; i < count; i++) {
      const off = ((addrs[i] as number) - this.base) >>> 0;
      if (off >= this.n || lengths[i] !== 32) {
        c.outOfRange++;
        continue;
      }
      if (this.state[off] === PRESENT) {
        c.repeats++;
        continue;
      }
      this.state[off] = PRESENT;
      c.present++;
      if (this.everSeen[off] === 0) {
        this.everSeen[off] = 1;
        c.distinctAnnounced++;
      }
    }
  }

  withdraw(list: NlriList): void {
    const { addrs, lengths, count } = list;
    const c = this.counts;
    c.withdrawals += count;
    for (let i = 0; i < count; i++) {
      const off = ((addrs[i] as number) - this.base) >>> 0;
      if (off >= this.n || lengths[i] !== 32) {
        c.outOfRange++;
        continue;
      }
      if (this.state[off] !== PRESENT) continue;
      this.state[off] = WITHDRAWN;
      c.present--;
      c.distinctWithdrawn++;
    }
  }

  /** Count one UPDATE; returns false if it did not decode. */
  update(msg: Buffer, wire: SessionWireFormat): boolean {
    const m = decodeMessage(msg, wire);
    if (m.type !== 'update') return false;
    const u = m.update;
    this.counts.updates++;
    if (u.withdrawn.count > 0) this.withdraw(u.withdrawn);
    if (u.announced.count > 0) this.announce(u.announced);
    if (u.mpUnreach?.nlri && u.mpUnreach.afi === 1) this.withdraw(u.mpUnreach.nlri);
    if (u.mpReach?.nlri && u.mpReach.afi === 1) this.announce(u.mpReach.nlri);
    if (u.withdrawn.count === 0 && u.announced.count === 0 && u.attributeBytes.length === 0) this.counts.endOfRib++;
    return true;
  }
}

async function main(): Promise<void> {
  const job = jobFromArgv<MonitorJob>();
  const base = ipv4FromString(job.base);
  if (base === null) throw new Error(`monitor: bad base ${job.base}`);
  const counter = new PrefixCounter(base, job.n);
  const c = counter.counts;
  let firstRoute = false;
  let allPresent = false;
  let allAbsent = false;
  let badUpdates = 0;

  const socket = await openTransport(job.endpoint);
  const session = new ProbeSession(socket, job.bgp, {
    onUpdate(msg, wire) {
      if (!counter.update(msg, wire)) badUpdates++;
      if (!firstRoute && c.announcements > 0) {
        firstRoute = true;
        emit({ event: 'first-route', t: nowMs() });
      }
      if (!allPresent && c.present === job.n) {
        allPresent = true;
        emit({ event: 'all-present', t: nowMs(), ...c });
      } else if (allPresent && !allAbsent && c.present === 0) {
        allAbsent = true;
        emit({ event: 'all-absent', t: nowMs(), ...c });
      }
    },
  });
  session.closed.then(() => {
    emit({ event: 'closed', t: nowMs(), ...c });
    process.exit(stopping ? 0 : 1);
  });
  const report = (event: string): void => emit({ event, t: nowMs(), badUpdates, ...c });
  process.on('SIGUSR2', () => report('counts'));
  onTerm = () => {
    report('counts');
    process.exit(0);
  };
  await session.established;
  session.sendEndOfRib();
  emit({ event: 'established', t: nowMs(), peerAs: session.peerOpen?.myAs });
  let last = '';
  setInterval(() => {
    const now = `${c.updates}/${c.present}/${c.withdrawals}`;
    if (now !== last) {
      last = now;
      report('progress');
    }
  }, job.progressMs ?? 1000).unref();
  // Keep the process alive while the session lasts.
  await session.closed;
}

let stopping = false;
let onTerm = (): void => process.exit(0);
process.on('SIGTERM', () => {
  stopping = true;
  onTerm();
});

main().catch((err: unknown) => {
  emit({ event: 'fatal', t: nowMs(), message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
