/**
 * Malformed UPDATEs through a live session with a real `tortie bgp run` process, on loopback.
 *
 * Each mutated message's fate is predicted by decoding it with the codec first:
 *  - a message the codec rejects must get the NOTIFICATION it names, and the connection ends;
 *  - one with RFC 7606 problems short of a reset must leave the session up, with one logged
 *    line per problem;
 *  - a clean one must simply be taken.
 * The speaker process must survive all of it and still answer on its control socket.
 * (The codec alone gets 20,000 mutations in test/unit/bgp/wire/fuzz.test.ts; this test is
 * about the live path: framing on a real socket, the FSM, the RIB and the log.)
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { callControl } from '../../../src/common/control-socket.js';
import type { PeerStatus } from '../../../src/bgp/speaker/speaker.js';
import {
  AddPathDirection,
  Afi,
  MessageFramer,
  Origin,
  Safi,
  decodeMessage,
  encodeAttributes,
  encodeKeepalive,
  encodeOpen,
  ipv4FromString,
  ipv6FromString,
  nlriFromStrings,
  packAnnouncements,
  packWithdrawals,
  wireFormat,
  type OpenMessage,
  type SessionWireFormat,
} from '../../../src/bgp/wire/index.js';
import { TORTIE_BIN } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';

const MUTATIONS = 2000;
const SPEAKER_AS = 65000;
const FUZZER_AS = 65002;
const FUZZER_ADDRESS = '127.0.0.2';

/** Deterministic PRNG (mulberry32), so that a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const FUZZER_OPEN: OpenMessage = {
  version: 4,
  myAs: FUZZER_AS,
  holdTime: 90,
  bgpId: ipv4FromString(FUZZER_ADDRESS)!,
  capabilities: [
    { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
    { kind: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST },
    { kind: 'four-octet-as', asn: FUZZER_AS },
    { kind: 'add-path', families: [{ afi: Afi.IPV4, safi: Safi.UNICAST, direction: AddPathDirection.RECEIVE }] },
  ],
};
/** What the speaker will decode our UPDATEs with: 4-octet AS, no ADD-PATH from us, 4096. */
const WIRE: SessionWireFormat = wireFormat({ as4: true });

/** Valid UPDATEs of several shapes to mutate. */
function seedUpdates(): Buffer[] {
  const attrs = encodeAttributes(
    {
      origin: Origin.IGP,
      asPath: [{ type: 2, asns: [FUZZER_AS, 65010] }],
      nextHop: ipv4FromString(FUZZER_ADDRESS)!,
      med: 5,
      communities: [(65002 << 16) | 7],
      largeCommunities: [{ globalAdmin: 65002, localData1: 1, localData2: 2 }],
    },
    WIRE,
  );
  const v4 = packAnnouncements({ attributes: attrs, prefixes: nlriFromStrings(Afi.IPV4, ['10.50.0.0/24', '10.50.1.1/32', '10.60.0.0/16']) }, WIRE);
  const v6attrs = encodeAttributes({ origin: Origin.EGP, asPath: [{ type: 2, asns: [FUZZER_AS] }] }, WIRE);
  const v6 = packAnnouncements(
    { attributes: v6attrs, prefixes: nlriFromStrings(Afi.IPV6, ['fd00:50::/48', 'fd00:51::1/128']), nextHop: ipv6FromString('fd00::2')! },
    WIRE,
  );
  const withdraw = packWithdrawals({ prefixes: nlriFromStrings(Afi.IPV4, ['10.50.0.0/24']) }, WIRE);
  return [...v4, ...v6, ...withdraw];
}

/** One mutation of the body (never the 19-byte header, whose length is kept right). */
function mutate(seed: Buffer, rnd: () => number): Buffer {
  let body = Buffer.from(seed.subarray(19));
  const kind = Math.floor(rnd() * 5);
  const at = () => Math.floor(rnd() * Math.max(1, body.length));
  if (kind === 0 || body.length === 0) {
    const i = at();
    if (body.length > 0) body[i] = (body[i]! ^ (1 << Math.floor(rnd() * 8))) & 0xff;
  } else if (kind === 1) {
    body[at()] = Math.floor(rnd() * 256);
  } else if (kind === 2) {
    body = body.subarray(0, at());
  } else if (kind === 3) {
    body = Buffer.concat([body, Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256)))]);
  } else {
    // Edit a length: the withdrawn length, the attribute section length, or a byte that is
    // likely an attribute's length (flags, type, LEN).
    const targets = [0, 1, 2 + body.readUInt16BE(0), 3 + body.readUInt16BE(0), 2 + body.readUInt16BE(0) + 2 + 2];
    const i = targets[Math.floor(rnd() * targets.length)]!;
    if (i < body.length) body[i] = (body[i]! + (rnd() < 0.5 ? 1 : -1) * (1 + Math.floor(rnd() * 3))) & 0xff;
  }
  const msg = Buffer.concat([seed.subarray(0, 19), body]);
  msg.writeUInt16BE(msg.length, 16);
  return msg;
}

