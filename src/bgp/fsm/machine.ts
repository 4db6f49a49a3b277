/**
 * The BGP finite state machine of RFC 4271 §8, as a pure transition function:
 *
 *   step(state, event, now) -> { state, actions }
 *
 * No timers, sockets or clocks inside: `now` (ms) is injected, timers are deadlines in the
 * state and `start-timer`/`stop-timer` actions for the session layer, which calls step() again
 * with the matching *_Expires event. Same inputs, same outputs.
 *
 * Beyond RFC 4271: RFC 6608 FSM error subcodes, RFC 9687 send hold timer, RFC 9003 shutdown
 * communication, and an IdleHold back-off for automatic restarts (peer oscillation damping,
 * §8.1.1), doubled on each failure up to a cap and reset once a session was stable.
 *
 * Choices where RFC 4271 leaves options open (§8.1.1 optional attributes):
 *  - SendNOTIFICATIONwithoutOPEN: true. Header/OPEN errors found before our OPEN went out are
 *    still reported to the peer; it costs nothing and helps whoever debugs the other side.
 *  - A NOTIFICATION is never answered with one (RFC 4271 §6.4); NotifMsg in OpenSent goes
 *    to Idle without the FSM error the §8 table lists.
 *  - BGPHeaderErr always sends its own Message Header Error, also in Established.
 *  - Timer expiries for a timer that is not running (or was restarted since) are stale
 *    callbacks and are ignored, rather than being "any other event".
 *  - A passive peer (config.passive) never initiates: ConnectRetry expiry in Active restarts
 *    the timer and stays in Active.
 */
import {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  describeNotification,
  encodeShutdownCommunication,
  notification,
  type Notification,
} from './notification.js';
import { validateOpen, type NegotiatedSession, type OpenPolicy, type PeerOpen } from './open.js';

export type FsmStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold' | 'SendHold';

export interface FsmConfig {
  open: OpenPolicy;
  /** Never initiate connections; wait for the peer (Calico's passive peers). */
  passive?: boolean;
  /** Default 120 s (RFC 4271 §10). */
  connectRetrySec?: number;
  /** Hold time while waiting for the peer's OPEN; default 240 s (RFC 4271 §8). */
  largeHoldSec?: number;
  /** DelayOpen: wait this long for the peer's OPEN before sending ours; 0 or unset = off. */
  delayOpenSec?: number;
  /** Restart by itself after an error (not after ManualStop); default true. */
  autoRestart?: boolean;
  /** IdleHold back-off: first wait, doubled per consecutive failure up to the cap. */
  idleHoldInitialSec?: number;
  idleHoldMaxSec?: number;
  /** A session that stayed Established this long resets the back-off; default 60 s. */
  idleHoldResetAfterSec?: number;
  /** RFC 9687 send hold time; default max(480 s, 2 x negotiated hold time). */
  sendHoldSec?: number;
  /** Also detect collisions with an Established session (RFC 4271 §6.8 option). */
  collisionDetectEstablished?: boolean;
}

export interface FsmState {
  readonly config: FsmConfig;
  readonly name: FsmStateName;
  /** ms of the last state change. */
  readonly since: number;
  readonly connectRetryCounter: number;
  /** Deadlines (ms) of the running timers. */
  readonly timers: Readonly<Partial<Record<TimerName, number>>>;
  /** The next IdleHold wait, seconds. */
  readonly idleHoldSec: number;
  /** False after ManualStop: no automatic restart until the next start event. */
  readonly autoRestart: boolean;
  /** Negotiated from the peer's OPEN, waiting for its KEEPALIVE (OpenConfirm). */
  readonly pending?: NegotiatedSession;
  /** Set in Established only. */
  readonly negotiated?: NegotiatedSession;
  readonly establishedAt?: number;
  /** Why the session last went down, for status output. */
  readonly lastError?: string;
}

