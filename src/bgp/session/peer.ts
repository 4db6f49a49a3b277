/**
 * One configured BGP neighbour: the FSM (RFC 4271 §8) bound to real TCP connections.
 *
 * Each TCP connection has its own FSM, as RFC 4271 §6.8 describes: normally there is one,
 * but while both sides connect at once there are two until collision resolution keeps one.
 * The "primary" connection is the one that owns the peer's administrative life (start, stop,
 * reconnect back-off); a second, incoming connection only lives until the collision is
 * decided, and then either takes over or is dumped with Cease / Connection Collision.
 *
 * Messages are framed and decoded here; UPDATEs are handed to the owner (the speaker) as
 * decoded values with their RFC 7606 verdict, and the owner decides what enters the RIB.
 */
import type { Socket } from 'node:net';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../log/logger.js';
import {
  createFsm,
  describeNotification as describeFsmNotification,
  resolveCollision,
  step,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmStateName,
  type NegotiatedSession,
} from '../fsm/index.js';
import { connectBgp, setTtlSecurity } from '../sockopt/index.js';
import {
  ErrorCode,
  MessageFramer,
  PLAIN_WIRE_FORMAT,
  decodeMessage,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  endOfRibFamily,
  negotiateWireFormat,
  type FamilyKey,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
  type SessionWireFormat,
  type UpdateMessage,
  type WireAction,
  type WireProblem,
} from '../wire/index.js';
import { buildLocalOpen, toPeerOpen } from './open-message.js';
import { FsmTimers } from './timers.js';

export interface PeerSettings {
  address: string;
  port: number;
  localAddress?: string;
  md5Key?: string;
  ttlSecurityHops?: number;
  fsm: FsmConfig;
}

/** Everything about an Established session that the rest of the speaker needs, in one object. */
export interface EstablishedSession {
  negotiated: NegotiatedSession;
  wire: SessionWireFormat;
  localOpen: OpenMessage;
  peerOpen: OpenMessage;
  /** Our address and port on this connection (the next hop for next-hop-self). */
  localAddress: string;
  localPort: number;
  remotePort: number;
}

export interface SessionDown {
  reason: string;
  /** A NOTIFICATION went either way as the session ended (graceful restart does not apply). */
  notification: 'sent' | 'received' | null;
  /** We stopped it on purpose (ManualStop). */
  administrative: boolean;
}

export interface PeerEvents {
  established(peer: Peer, session: EstablishedSession): void;
  update(peer: Peer, update: UpdateMessage, action: WireAction | null, problems: readonly WireProblem[]): void;
  endOfRib(peer: Peer, family: FamilyKey): void;
  routeRefresh(peer: Peer, message: RouteRefreshMessage): void;
  down(peer: Peer, down: SessionDown): void;
  /** The socket drained: the owner may send more. */
  writable(peer: Peer): void;
  stateChange?(peer: Peer, from: FsmStateName, to: FsmStateName, reason: string): void;
}

type MessageKind = 'open' | 'update' | 'notification' | 'keepalive' | 'routeRefresh';
export type MessageCounters = Record<MessageKind, number>;

function zeroCounters(): MessageCounters {
  return { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
}

/** Strip the IPv4-mapped prefix a dual-stack listener reports. */
export function plainAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : (address ?? '');
}

/** One TCP connection and the FSM that runs on it. */
class Connection {
  fsm: FsmState;
  socket: Socket | null = null;
  framer = new MessageFramer();
  wire: SessionWireFormat = PLAIN_WIRE_FORMAT;
  peerOpen: OpenMessage | null = null;
  session: EstablishedSession | null = null;
  /** A connect() in flight for this connection, so that it can be abandoned. */
  connecting = false;
  notificationSeen: 'sent' | 'received' | null = null;
  readonly timers: FsmTimers;
  disposed = false;

  constructor(
    readonly side: 'outgoing' | 'incoming',
    config: FsmConfig,
    now: number,
    fire: (conn: Connection, event: FsmEvent) => void,
  ) {
    this.fsm = createFsm(config, now);
    this.timers = new FsmTimers((event) => fire(this, event));
  }
}

