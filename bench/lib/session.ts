/**
 * Just enough BGP for the benchmark probes: OPEN (4-octet AS, IPv4 unicast), KEEPALIVE on a
 * timer of a third of the negotiated hold time, End-of-RIB, NOTIFICATION on the way out.
 * Not an FSM: no collision handling, no retries after a session has been up. The hold timer
 * is watched but only reported (a probe must never be the reason a slow target's run fails).
 * Built on tortie's codec; UPDATEs are handed to the caller as raw framed messages.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  Afi,
  decodeMessage,
  describeNotification,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  IPV4_UNICAST,
  MessageFramer,
  MessageType,
  negotiateWireFormat,
  PLAIN_WIRE_FORMAT,
  Safi,
  BGP_VERSION,
  myAsField,
  openAsn,
  type OpenMessage,
  type SessionWireFormat,
} from '../../src/bgp/wire/index.js';
import { nowMs } from './clock.js';

export interface ProbeEndpoint {
  /** 'connect' to address:port (retrying until connected), or 'listen' on it for one peer. */
  mode: 'connect' | 'listen';
  address: string;
  port: number;
  /** Source address for 'connect'. */
  localAddress?: string;
}

export interface ProbeBgpOptions {
  localAsn: number;
  /** Expected peer AS; any when left out. */
  peerAsn?: number;
  routerId: string;
  /** Hold time we offer, seconds (default 180). */
  holdTime?: number;
}

/** A JSON line on stdout: the probes' only report channel. */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function ipv4ToUint(text: string): number {
  const p = text.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
}

/** Connect with retries (the target may not listen yet), or accept one connection. */
export async function openTransport(ep: ProbeEndpoint, deadlineMs = 60_000): Promise<Socket> {
  if (ep.mode === 'listen') {
    return new Promise<Socket>((resolve, reject) => {
      const server: Server = createServer((sock) => {
        server.close();
        resolve(sock);
      });
      server.once('error', reject);
      server.listen(ep.port, ep.address);
    });
  }
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const sock = connect({ host: ep.address, port: ep.port, localAddress: ep.localAddress });
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          resolve(sock);
        });
        sock.once('error', (err) => {
          sock.destroy();
          reject(err);
        });
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface ProbeSessionHandlers {
  /** A whole UPDATE message (header included), in arrival order. */
  onUpdate(msg: Buffer, wire: SessionWireFormat): void;
  /** Called once per socket chunk, after its messages were handed out. */
  onChunkDone?(): void;
}

/**
 * One BGP session over an open socket. established resolves once both OPENs and the first
 * KEEPALIVE were exchanged; closed resolves when the socket ends.
 */
export class ProbeSession {
  readonly framer = new MessageFramer();
  wire: SessionWireFormat = PLAIN_WIRE_FORMAT;
  readonly ourOpen: OpenMessage;
  peerOpen: OpenMessage | null = null;
  isEstablished = false;
  readonly established: Promise<void>;
  readonly closed: Promise<string>;
  private resolveEstablished!: () => void;
  private rejectEstablished!: (err: Error) => void;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private holdTime = 0;
  private lastReceived = nowMs();

  constructor(
    readonly socket: Socket,
    readonly options: ProbeBgpOptions,
    private readonly handlers: ProbeSessionHandlers,
  ) {
    this.ourOpen = {
      version: BGP_VERSION,
      myAs: myAsField(options.localAsn),
      holdTime: options.holdTime ?? 180,
      bgpId: ipv4ToUint(options.routerId),
      capabilities: [
        { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
        { kind: 'route-refresh', code: 2 },
        { kind: 'four-octet-as', asn: options.localAsn },
      ],
    };
    this.established = new Promise((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    this.established.catch(() => undefined);
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.stopTimers();
        this.rejectEstablished(new Error('connection closed before the session was established'));
        resolve('closed');
      });
    });
    socket.on('error', (err) => emit({ event: 'socket-error', t: nowMs(), message: err.message }));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.write(encodeOpen(this.ourOpen));
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = nowMs();
    this.framer.push(chunk);
    for (;;) {
      const out = this.framer.next();
      if (out === null) break;
      if (out.kind === 'error') {
        this.fail(`framing: ${out.problem.reason}`, out.problem.code, out.problem.subcode);
        return;
      }
      if (out.type === MessageType.UPDATE) {
        if (!this.isEstablished) {
          this.fail('UPDATE before the session was established', 5, 0);
          return;
        }
        this.handlers.onUpdate(out.message, this.wire);
        continue;
      }
      const m = decodeMessage(out.message, this.wire);
      switch (m.type) {
        case 'open':
          this.onOpen(m.open);
          break;
        case 'keepalive':
          if (this.peerOpen !== null && !this.isEstablished) {
            this.isEstablished = true;
            this.resolveEstablished();
          }
          break;
        case 'notification':
          emit({ event: 'notification-received', t: nowMs(), what: describeNotification(m.notification.code, m.notification.subcode, m.notification.data) });
          this.socket.destroy();
          return;
        case 'route-refresh':
          break; // the probes keep no Adj-RIB-Out to resend
        case 'error':
          this.fail(m.problems[0]?.reason ?? 'bad message', m.problems[0]?.code ?? 1, m.problems[0]?.subcode ?? 0);
          return;
        default:
          break;
      }
    }
    this.handlers.onChunkDone?.();
  }

  private onOpen(open: OpenMessage): void {
    if (this.options.peerAsn !== undefined && openAsn(open) !== this.options.peerAsn) {
      this.fail(`peer AS ${openAsn(open)}, expected ${this.options.peerAsn}`, 2, 2);
      return;
    }
    this.peerOpen = open;
    this.wire = negotiateWireFormat(this.ourOpen, open);
    this.framer.setMaxLength(this.wire.maxReceiveLength);
    this.holdTime = Math.min(open.holdTime, this.ourOpen.holdTime);
    this.socket.write(encodeKeepalive());
    if (this.holdTime > 0) {
      const every = Math.max(1, Math.floor(this.holdTime / 3)) * 1000;
      this.keepaliveTimer = setInterval(() => this.socket.write(encodeKeepalive()), every);
      this.holdTimer = setInterval(() => {
        const silent = (nowMs() - this.lastReceived) / 1000;
        if (silent > this.holdTime) emit({ event: 'hold-time-exceeded', t: nowMs(), silentS: silent, holdTime: this.holdTime });
      }, 1000);
      this.keepaliveTimer.unref();
      this.holdTimer.unref();
    }
  }

  /** End-of-RIB for IPv4 unicast (an empty UPDATE). */
  sendEndOfRib(): void {
    this.socket.write(encodeEndOfRib(IPV4_UNICAST));
  }

  private fail(reason: string, code: number, subcode: number): void {
    emit({ event: 'session-error', t: nowMs(), reason });
    try {
      this.socket.end(encodeNotification({ code, subcode, data: Buffer.alloc(0) }));
    } catch {
      this.socket.destroy();
    }
  }

  private stopTimers(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.holdTimer) clearInterval(this.holdTimer);
  }

  /** Cease (6/2 administrative shutdown) and close. */
  close(): void {
    this.stopTimers();
    if (this.socket.destroyed) return;
    this.socket.end(encodeNotification({ code: 6, subcode: 2, data: Buffer.alloc(0) }));
  }
}

/** Arguments come as one JSON document in argv[2]. */
export function jobFromArgv<T>(): T {
  const text = process.argv[2];
  if (text === undefined) {
    process.stderr.write('usage: node probe.js \'<json job>\'\n');
    process.exit(2);
  }
  return JSON.parse(text) as T;
}