export type OutgoingMessage =
  | { kind: 'open' }
  | { kind: 'keepalive' }
  | ({ kind: 'notification' } & Notification);

export type FsmAction =
  | { type: 'send'; message: OutgoingMessage }
  | { type: 'connect' }
  | { type: 'drop-connection' }
  | { type: 'start-timer'; timer: TimerName; ms: number }
  | { type: 'stop-timer'; timer: TimerName }
  | { type: 'state-change'; from: FsmStateName; to: FsmStateName; reason: string }
  | { type: 'established'; negotiated: NegotiatedSession }
  | { type: 'session-down'; reason: string };

/** Events of RFC 4271 §8.1 (numbers in comments), plus SendHold (RFC 9687). */
export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop'; communication?: string } // 2
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { type: 'AutomaticStart_with_DampPeerOscillations' } // 6
  | { type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' } // 7
  | { type: 'AutomaticStop'; subcode?: number; communication?: string } // 8
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'DelayOpenTimer_Expires' } // 12
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'TcpConnection_Valid' } // 14
  | { type: 'Tcp_CR_Invalid' } // 15
  | { type: 'Tcp_CR_Acked' } // 16
  | { type: 'TcpConnectionConfirmed' } // 17
  | { type: 'TcpConnectionFails' } // 18
  | { type: 'BGPOpen'; open: PeerOpen } // 19, or 20 when DelayOpen is running
  | { type: 'BGPOpen_with_DelayOpenTimer_running'; open: PeerOpen } // 20
  | { type: 'BGPHeaderErr'; subcode: number; data?: Uint8Array } // 21
  | { type: 'BGPOpenMsgErr'; subcode: number; data?: Uint8Array } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr'; notification: Notification } // 24
  | { type: 'NotifMsg'; notification: Notification } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27
  | { type: 'UpdateMsgErr'; subcode: number; data?: Uint8Array } // 28
  | { type: 'SendHoldTimer_Expires' } // RFC 9687
  /** The session's send buffer: empty, or holding data (reported again whenever it drains some). */
  | { type: 'SendBuffer'; empty: boolean }
  /** We sent an UPDATE: it counts as a sign of life, so the KeepaliveTimer restarts (§8.2.2). */
  | { type: 'UpdateSent' };

export type FsmEventType = FsmEvent['type'];

export interface StepResult {
  state: FsmState;
  actions: FsmAction[];
}

const DEFAULTS = {
  connectRetrySec: 120,
  largeHoldSec: 240,
  idleHoldInitialSec: 5,
  idleHoldMaxSec: 120,
  idleHoldResetAfterSec: 60,
  minSendHoldSec: 480,
};

export function createFsm(config: FsmConfig, now: number): FsmState {
  return {
    config,
    name: 'Idle',
    since: now,
    connectRetryCounter: 0,
    timers: {},
    idleHoldSec: config.idleHoldInitialSec ?? DEFAULTS.idleHoldInitialSec,
    autoRestart: config.autoRestart ?? true,
  };
}

const TIMER_OF_EVENT: Partial<Record<FsmEventType, TimerName>> = {
  ConnectRetryTimer_Expires: 'ConnectRetry',
  HoldTimer_Expires: 'Hold',
  KeepaliveTimer_Expires: 'Keepalive',
  DelayOpenTimer_Expires: 'DelayOpen',
  IdleHoldTimer_Expires: 'IdleHold',
  SendHoldTimer_Expires: 'SendHold',
};

/** Node may run a timer callback up to a millisecond early. */
const TIMER_SLACK_MS = 1;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One transition in progress: a mutable copy of the state and the actions so far. */
class Transition {
  readonly s: Mutable<FsmState>;
  readonly timers: Partial<Record<TimerName, number>>;
  readonly actions: FsmAction[] = [];

  constructor(
    from: FsmState,
    readonly now: number,
  ) {
    this.timers = { ...from.timers };
    this.s = { ...from, timers: this.timers };
  }

