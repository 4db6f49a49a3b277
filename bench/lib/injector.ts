/**
 * The benchmark's BGP injector: one process, one eBGP session, N unique IPv4 /32s.
 *
 *   node dist/bench/lib/injector.js '<json InjectorJob>'
 *
 * Every UPDATE is encoded before the session comes up (one attribute set, ~810 /32s per
 * 4096-byte UPDATE, concatenated into large write chunks), so sending is only socket writes.
 * It waits for orders as signals, so that the runner decides when the clock starts:
 *   SIGUSR2  first time: announce all N (as fast as the socket takes them);
 *            second time: withdraw all N; and so on, alternating
 *   SIGTERM  Cease and exit
 * Reports JSON lines on stdout: prepared, established, sent {phase, tFirst, tLast, ...},
 * closed; times are wall-clock ms (clock.ts) shared with the monitor.
 */
import { once } from 'node:events';
import {
  AsPathSegmentType,
  createNlriList,
  encodeAttributes,
  ipv4FromString,
  Origin,
  packAnnouncements,
  packWithdrawals,
  wireFormat,
  type NlriList,
  type SessionWireFormat,
} from '../../src/bgp/wire/index.js';
import { nowMs } from './clock.js';
import { emit, jobFromArgv, openTransport, ProbeSession, type ProbeBgpOptions, type ProbeEndpoint } from './session.js';

export interface InjectorJob {
  endpoint: ProbeEndpoint;
  bgp: ProbeBgpOptions;
  /** Number of /32s. */
  n: number;
  /** First address; prefix i is base + i. */
  base: string;
  /** NEXT_HOP of every route (the injector's own address). */
  nextHop: string;
  /** Bytes per socket write (default 256 KiB). */
  chunkBytes?: number;
}

export interface Encoded {
  chunks: Buffer[];
  messages: number;
  bytes: number;
}

/** N consecutive /32s from base. */
export function hostPrefixes(base: number, n: number): NlriList {
  const list = createNlriList(1, n, false);
  for (let i = 0; i < n; i++) {
    list.addrs[i] = (base + i) >>> 0;
    list.lengths[i] = 32;
  }
  return list;
}

function concatInto(messages: Buffer[], chunkBytes: number): Encoded {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const m of messages) {
    pending.push(m);
    pendingBytes += m.length;
    bytes += m.length;
    if (pendingBytes >= chunkBytes) {
      chunks.push(Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pending.length > 0) chunks.push(Buffer.concat(pending, pendingBytes));
  return { chunks, messages: messages.length, bytes };
}

/** All announcements and all withdrawals of the job, for a given wire format. */
export function encodeJob(job: InjectorJob, wire: SessionWireFormat): { announce: Encoded; withdraw: Encoded } {
  const base = ipv4FromString(job.base);
  const nh = ipv4FromString(job.nextHop);
  if (base === null || nh === null) throw new Error(`injector: bad base ${job.base} or next hop ${job.nextHop}`);
  const prefixes = hostPrefixes(base, job.n);
  const attributes = encodeAttributes(
    { origin: Origin.IGP, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [job.bgp.localAsn] }], nextHop: nh },
    wire,
  );
  const chunkBytes = job.chunkBytes ?? 256 * 1024;
  return {
    announce: concatInto(packAnnouncements({ attributes, prefixes }, wire), chunkBytes),
    withdraw: concatInto(packWithdrawals({ prefixes }, wire), chunkBytes),
  };
}

async function main(): Promise<void> {
  const job = jobFromArgv<InjectorJob>();
  const t0 = nowMs();
  // Encoded for the usual outcome (both sides 4-octet AS, 4096-byte messages); encoded
  // again after the OPEN exchange only if the peer negotiated something else.
  const assumed = wireFormat({ as4: true });
  let encoded = encodeJob(job, assumed);
  emit({ event: 'prepared', t: nowMs(), ms: nowMs() - t0, messages: encoded.announce.messages, bytes: encoded.announce.bytes });

  const socket = await openTransport(job.endpoint);
  const session = new ProbeSession(socket, job.bgp, { onUpdate: () => undefined });
  let busy: Promise<void> = Promise.resolve();
  session.closed.then(() => {
    emit({ event: 'closed', t: nowMs() });
    process.exit(stopping ? 0 : 1);
  });
  await session.established;
  // UPDATEs stay within 4096 bytes even if the peer offers RFC 8654 extended messages: we
  // do not advertise the capability ourselves (FRR 8.4 resets a session that sends it
  // larger messages then), and every target gets the same stream.
  if (session.wire.as4 !== assumed.as4) {
    encoded = encodeJob(job, { ...session.wire, maxSendLength: assumed.maxSendLength });
    emit({ event: 'reencoded', t: nowMs(), as4: session.wire.as4 });
  }
  session.sendEndOfRib(); // our initial table is empty: routes come later, on order
  emit({ event: 'established', t: nowMs(), peerAs: session.peerOpen?.myAs });

  const send = async (phase: 'announce' | 'withdraw'): Promise<void> => {
    const { chunks, messages, bytes } = phase === 'announce' ? encoded.announce : encoded.withdraw;
    const tFirst = nowMs();
    for (let i = 0; i < chunks.length; i++) {
      const last = i === chunks.length - 1;
      const flushed = last ? new Promise<void>((resolve) => socket.write(chunks[i]!, () => resolve())) : null;
      if (flushed !== null) await flushed;
      else if (!socket.write(chunks[i]!)) await once(socket, 'drain');
    }
    emit({ event: 'sent', phase, tFirst, tLast: nowMs(), prefixes: job.n, messages, bytes });
  };
  // SIGUSR1 is left alone: Node reserves it for the inspector.
  const phases = ['announce', 'withdraw'] as const;
  let next = 0;
  process.on('SIGUSR2', () => {
    const phase = phases[next++ % phases.length]!;
    busy = busy.then(() => send(phase));
  });
  emit({ event: 'ready', t: nowMs() });
}

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  process.exit(0);
});

main().catch((err: unknown) => {
  emit({ event: 'fatal', t: nowMs(), message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