export class Peer {
  readonly received: MessageCounters = zeroCounters();
  readonly sent: MessageCounters = zeroCounters();
  /** Last NOTIFICATION or error, for status output. */
  lastError: string | null = null;
  /** The facts of the last Established session; kept after it ends (graceful restart needs them). */
  lastNegotiated: NegotiatedSession | null = null;
  private primary: Connection;
  private secondary: Connection | null = null;
  private readonly localOpen: OpenMessage;
  private readonly localOpenBytes: Buffer;
  private stopped = true;

  constructor(
    readonly settings: PeerSettings,
    private readonly events: PeerEvents,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.localOpen = buildLocalOpen(settings.fsm.open);
    this.localOpenBytes = encodeOpen(this.localOpen);
    this.primary = this.newConnection('outgoing');
  }

  get address(): string {
    return this.settings.address;
  }

  get state(): FsmStateName {
    return this.primary.fsm.name;
  }

  /** ms when the current state began. */
  get since(): number {
    return this.primary.fsm.since;
  }

  get session(): EstablishedSession | null {
    return this.primary.fsm.name === 'Established' ? this.primary.session : null;
  }

  /** Bytes waiting in the socket's send buffer (our side). */
  get pendingWriteBytes(): number {
    return this.primary.socket?.writableLength ?? 0;
  }