  get cfg(): FsmConfig {
    return this.s.config;
  }

  running(timer: TimerName): boolean {
    return this.timers[timer] !== undefined;
  }

  startTimer(timer: TimerName, sec: number): void {
    const ms = Math.round(sec * 1000);
    this.timers[timer] = this.now + ms;
    this.actions.push({ type: 'start-timer', timer, ms });
  }

  stopTimer(timer: TimerName): void {
    if (this.timers[timer] === undefined) return;
    delete this.timers[timer];
    this.actions.push({ type: 'stop-timer', timer });
  }

  stopAllTimers(except?: TimerName): void {
    for (const t of Object.keys(this.timers) as TimerName[]) if (t !== except) this.stopTimer(t);
  }

  send(message: OutgoingMessage): void {
    this.actions.push({ type: 'send', message });
  }

  notify(n: Notification): void {
    this.send({ kind: 'notification', ...n });
  }

  goto(to: FsmStateName, reason: string): void {
    if (to === this.s.name) return;
    this.actions.push({ type: 'state-change', from: this.s.name, to, reason });
    this.s.name = to;
    this.s.since = this.now;
  }

  result(): StepResult {
    return { state: this.s, actions: this.actions };
  }
}

/**
 * Feeds one event to the machine. Returns the next state and what the session layer must do,
 * in order. The input state is not modified.
 */
export function step(state: FsmState, event: FsmEvent, now: number): StepResult {
  const timer = TIMER_OF_EVENT[event.type];
  if (timer !== undefined) {
    const deadline = state.timers[timer];
    // A stale callback of a timer stopped or restarted since: not an event at all.
    if (deadline === undefined || now + TIMER_SLACK_MS < deadline) return { state, actions: [] };
  }
  // Only Established sends UPDATEs; anywhere else the report is meaningless, not an FSM error.
  if (event.type === 'UpdateSent' && state.name !== 'Established') return { state, actions: [] };
  const t = new Transition(state, now);
  if (timer !== undefined) delete t.timers[timer]; // it fired: no longer running
  switch (state.name) {
    case 'Idle':
      idle(t, event);
      break;
    case 'Connect':
    case 'Active':
      connectOrActive(t, event);
      break;
    case 'OpenSent':
      openSent(t, event);
      break;
    case 'OpenConfirm':
      openConfirm(t, event);
      break;
    case 'Established':
      established(t, event);
      break;
  }
  return t.result();
}

// ---------------------------------------------------------------------------------------
// Shared pieces

function isStart(e: FsmEvent): boolean {
  return (
    e.type === 'ManualStart' ||
    e.type === 'AutomaticStart' ||
    e.type === 'ManualStart_with_PassiveTcpEstablishment' ||
    e.type === 'AutomaticStart_with_PassiveTcpEstablishment' ||
    e.type === 'AutomaticStart_with_DampPeerOscillations' ||
    e.type === 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment'
  );
}

function isPassiveStart(e: FsmEvent): boolean {
  return e.type.includes('PassiveTcpEstablishment');
}

/** Leaves Idle: active connect (Connect) or wait for the peer (Active). */
function start(t: Transition, passive: boolean, reason: string): void {
  t.stopTimer('IdleHold');
  t.startTimer('ConnectRetry', t.cfg.connectRetrySec ?? DEFAULTS.connectRetrySec);
  if (passive) {
    t.goto('Active', reason);
  } else {
    t.actions.push({ type: 'connect' });
    t.goto('Connect', reason);
  }
}

interface ToIdle {
  reason: string;
  /** RFC 4271: ManualStop resets the ConnectRetryCounter, errors increment it. */
  counter: 'reset' | 'increment' | 'keep';
  notification?: Notification;
  /** Schedule an automatic restart (IdleHold) if automatic restarts are on. */
  restart: boolean;
}