type Predicted = { kind: 'clean' } | { kind: 'logged'; lines: number } | { kind: 'reset'; code: number; subcode: number };

function predict(msg: Buffer): Predicted {
  const d = decodeMessage(msg, WIRE);
  if (d.type === 'error') return { kind: 'reset', code: d.problems[0]!.code, subcode: d.problems[0]!.subcode };
  if (d.type === 'update' && d.problems.length > 0) return { kind: 'logged', lines: d.problems.length };
  return { kind: 'clean' };
}

/** A minimal BGP session from the fuzzer's side: OPEN, KEEPALIVE, then whatever we send. */
class FuzzSession {
  readonly framer = new MessageFramer(65535);
  readonly notifications: Buffer[] = [];
  closed = false;
  established = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      for (let out = this.framer.next(); out && out.kind === 'message'; out = this.framer.next()) {
        if (out.type === 1) socket.write(encodeKeepalive());
        if (out.type === 4) this.established = true;
        if (out.type === 3) this.notifications.push(Buffer.from(out.message));
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<FuzzSession> {
    const socket = connect({ host: '127.0.0.1', port, localAddress: FUZZER_ADDRESS });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const session = new FuzzSession(socket);
    socket.write(encodeOpen(FUZZER_OPEN));
    await waitFor(() => session.established || session.closed, { timeoutMs: 10_000, intervalMs: 5, what: 'the fuzz session to come up' });
    if (!session.established) throw new Error('the speaker closed the fuzz session during OPEN');
    return session;
  }
}

describe('malformed UPDATEs through a live tortie bgp run', function () {
  this.timeout(180_000);
  let dir: string;
  let child: ChildProcess;
  let port: number;
  let socketPath: string;
  let logFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-fuzz-'));
    port = await freePort();
    socketPath = join(dir, 'bgp.sock');
    logFile = join(dir, 'speaker.log');
    const config = {
      asn: SPEAKER_AS,
      routerId: '127.0.0.1',
      listen: { address: '127.0.0.1', port },
      peers: [{ address: FUZZER_ADDRESS, asn: FUZZER_AS, passive: true, families: ['ipv4', 'ipv6'], import: 'accept-all', export: 'accept-all', gracefulRestart: false }],
      control: { socket: socketPath },
    };
    writeFileSync(join(dir, 'bgp.yaml'), stringify(config));
    const { openSync } = await import('node:fs');
    const out = openSync(logFile, 'a');
    child = spawn(process.execPath, [TORTIE_BIN, 'bgp', 'run', '--config', join(dir, 'bgp.yaml')], {
      stdio: ['ignore', out, out],
      env: { ...process.env, TORTIE_LOG_FORMAT: 'json' },
    });
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`speaker exited: ${readFileSync(logFile, 'utf8').slice(-500)}`);
      return callControl(socketPath, 'GET', '/peers');
    }, { timeoutMs: 15_000, what: 'the speaker to answer' });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const rfc7606Lines = () => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('RFC 7606')).length;

  it(`takes ${MUTATIONS} mutated UPDATEs: every reset is the predicted NOTIFICATION, every other problem is logged, and it never crashes`, async () => {
    const rnd = prng(0x7071e);
    const seeds = seedUpdates();
    let session = await FuzzSession.open(port);
    const tally = { clean: 0, logged: 0, reset: 0 };
    let expectedLines = rfc7606Lines();

    for (let i = 0; i < MUTATIONS; i++) {
      const msg = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
      const p = predict(msg);
      tally[p.kind]++;
      session.socket.write(msg);
      if (p.kind === 'logged') expectedLines += p.lines;
      if (p.kind !== 'reset') continue;

      await waitFor(() => session.closed, { timeoutMs: 10_000, intervalMs: 2, what: `the speaker to end the session after mutation ${i}` });
      const n = session.notifications.at(-1);
      expect(n, `mutation ${i} (${msg.toString('hex')}): no NOTIFICATION`).to.not.equal(undefined);
      expect([n![19], n![20]], `mutation ${i} (${msg.toString('hex')})`).to.deep.equal([p.code, p.subcode]);
      session = await FuzzSession.open(port);
    }

    // Everything sent so far has been read: a KEEPALIVE round trip through the same socket
    // would not prove it, the control API's counters do.
    await waitFor(async () => {
      const [peer] = await callControl<PeerStatus[]>(socketPath, 'GET', '/peers');
      return peer!.state === 'Established' && rfc7606Lines() >= expectedLines;
    }, { timeoutMs: 10_000, what: 'the speaker to log every RFC 7606 action' });
    expect(rfc7606Lines()).to.equal(expectedLines);
    expect(child.exitCode).to.equal(null);
    expect(tally.reset).to.be.greaterThan(50);
    expect(tally.logged).to.be.greaterThan(50);
    expect(tally.clean).to.be.greaterThan(10);
    session.socket.destroy();
  });
});