  start(): void {
    this.stopped = false;
    const passive = this.settings.fsm.passive === true;
    this.feed(this.primary, { type: passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart' });
  }

  /** Cease / Administrative Shutdown with an optional RFC 9003 message, and no restart. */
  stop(communication?: string): void {
    this.stopped = true;
    if (this.secondary) this.dispose(this.secondary, 'peer stopped');
    this.feed(this.primary, { type: 'ManualStop', communication });
  }

  /** Ends the session with Cease / `subcode` (e.g. 1, too many prefixes); it restarts after its back-off. */
  cease(subcode: number, communication?: string): void {
    this.feed(this.primary, { type: 'AutomaticStop', subcode, communication });
  }

  /** Closes everything at once (process exit): no NOTIFICATION, no events. */
  destroy(): void {
    for (const conn of [this.primary, this.secondary]) if (conn) this.dispose(conn, 'destroyed');
  }

  /**
   * Writes ready-made UPDATE messages. Returns false once the socket buffer is full; the
   * owner should wait for the `writable` event before sending more.
   */
  sendUpdates(messages: readonly Buffer[]): boolean {
    const conn = this.primary;
    const socket = conn.socket;
    if (conn.fsm.name !== 'Established' || socket === null || messages.length === 0) return socket !== null;
    let ok = true;
    socket.cork();
    for (const m of messages) ok = socket.write(m);
    socket.uncork();
    this.sent.update += messages.length;
    this.feed(conn, { type: 'UpdateSent' });
    if (!ok) this.feed(conn, { type: 'SendBuffer', empty: false });
    return ok;
  }

  sendRaw(message: Buffer, kind: MessageKind): void {
    const socket = this.primary.socket;
    if (socket === null) return;
    socket.write(message);
    this.sent[kind]++;
  }

  /** A connection the listener accepted from this peer's address. */
  acceptIncoming(socket: Socket): void {
    const primary = this.primary;
    const reject = (why: string, notification?: NotificationMessage) => {
      this.log.info({ peer: this.address, remote: socket.remotePort }, `incoming connection refused: ${why}`);
      if (notification) socket.end(encodeNotification(notification));
      else socket.destroy();
    };
    if (this.stopped) return reject('peer is administratively down');
    if (this.settings.ttlSecurityHops !== undefined) {
      try {
        setTtlSecurity(socket, this.settings.ttlSecurityHops);
      } catch (err) {
        return reject(`GTSM: ${errorMessage(err)}`);
      }
    }
    switch (primary.fsm.name) {
      case 'Established':
        // Unless collision detection in Established is on, the running session always wins.
        return reject('a session is already established', { code: ErrorCode.CEASE, subcode: 7, data: Buffer.alloc(0) });
      case 'Idle':
      case 'Connect':
      case 'Active': {
        // No connection of ours got as far as an OPEN: take the peer's.
        if (primary.connecting) primary.connecting = false;
        if (primary.fsm.name === 'Idle') {
          this.feed(primary, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
        }
        if (primary.socket) {
          primary.socket.destroy();
          primary.socket = null;
        }
        this.attach(primary, socket);
        this.feed(primary, { type: 'TcpConnectionConfirmed' });
        return;
      }
      case 'OpenSent':
      case 'OpenConfirm': {
        if (this.secondary) return reject('a second connection is already being set up');
        const conn = this.newConnection('incoming');
        this.secondary = conn;
        this.attach(conn, socket);
        this.feed(conn, { type: 'ManualStart_with_PassiveTcpEstablishment' });
        this.feed(conn, { type: 'TcpConnectionConfirmed' });
        return;
      }
    }
  }

  private newConnection(side: 'outgoing' | 'incoming'): Connection {
    const config: FsmConfig = side === 'incoming' ? { ...this.settings.fsm, passive: true, autoRestart: false } : this.settings.fsm;
    return new Connection(side, config, this.now(), (conn, event) => this.feed(conn, event));
  }

  private attach(conn: Connection, socket: Socket): void {
    conn.socket = socket;
    conn.framer = new MessageFramer();
    conn.wire = PLAIN_WIRE_FORMAT;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(conn, socket, chunk));
    socket.on('drain', () => {
      if (conn.socket !== socket) return;
      this.feed(conn, { type: 'SendBuffer', empty: true });
      if (conn === this.primary && conn.fsm.name === 'Established') this.events.writable(this);
    });
    socket.on('error', (err) => {
      if (conn.socket === socket) this.log.debug({ peer: this.address, err: err.message }, 'socket error');
    });
    socket.on('close', () => {
      if (conn.socket !== socket) return;
      conn.socket = null;
      if (!conn.disposed) this.feed(conn, { type: 'TcpConnectionFails' });
    });
  }

  /** Every complete message of this chunk, in order; the batch ends with the chunk. */
  private onData(conn: Connection, socket: Socket, chunk: Buffer): void {
    if (conn.socket !== socket) return;
    conn.framer.push(chunk);
    for (;;) {
      if (conn.socket !== socket) return; // an earlier message of this chunk ended the session
      const out = conn.framer.next();
      if (out === null) return;
      if (out.kind === 'error') {
        this.protocolError(conn, out.problem);
        return;
      }
      this.onMessage(conn, out.message);
    }
  }

  private onMessage(conn: Connection, raw: Buffer): void {
    const msg = decodeMessage(raw, conn.wire);
    switch (msg.type) {
      case 'open':
        this.received.open++;
        conn.peerOpen = msg.open;
        this.feed(conn, { type: 'BGPOpen', open: toPeerOpen(msg.open) });
        return;
      case 'keepalive':
        this.received.keepalive++;
        this.feed(conn, { type: 'KeepAliveMsg' });
        return;
      case 'notification': {
        this.received.notification++;
        const n = msg.notification;
        const text = describeFsmNotification(n.code, n.subcode, n.data);
        this.lastError = `received NOTIFICATION ${text}`;
        conn.notificationSeen = 'received';
        this.log.warn({ peer: this.address, code: n.code, subcode: n.subcode }, `received NOTIFICATION: ${text}`);
        const fsmNotification = { code: n.code, subcode: n.subcode, data: n.data };
        // Unsupported Version Number gets its own event (RFC 4271 §8.1.5, Event 24).
        const versionError = n.code === ErrorCode.OPEN_MESSAGE && n.subcode === 1;
        this.feed(conn, { type: versionError ? 'NotifMsgVerErr' : 'NotifMsg', notification: fsmNotification });
        return;
      }
      case 'route-refresh':
        this.received.routeRefresh++;
        if (conn.fsm.name === 'Established' && conn === this.primary) this.events.routeRefresh(this, msg.routeRefresh);
        return;
      case 'update': {
        this.received.update++;
        const established = conn.fsm.name === 'Established';
        this.feed(conn, { type: 'UpdateMsg' });
        if (!established || conn !== this.primary) return;
        if (msg.problems.length > 0) {
          for (const p of msg.problems) this.log.warn({ peer: this.address, action: p.action }, `RFC 7606 ${p.action}: ${p.reason}`);
        }
        const eor = msg.action === null ? endOfRibFamily(msg.update) : null;
        if (eor !== null) this.events.endOfRib(this, eor);
        else this.events.update(this, msg.update, msg.action, msg.problems);
        return;
      }
      case 'error':
        if (raw[18] === 2 /* UPDATE */) this.received.update++;
        this.protocolError(conn, msg.problems[0]!);
        return;
    }
  }

  /** A message that cannot be used: the FSM sends the NOTIFICATION the problem names. */
  private protocolError(conn: Connection, p: WireProblem): void {
    this.log.warn({ peer: this.address, code: p.code, subcode: p.subcode }, `malformed message: ${p.reason}`);
    const data = p.data ?? new Uint8Array();
    if (p.code === ErrorCode.MESSAGE_HEADER) this.feed(conn, { type: 'BGPHeaderErr', subcode: p.subcode, data });
    else if (p.code === ErrorCode.OPEN_MESSAGE) this.feed(conn, { type: 'BGPOpenMsgErr', subcode: p.subcode, data });
    else this.feed(conn, { type: 'UpdateMsgErr', subcode: p.subcode, data });
  }

  /** Runs one FSM event and carries out what the machine asks for, in order. */
  private feed(conn: Connection, event: FsmEvent): void {
    if (conn.disposed) return;
    const result = step(conn.fsm, event, this.now());
    conn.fsm = result.state;
    for (const action of result.actions) this.act(conn, action);
  }

  private act(conn: Connection, action: FsmAction): void {
    switch (action.type) {
      case 'send':
        return this.send(conn, action);
      case 'connect':
        return void this.connect(conn);
      case 'drop-connection':
        return this.dropConnection(conn);
      case 'start-timer':
        return conn.timers.start(action.timer, action.ms);
      case 'stop-timer':
        return conn.timers.stop(action.timer);
      case 'state-change':
        return this.onStateChange(conn, action.from, action.to, action.reason);
      case 'established':
        return this.onEstablished(conn, action.negotiated);
      case 'session-down':
        if (conn === this.primary) {
          this.events.down(this, {
            reason: action.reason,
            notification: conn.notificationSeen,
            administrative: this.stopped,
          });
        }
        conn.session = null;
        return;
    }
  }

  private send(conn: Connection, action: Extract<FsmAction, { type: 'send' }>): void {
    const socket = conn.socket;
    if (socket === null) return;
    const m = action.message;
    if (m.kind === 'open') {
      socket.write(this.localOpenBytes);
      this.sent.open++;
    } else if (m.kind === 'keepalive') {
      socket.write(encodeKeepalive());
      this.sent.keepalive++;
    } else {
      socket.write(encodeNotification({ code: m.code, subcode: m.subcode, data: Buffer.from(m.data) }));
      this.sent.notification++;
      conn.notificationSeen = 'sent';
      const text = describeFsmNotification(m.code, m.subcode, m.data);
      this.lastError = `sent NOTIFICATION ${text}`;
      this.log.warn({ peer: this.address, code: m.code, subcode: m.subcode }, `sent NOTIFICATION: ${text}`);
    }
  }

  private async connect(conn: Connection): Promise<void> {
    conn.connecting = true;
    const s = this.settings;
    let socket: Socket;
    try {
      socket = await connectBgp({
        address: s.address,
        port: s.port,
        localAddress: s.localAddress,
        md5Key: s.md5Key,
        ttlSecurityHops: s.ttlSecurityHops,
        timeoutMs: 5000,
      });
    } catch (err) {
      if (!conn.connecting || conn.disposed) return;
      conn.connecting = false;
      this.log.debug({ peer: this.address, err: errorMessage(err) }, 'connect failed');
      this.feed(conn, { type: 'TcpConnectionFails' });
      return;
    }
    if (!conn.connecting || conn.disposed || conn.socket !== null) {
      // Overtaken: the peer's own connection was taken meanwhile, or we stopped.
      socket.destroy();
      return;
    }
    conn.connecting = false;
    this.attach(conn, socket);
    this.feed(conn, { type: 'Tcp_CR_Acked' });
  }

  private dropConnection(conn: Connection): void {
    conn.connecting = false;
    const socket = conn.socket;
    conn.socket = null;
    if (socket) {
      // end() lets a NOTIFICATION written just before go out; destroy() if the peer stalls.
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }

  private onStateChange(conn: Connection, from: FsmStateName, to: FsmStateName, reason: string): void {
    if (conn !== this.primary) {
      this.log.debug({ peer: this.address, from, to }, `second connection: ${from} -> ${to} (${reason})`);
      if (to === 'OpenConfirm') this.resolveCollisionIfAny();
      if (to === 'Idle') this.dispose(conn, reason);
      return;
    }
    const level = to === 'Established' || from === 'Established' ? 'info' : 'debug';
    this.log[level]({ peer: this.address, from, to }, `${from} -> ${to}: ${reason}`);
    if (to === 'Idle' && from !== 'Idle' && !reason.startsWith('administrative')) this.lastError ??= reason;
    if (to === 'OpenConfirm') this.resolveCollisionIfAny();
    if (to === 'Connect' || to === 'Active') conn.notificationSeen = null;
    this.events.stateChange?.(this, from, to, reason);
  }

  /** RFC 4271 §6.8: with two connections, once the peer's identifier is known, keep one. */
  private resolveCollisionIfAny(): void {
    const second = this.secondary;
    if (second === null) return;
    const first = this.primary;
    const known = second.peerOpen ?? first.peerOpen;
    const bothOpening = (c: Connection) => c.fsm.name === 'OpenSent' || c.fsm.name === 'OpenConfirm';
    if (known === null || !bothOpening(first) || !bothOpening(second)) return;
    const open = toPeerOpen(known);
    const verdict = resolveCollision({
      localRouterId: this.settings.fsm.open.localRouterId,
      peerRouterId: open.bgpId,
      localAs: this.settings.fsm.open.localAs,
      peerAs: this.settings.fsm.open.peerAs ?? open.myAs,
    });
    const outgoing = first.side === 'outgoing' ? first : second;
    const incoming = outgoing === first ? second : first;
    const loser = verdict.close === 'outgoing' ? outgoing : incoming;
    const winner = loser === first ? second : first;
    this.log.info({ peer: this.address, keep: verdict.keep }, `connection collision: keeping the ${verdict.keep} connection`);
    this.feed(loser, { type: 'OpenCollisionDump' });
    this.dispose(loser, 'connection collision');
    this.primary = winner;
    this.secondary = null;
    if (winner.side === 'incoming') {
      // The survivor takes over the peer's life: it must restart by itself after errors.
      winner.fsm = { ...winner.fsm, config: this.settings.fsm, autoRestart: !this.stopped };
    }
  }

  private dispose(conn: Connection, why: string): void {
    if (conn.disposed) return;
    conn.disposed = true;
    conn.connecting = false;
    conn.timers.stopAll();
    if (conn.socket) {
      const socket = conn.socket;
      conn.socket = null;
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    if (conn === this.secondary) this.secondary = null;
    this.log.debug({ peer: this.address, side: conn.side }, `connection closed: ${why}`);
  }

  private onEstablished(conn: Connection, negotiated: NegotiatedSession): void {
    const socket = conn.socket!;
    const peerOpen = conn.peerOpen!;
    conn.wire = negotiateWireFormat(this.localOpen, peerOpen);
    conn.framer.setMaxLength(conn.wire.maxReceiveLength);
    conn.session = {
      negotiated,
      wire: conn.wire,
      localOpen: this.localOpen,
      peerOpen,
      localAddress: plainAddress(socket.localAddress),
      localPort: socket.localPort ?? 0,
      remotePort: socket.remotePort ?? 0,
    };
    if (this.secondary && this.secondary !== conn) this.dispose(this.secondary, 'the other connection is established');
    if (conn !== this.primary) {
      this.primary = conn;
      this.secondary = null;
    }
    this.lastError = null;
    this.lastNegotiated = negotiated;
    this.events.established(this, conn.session);
  }
}