/** The common way down: NOTIFICATION (if any), timers off, TCP closed, routes gone, Idle. */
function toIdle(t: Transition, how: ToIdle): void {
  const from = t.s.name;
  if (how.notification) t.notify(how.notification);
  t.stopAllTimers();
  t.actions.push({ type: 'drop-connection' });
  if (from === 'Established') t.actions.push({ type: 'session-down', reason: how.reason });

  if (how.counter === 'reset') t.s.connectRetryCounter = 0;
  else if (how.counter === 'increment') t.s.connectRetryCounter += 1;

  const initial = t.cfg.idleHoldInitialSec ?? DEFAULTS.idleHoldInitialSec;
  const stableFor = t.s.establishedAt === undefined ? 0 : t.now - t.s.establishedAt;
  if (from === 'Established' && stableFor >= (t.cfg.idleHoldResetAfterSec ?? DEFAULTS.idleHoldResetAfterSec) * 1000) {
    t.s.idleHoldSec = initial;
  }
  if (how.restart && t.s.autoRestart) {
    // Peer oscillation damping: each consecutive failure doubles the wait, up to the cap.
    t.startTimer('IdleHold', t.s.idleHoldSec);
    t.s.idleHoldSec = Math.min(t.s.idleHoldSec * 2, t.cfg.idleHoldMaxSec ?? DEFAULTS.idleHoldMaxSec);
  }

  t.s.pending = undefined;
  t.s.negotiated = undefined;
  t.s.establishedAt = undefined;
  t.s.lastError = how.reason;
  t.goto('Idle', how.reason);
}

function stopNotification(e: { communication?: string }, subcode: number): Notification {
  const data = e.communication !== undefined ? encodeShutdownCommunication(e.communication) : new Uint8Array();
  return notification(ErrorCode.Cease, subcode, data);
}

function manualStop(t: Transition, e: Extract<FsmEvent, { type: 'ManualStop' }>, withNotification: boolean): void {
  t.s.autoRestart = false;
  const n = withNotification ? stopNotification(e, CeaseSubcode.AdministrativeShutdown) : undefined;
  toIdle(t, {
    reason: e.communication ? `administrative shutdown: ${JSON.stringify(e.communication)}` : 'administrative shutdown',
    counter: 'reset',
    notification: n,
    restart: false,
  });
}

function automaticStop(t: Transition, e: Extract<FsmEvent, { type: 'AutomaticStop' }>, withNotification: boolean): void {
  const n = stopNotification(e, e.subcode ?? 0);
  toIdle(t, {
    reason: `automatic stop: ${describeNotification(n.code, n.subcode, n.data)}`,
    counter: 'increment',
    notification: withNotification ? n : undefined,
    restart: true,
  });
}

function sentReason(n: Notification): string {
  return `sent NOTIFICATION ${describeNotification(n.code, n.subcode, n.data)}`;
}

function receivedReason(n: Notification): string {
  return `received NOTIFICATION ${describeNotification(n.code, n.subcode, n.data)}`;
}

function errorToIdle(t: Transition, n: Notification): void {
  toIdle(t, { reason: sentReason(n), counter: 'increment', notification: n, restart: true });
}

function holdExpired(t: Transition): void {
  errorToIdle(t, notification(ErrorCode.HoldTimerExpired));
}

function sendHoldExpired(t: Transition): void {
  // The NOTIFICATION will likely not get through a full buffer; it is sent best effort.
  errorToIdle(t, notification(ErrorCode.SendHoldTimerExpired));
}

function sendHoldSec(t: Transition): number {
  if (t.cfg.sendHoldSec !== undefined) return t.cfg.sendHoldSec;
  const hold = t.s.negotiated?.holdTimeSec ?? t.s.pending?.holdTimeSec ?? t.cfg.open.holdTimeSec;
  return Math.max(DEFAULTS.minSendHoldSec, 2 * hold);
}

/** RFC 9687: a buffer that makes no progress for the send hold time means a stuck peer. */
function sendBuffer(t: Transition, empty: boolean): void {
  if (empty) t.stopTimer('SendHold');
  else t.startTimer('SendHold', sendHoldSec(t));
}

function headerError(t: Transition, e: { subcode: number; data?: Uint8Array }): void {
  errorToIdle(t, notification(ErrorCode.MessageHeader, e.subcode, e.data));
}

function openMsgError(t: Transition, e: { subcode: number; data?: Uint8Array }): void {
  errorToIdle(t, notification(ErrorCode.OpenMessage, e.subcode, e.data));
}

function fsmError(t: Transition, subcode: number): void {
  errorToIdle(t, notification(ErrorCode.FsmError, subcode));
}

/** Sends our OPEN and waits for the peer's under the large hold time. */
function sendOpen(t: Transition, reason: string): void {
  t.stopTimer('ConnectRetry');
  t.stopTimer('DelayOpen');
  t.send({ kind: 'open' });
  t.startTimer('Hold', t.cfg.largeHoldSec ?? DEFAULTS.largeHoldSec);
  t.goto('OpenSent', reason);
}

/** The peer's OPEN arrived; validate it, and KEEPALIVE it into OpenConfirm. */
function receiveOpen(t: Transition, open: PeerOpen, delayed: boolean): void {
  const verdict = validateOpen(open, t.cfg.open);
  if (!verdict.ok) {
    toIdle(t, {
      reason: `${verdict.reason}; ${sentReason(verdict.notification)}`,
      counter: 'increment',
      notification: verdict.notification,
      restart: true,
    });
    return;
  }
  const negotiated = verdict.negotiated;
  t.stopTimer('ConnectRetry');
  t.stopTimer('DelayOpen');
  if (delayed) t.send({ kind: 'open' }); // DelayOpen: our OPEN was held back until now
  t.send({ kind: 'keepalive' });
  if (negotiated.holdTimeSec > 0) {
    t.startTimer('Keepalive', negotiated.keepaliveSec);
    t.startTimer('Hold', negotiated.holdTimeSec);
  } else {
    t.stopTimer('Keepalive');
    t.stopTimer('Hold');
  }
  t.s.pending = negotiated;
  t.goto('OpenConfirm', 'OPEN accepted');
}

function restartHold(t: Transition, session: NegotiatedSession | undefined): void {
  if (session && session.holdTimeSec > 0) t.startTimer('Hold', session.holdTimeSec);
}

function sendKeepalive(t: Transition, session: NegotiatedSession | undefined): void {
  t.send({ kind: 'keepalive' });
  if (session && session.keepaliveSec > 0) t.startTimer('Keepalive', session.keepaliveSec);
}

// ---------------------------------------------------------------------------------------
// States (RFC 4271 §8.2.2)

function idle(t: Transition, e: FsmEvent): void {
  if (isStart(e)) {
    const manual = e.type.startsWith('Manual');
    if (manual) {
      t.s.autoRestart = t.cfg.autoRestart ?? true;
      t.s.connectRetryCounter = 0;
      t.s.idleHoldSec = t.cfg.idleHoldInitialSec ?? DEFAULTS.idleHoldInitialSec;
    }
    const passive = isPassiveStart(e) || (t.cfg.passive ?? false);
    const damp = e.type.includes('DampPeerOscillations');
    if (damp && t.s.connectRetryCounter > 0) {
      // Peer oscillation damping: a peer that failed before waits out its IdleHold first.
      if (!t.running('IdleHold')) {
        t.startTimer('IdleHold', t.s.idleHoldSec);
        t.s.idleHoldSec = Math.min(t.s.idleHoldSec * 2, t.cfg.idleHoldMaxSec ?? DEFAULTS.idleHoldMaxSec);
      }
      return;
    }
    start(t, passive, e.type);
    return;
  }
  switch (e.type) {
    case 'IdleHoldTimer_Expires':
      start(t, t.cfg.passive ?? false, 'IdleHold timer expired: automatic restart');
      return;
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // An Idle peer refuses connections.
      t.actions.push({ type: 'drop-connection' });
      return;
    default:
      // RFC 4271: any other event leaves Idle unchanged (ManualStop included).
      return;
  }
}

/** Connect and Active differ in a few events only (RFC 4271 §8.2.2). */
function connectOrActive(t: Transition, e: FsmEvent): void {
  const inConnect = t.s.name === 'Connect';
  if (isStart(e)) return;
  switch (e.type) {
    case 'ManualStop':
      return manualStop(t, e, false);
    case 'AutomaticStop':
      return automaticStop(t, e, false);
    case 'ConnectRetryTimer_Expires':
      t.stopTimer('DelayOpen');
      t.startTimer('ConnectRetry', t.cfg.connectRetrySec ?? DEFAULTS.connectRetrySec);
      if (t.cfg.passive) return; // a passive peer keeps waiting in Active
      if (inConnect) t.actions.push({ type: 'drop-connection' });
      t.actions.push({ type: 'connect' });
      t.goto('Connect', 'ConnectRetry timer expired');
      return;
    case 'DelayOpenTimer_Expires':
      return sendOpen(t, 'DelayOpen timer expired');
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
      // The session layer accepts or rejects the connection; no state change.
      return;
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (t.cfg.delayOpenSec) {
        t.stopTimer('ConnectRetry');
        t.startTimer('DelayOpen', t.cfg.delayOpenSec);
        return;
      }
      return sendOpen(t, 'TCP connection established');
    case 'TcpConnectionFails':
      if (inConnect && t.running('DelayOpen')) {
        t.startTimer('ConnectRetry', t.cfg.connectRetrySec ?? DEFAULTS.connectRetrySec);
        t.stopTimer('DelayOpen');
        t.goto('Active', 'TCP connection failed');
        return;
      }
      return toIdle(t, { reason: 'TCP connection failed', counter: inConnect ? 'keep' : 'increment', restart: true });
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
      if (t.running('DelayOpen')) return receiveOpen(t, e.open, true);
      return toIdle(t, { reason: 'OPEN received before the connection was set up', counter: 'increment', restart: true });
    case 'BGPHeaderErr':
      return headerError(t, e);
    case 'BGPOpenMsgErr':
      return openMsgError(t, e);
    case 'NotifMsgVerErr':
      return toIdle(t, {
        reason: receivedReason(e.notification),
        counter: t.running('DelayOpen') ? 'keep' : 'increment',
        restart: true,
      });
    case 'SendBuffer':
      return;
    default:
      // Events 8, 10-11, 13, 19 without DelayOpen, 23, 25-28.
      return toIdle(t, { reason: eventReason(e), counter: 'increment', restart: true });
  }
}

function openSent(t: Transition, e: FsmEvent): void {
  if (isStart(e)) return;
  switch (e.type) {
    case 'ManualStop':
      return manualStop(t, e, true);
    case 'AutomaticStop':
      return automaticStop(t, e, true);
    case 'HoldTimer_Expires':
      return holdExpired(t);
    case 'SendHoldTimer_Expires':
      return sendHoldExpired(t);
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      // A second connection: the session layer tracks it for collision detection.
      return;
    case 'TcpConnectionFails':
      t.stopAllTimers();
      t.actions.push({ type: 'drop-connection' });
      t.startTimer('ConnectRetry', t.cfg.connectRetrySec ?? DEFAULTS.connectRetrySec);
      t.goto('Active', 'TCP connection failed');
      return;
    case 'BGPOpen':
      return receiveOpen(t, e.open, false);
    case 'BGPHeaderErr':
      return headerError(t, e);
    case 'BGPOpenMsgErr':
      return openMsgError(t, e);
    case 'OpenCollisionDump':
      return errorToIdle(t, notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
    case 'NotifMsgVerErr':
      return toIdle(t, { reason: receivedReason(e.notification), counter: 'keep', restart: true });
    case 'NotifMsg':
      return toIdle(t, { reason: receivedReason(e.notification), counter: 'increment', restart: true });
    case 'SendBuffer':
      return sendBuffer(t, e.empty);
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
      return fsmError(t, FsmSubcode.UnexpectedMessageInOpenSent);
    default:
      // Timer events 9, 11-13 (only when such a timer somehow runs).
      return fsmError(t, FsmSubcode.Unspecified);
  }
}

function openConfirm(t: Transition, e: FsmEvent): void {
  if (isStart(e)) return;
  switch (e.type) {
    case 'ManualStop':
      return manualStop(t, e, true);
    case 'AutomaticStop':
      return automaticStop(t, e, true);
    case 'HoldTimer_Expires':
      return holdExpired(t);
    case 'SendHoldTimer_Expires':
      return sendHoldExpired(t);
    case 'KeepaliveTimer_Expires':
      return sendKeepalive(t, t.s.pending);
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return;
    case 'TcpConnectionFails':
      return toIdle(t, { reason: 'TCP connection failed', counter: 'increment', restart: true });
    case 'NotifMsg':
      return toIdle(t, { reason: receivedReason(e.notification), counter: 'increment', restart: true });
    case 'NotifMsgVerErr':
      return toIdle(t, { reason: receivedReason(e.notification), counter: 'keep', restart: true });
    case 'BGPHeaderErr':
      return headerError(t, e);
    case 'BGPOpenMsgErr':
      return openMsgError(t, e);
    case 'OpenCollisionDump':
      return errorToIdle(t, notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
    case 'KeepAliveMsg': {
      const negotiated = t.s.pending!;
      restartHold(t, negotiated);
      t.s.negotiated = negotiated;
      t.s.pending = undefined;
      t.s.establishedAt = t.now;
      t.s.lastError = undefined;
      t.actions.push({ type: 'established', negotiated });
      t.goto('Established', 'KEEPALIVE received');
      return;
    }
    case 'SendBuffer':
      return sendBuffer(t, e.empty);
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
      return fsmError(t, FsmSubcode.UnexpectedMessageInOpenConfirm);
    default:
      return fsmError(t, FsmSubcode.Unspecified);
  }
}

function established(t: Transition, e: FsmEvent): void {
  if (isStart(e)) return;
  const session = t.s.negotiated;
  switch (e.type) {
    case 'ManualStop':
      return manualStop(t, e, true);
    case 'AutomaticStop':
      return automaticStop(t, e, true);
    case 'HoldTimer_Expires':
      return holdExpired(t);
    case 'SendHoldTimer_Expires':
      return sendHoldExpired(t);
    case 'KeepaliveTimer_Expires':
      return sendKeepalive(t, session);
    case 'UpdateSent':
      if (session && session.keepaliveSec > 0) t.startTimer('Keepalive', session.keepaliveSec);
      return;
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return;
    case 'OpenCollisionDump':
      return errorToIdle(t, notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
    case 'TcpConnectionFails':
      return toIdle(t, { reason: 'TCP connection failed', counter: 'increment', restart: true });
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return toIdle(t, { reason: receivedReason(e.notification), counter: 'increment', restart: true });
    case 'KeepAliveMsg':
    case 'UpdateMsg':
      return restartHold(t, session);
    case 'UpdateMsgErr':
      return errorToIdle(t, notification(ErrorCode.UpdateMessage, e.subcode, e.data));
    case 'BGPHeaderErr':
      return headerError(t, e);
    case 'SendBuffer':
      return sendBuffer(t, e.empty);
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPOpenMsgErr':
      return fsmError(t, FsmSubcode.UnexpectedMessageInEstablished);
    default:
      return fsmError(t, FsmSubcode.Unspecified);
  }
}

function eventReason(e: FsmEvent): string {
  return `unexpected event ${e.type}`;
}
