// The RFC 4271 §8.2.2 state/event table, walked row by row, then timers on an injected clock.
import { expect } from 'chai';
import {
  createFsm,
  step,
  type FsmAction,
  type FsmEvent,
  type FsmStateName,
  type TimerName,
} from '../../../../src/bgp/fsm/index.js';
import { Driver, config, driverIn, has, notifications, peerOpen, sent, started } from './fixtures.js';

interface Row {
  from: FsmStateName;
  /** An event, or a timer whose expiry is delivered at its deadline. */
  event: FsmEvent | { fire: TimerName };
  to: FsmStateName;
  /** The NOTIFICATION sent as code/subcode, or null when none may be sent. */
  notify?: string | null;
  present?: FsmAction['type'][];
  absent?: FsmAction['type'][];
  sends?: string[];
}

const notif = { code: 6, subcode: 2, data: new Uint8Array() };
const badAsOpen = peerOpen({ myAs: 65099, capabilities: [{ kind: 'as4', asn: 65099 }] });

const TABLE: Row[] = [
  // Idle
  { from: 'Idle', event: { type: 'ManualStart' }, to: 'Connect', present: ['connect', 'start-timer'], notify: null },
  { from: 'Idle', event: { type: 'AutomaticStart' }, to: 'Connect', present: ['connect'] },
  { from: 'Idle', event: { type: 'ManualStart_with_PassiveTcpEstablishment' }, to: 'Active', absent: ['connect'] },
  { from: 'Idle', event: { type: 'AutomaticStart_with_PassiveTcpEstablishment' }, to: 'Active', absent: ['connect'] },
  { from: 'Idle', event: { type: 'AutomaticStart_with_DampPeerOscillations' }, to: 'Connect', present: ['connect'] },
  { from: 'Idle', event: { type: 'ManualStop' }, to: 'Idle', absent: ['state-change', 'send'] },
  { from: 'Idle', event: { type: 'TcpConnection_Valid' }, to: 'Idle', present: ['drop-connection'] },
  { from: 'Idle', event: { type: 'KeepAliveMsg' }, to: 'Idle', absent: ['send', 'state-change'] },
  { from: 'Idle', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', absent: ['send'] },

  // Connect
  { from: 'Connect', event: { type: 'ManualStart' }, to: 'Connect', absent: ['connect', 'send'] },
  { from: 'Connect', event: { type: 'ManualStop' }, to: 'Idle', notify: null, present: ['drop-connection'] },
  { from: 'Connect', event: { fire: 'ConnectRetry' }, to: 'Connect', present: ['drop-connection', 'connect', 'start-timer'] },
  { from: 'Connect', event: { type: 'TcpConnection_Valid' }, to: 'Connect', absent: ['send'] },
  { from: 'Connect', event: { type: 'Tcp_CR_Invalid' }, to: 'Connect', absent: ['send'] },
  { from: 'Connect', event: { type: 'Tcp_CR_Acked' }, to: 'OpenSent', sends: ['open'] },
  { from: 'Connect', event: { type: 'TcpConnectionConfirmed' }, to: 'OpenSent', sends: ['open'] },
  { from: 'Connect', event: { type: 'TcpConnectionFails' }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'BGPOpen', open: peerOpen() }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'BGPHeaderErr', subcode: 2 }, to: 'Idle', notify: '1/2' },
  { from: 'Connect', event: { type: 'BGPOpenMsgErr', subcode: 4 }, to: 'Idle', notify: '2/4' },
  { from: 'Connect', event: { type: 'NotifMsgVerErr', notification: notif }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'KeepAliveMsg' }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'UpdateMsg' }, to: 'Idle', notify: null },
  { from: 'Connect', event: { type: 'OpenCollisionDump' }, to: 'Idle' },

  // Active
  { from: 'Active', event: { type: 'AutomaticStart' }, to: 'Active', absent: ['connect'] },
  { from: 'Active', event: { type: 'ManualStop' }, to: 'Idle', notify: null },
  { from: 'Active', event: { fire: 'ConnectRetry' }, to: 'Connect', present: ['connect'] },
  { from: 'Active', event: { type: 'TcpConnection_Valid' }, to: 'Active' },
  { from: 'Active', event: { type: 'Tcp_CR_Acked' }, to: 'OpenSent', sends: ['open'] },
  { from: 'Active', event: { type: 'TcpConnectionConfirmed' }, to: 'OpenSent', sends: ['open'] },
  { from: 'Active', event: { type: 'TcpConnectionFails' }, to: 'Idle', notify: null },
  { from: 'Active', event: { type: 'BGPHeaderErr', subcode: 1 }, to: 'Idle', notify: '1/1' },
  { from: 'Active', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', notify: null },
  { from: 'Active', event: { type: 'UpdateMsg' }, to: 'Idle', notify: null },

  // OpenSent
  { from: 'OpenSent', event: { type: 'ManualStart' }, to: 'OpenSent', absent: ['send'] },
  { from: 'OpenSent', event: { type: 'ManualStop' }, to: 'Idle', notify: '6/2' },
  { from: 'OpenSent', event: { type: 'AutomaticStop', subcode: 1 }, to: 'Idle', notify: '6/1' },
  { from: 'OpenSent', event: { fire: 'Hold' }, to: 'Idle', notify: '4/0', present: ['drop-connection'] },
  { from: 'OpenSent', event: { type: 'TcpConnection_Valid' }, to: 'OpenSent', absent: ['send'] },
  { from: 'OpenSent', event: { type: 'TcpConnectionFails' }, to: 'Active', notify: null, present: ['drop-connection'] },
  { from: 'OpenSent', event: { type: 'BGPOpen', open: peerOpen() }, to: 'OpenConfirm', sends: ['keepalive'] },
  { from: 'OpenSent', event: { type: 'BGPOpen', open: badAsOpen }, to: 'Idle', notify: '2/2' },
  { from: 'OpenSent', event: { type: 'BGPOpen', open: peerOpen({ holdTime: 2 }) }, to: 'Idle', notify: '2/6' },
  { from: 'OpenSent', event: { type: 'BGPOpen', open: peerOpen({ version: 3 }) }, to: 'Idle', notify: '2/1' },
  { from: 'OpenSent', event: { type: 'BGPHeaderErr', subcode: 3 }, to: 'Idle', notify: '1/3' },
  { from: 'OpenSent', event: { type: 'BGPOpenMsgErr', subcode: 4 }, to: 'Idle', notify: '2/4' },
  { from: 'OpenSent', event: { type: 'OpenCollisionDump' }, to: 'Idle', notify: '6/7' },
  { from: 'OpenSent', event: { type: 'NotifMsgVerErr', notification: notif }, to: 'Idle', notify: null },
  { from: 'OpenSent', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', notify: null },
  { from: 'OpenSent', event: { type: 'KeepAliveMsg' }, to: 'Idle', notify: '5/1' },
  { from: 'OpenSent', event: { type: 'UpdateMsg' }, to: 'Idle', notify: '5/1' },
  { from: 'OpenSent', event: { type: 'UpdateMsgErr', subcode: 1 }, to: 'Idle', notify: '5/1' },

  // OpenConfirm
  { from: 'OpenConfirm', event: { type: 'ManualStop', communication: 'bye' }, to: 'Idle', notify: '6/2' },
  { from: 'OpenConfirm', event: { fire: 'Hold' }, to: 'Idle', notify: '4/0' },
  { from: 'OpenConfirm', event: { fire: 'Keepalive' }, to: 'OpenConfirm', sends: ['keepalive'] },
  { from: 'OpenConfirm', event: { type: 'TcpConnection_Valid' }, to: 'OpenConfirm', absent: ['send'] },
  { from: 'OpenConfirm', event: { type: 'TcpConnectionFails' }, to: 'Idle', notify: null },
  { from: 'OpenConfirm', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', notify: null },
  { from: 'OpenConfirm', event: { type: 'NotifMsgVerErr', notification: notif }, to: 'Idle', notify: null },
  { from: 'OpenConfirm', event: { type: 'BGPOpen', open: peerOpen() }, to: 'Idle', notify: '5/2' },
  { from: 'OpenConfirm', event: { type: 'BGPHeaderErr', subcode: 2 }, to: 'Idle', notify: '1/2' },
  { from: 'OpenConfirm', event: { type: 'BGPOpenMsgErr', subcode: 3 }, to: 'Idle', notify: '2/3' },
  { from: 'OpenConfirm', event: { type: 'OpenCollisionDump' }, to: 'Idle', notify: '6/7' },
  { from: 'OpenConfirm', event: { type: 'KeepAliveMsg' }, to: 'Established', present: ['established'] },
  { from: 'OpenConfirm', event: { type: 'UpdateMsg' }, to: 'Idle', notify: '5/2' },
  { from: 'OpenConfirm', event: { type: 'UpdateMsgErr', subcode: 3 }, to: 'Idle', notify: '5/2' },

  // Established
  { from: 'Established', event: { type: 'ManualStart' }, to: 'Established', absent: ['send'] },
  { from: 'Established', event: { type: 'ManualStop' }, to: 'Idle', notify: '6/2', present: ['session-down'] },
  { from: 'Established', event: { type: 'AutomaticStop', subcode: 1 }, to: 'Idle', notify: '6/1', present: ['session-down'] },
  { from: 'Established', event: { fire: 'Hold' }, to: 'Idle', notify: '4/0', present: ['session-down', 'drop-connection'] },
  { from: 'Established', event: { fire: 'Keepalive' }, to: 'Established', sends: ['keepalive'] },
  { from: 'Established', event: { type: 'TcpConnection_Valid' }, to: 'Established', absent: ['send'] },
  { from: 'Established', event: { type: 'Tcp_CR_Acked' }, to: 'Established', absent: ['send'] },
  { from: 'Established', event: { type: 'OpenCollisionDump' }, to: 'Idle', notify: '6/7', present: ['session-down'] },
  { from: 'Established', event: { type: 'TcpConnectionFails' }, to: 'Idle', notify: null, present: ['session-down'] },
  { from: 'Established', event: { type: 'NotifMsg', notification: notif }, to: 'Idle', notify: null, present: ['session-down'] },
  { from: 'Established', event: { type: 'NotifMsgVerErr', notification: notif }, to: 'Idle', notify: null },
  { from: 'Established', event: { type: 'KeepAliveMsg' }, to: 'Established', notify: null, present: ['start-timer'] },
  { from: 'Established', event: { type: 'UpdateMsg' }, to: 'Established', notify: null, present: ['start-timer'] },
  { from: 'Established', event: { type: 'UpdateSent' }, to: 'Established', notify: null, present: ['start-timer'] },
  { from: 'OpenSent', event: { type: 'UpdateSent' }, to: 'OpenSent', absent: ['send', 'start-timer'] },
  { from: 'Established', event: { type: 'UpdateMsgErr', subcode: 11 }, to: 'Idle', notify: '3/11', present: ['session-down'] },
  { from: 'Established', event: { type: 'BGPOpen', open: peerOpen() }, to: 'Idle', notify: '5/3' },
  { from: 'Established', event: { type: 'BGPOpenMsgErr', subcode: 2 }, to: 'Idle', notify: '5/3' },
  { from: 'Established', event: { type: 'BGPHeaderErr', subcode: 1 }, to: 'Idle', notify: '1/1' },
];

function describeEvent(e: Row['event']): string {
  return 'fire' in e ? `${e.fire}Timer_Expires` : e.type;
}

describe('bgp/fsm: RFC 4271 §8.2.2 state/event table', () => {
  for (const row of TABLE) {
    it(`${row.from} + ${describeEvent(row.event)} -> ${row.to}${row.notify ? ` (NOTIFICATION ${row.notify})` : ''}`, () => {
      const d = driverIn(row.from);
      expect(d.state.name).to.equal(row.from);
      const actions = 'fire' in row.event ? d.fire(row.event.fire) : d.feed(row.event);
      expect(d.state.name).to.equal(row.to);
      if (row.notify === null) expect(notifications(actions)).to.deep.equal([]);
      else if (row.notify) expect(notifications(actions)).to.deep.equal([row.notify]);
      for (const t of row.present ?? []) expect(has(actions, t), `action ${t} in ${JSON.stringify(actions)}`).to.equal(true);
      for (const t of row.absent ?? []) expect(has(actions, t), `no action ${t} in ${JSON.stringify(actions)}`).to.equal(false);
      if (row.sends) expect(sent(actions).map((m) => m.kind)).to.deep.equal(row.sends);
      if (row.from !== row.to) {
        const change = actions.find((a) => a.type === 'state-change');
        expect(change).to.deep.include({ from: row.from, to: row.to });
      }
      if (row.to === 'Idle' && row.from !== 'Idle') {
        expect(Object.keys(d.state.timers).filter((t) => t !== 'IdleHold')).to.deep.equal([]);
      }
    });
  }
});

describe('bgp/fsm: timers on an injected clock', () => {
  it('waits for the peer OPEN under the large 4-minute hold time, then expires with 4/0', () => {
    const d = driverIn('Connect');
    const actions = d.feed({ type: 'Tcp_CR_Acked' });
    expect(started(actions).Hold).to.equal(240_000);
    const before = d.now;
    d.fire('Hold');
    expect(d.now - before).to.equal(240_000);
    expect(notifications(d.last)).to.deep.equal(['4/0']);
    expect(d.state.name).to.equal('Idle');
    expect(d.state.lastError).to.match(/Hold Timer Expired/);
  });

  it('negotiates the lower hold time and a keepalive of a third of it', () => {
    const d = driverIn('OpenSent', config({}, { holdTimeSec: 30 }));
    const actions = d.feed({ type: 'BGPOpen', open: peerOpen({ holdTime: 9 }) });
    expect(started(actions)).to.deep.include({ Hold: 9_000, Keepalive: 3_000 });
    d.feed({ type: 'KeepAliveMsg' });
    expect(d.state.negotiated).to.deep.include({ holdTimeSec: 9, keepaliveSec: 3 });
  });

  it('a configured keepalive below a third of the hold time wins', () => {
    const d = driverIn('OpenSent', config({}, { keepaliveSec: 10 }));
    const actions = d.feed({ type: 'BGPOpen', open: peerOpen() });
    expect(started(actions)).to.deep.include({ Hold: 90_000, Keepalive: 10_000 });
  });

  it('sends a KEEPALIVE every keepalive interval and expires the hold time when the peer is silent', () => {
    const d = driverIn('Established');
    const establishedAt = d.now;
    for (let i = 1; i <= 2; i++) {
      d.fire('Keepalive');
      expect(sent(d.last).map((m) => m.kind)).to.deep.equal(['keepalive']);
      expect(d.now - establishedAt).to.equal(i * 30_000);
      expect(started(d.last).Keepalive).to.equal(30_000);
    }
    // The peer's KEEPALIVE pushes the hold deadline out.
    d.feed({ type: 'KeepAliveMsg' });
    expect(d.state.timers.Hold).to.equal(d.now + 90_000);
    const silentSince = d.now;
    d.fire('Keepalive');
    d.fire('Keepalive');
    d.fire('Keepalive');
    expect(d.state.name).to.equal('Established');
    d.fire('Hold');
    expect(d.now - silentSince).to.equal(90_000);
    expect(notifications(d.last)).to.deep.equal(['4/0']);
    expect(d.last.find((a) => a.type === 'session-down')).to.deep.include({ reason: 'sent NOTIFICATION Hold Timer Expired' });
  });

  it('an UPDATE we send postpones the next KEEPALIVE by a full interval', () => {
    const d = driverIn('Established');
    d.advance(20_000);
    d.feed({ type: 'UpdateSent' });
    expect(d.state.timers.Keepalive).to.equal(d.now + 30_000);
    // The old deadline has passed without a KEEPALIVE: it is stale now.
    expect(step(d.state, { type: 'KeepaliveTimer_Expires' }, d.now + 10_000).actions).to.deep.equal([]);
  });

  it('hold time 0 disables keepalives and the hold timer', () => {
    const d = driverIn('OpenSent');
    const actions = d.feed({ type: 'BGPOpen', open: peerOpen({ holdTime: 0 }) });
    expect(sent(actions).map((m) => m.kind)).to.deep.equal(['keepalive']);
    expect(started(actions)).to.deep.equal({});
    d.feed({ type: 'KeepAliveMsg' });
    expect(d.state.name).to.equal('Established');
    expect(d.state.timers).to.deep.equal({});
    expect(d.state.negotiated).to.deep.include({ holdTimeSec: 0, keepaliveSec: 0 });
  });

  it('ignores stale or early timer expiries', () => {
    const d = driverIn('Established');
    const before = d.state;
    // Not yet due.
    const early = step(d.state, { type: 'HoldTimer_Expires' }, d.now + 1000);
    expect(early.actions).to.deep.equal([]);
    expect(early.state).to.equal(before);
    // Not running at all.
    const stale = step(d.state, { type: 'DelayOpenTimer_Expires' }, d.now + 10_000_000);
    expect(stale.actions).to.deep.equal([]);
  });

  it('retries the connection every ConnectRetry interval', () => {
    const d = driverIn('Connect', config({ connectRetrySec: 7 }));
    const t0 = d.now;
    for (let i = 1; i <= 3; i++) {
      d.fire('ConnectRetry');
      expect(d.now - t0).to.equal(i * 7000);
      expect(d.last.filter((a) => a.type === 'connect')).to.have.length(1);
      expect(d.state.name).to.equal('Connect');
    }
  });

  it('a passive peer waits in Active and never initiates', () => {
    const d = driverIn('Idle', config({ passive: true }));
    d.feed({ type: 'ManualStart' });
    expect(d.state.name).to.equal('Active');
    d.fire('ConnectRetry');
    expect(d.state.name).to.equal('Active');
    expect(has(d.last, 'connect')).to.equal(false);
  });

  it('backs off automatic restarts exponentially up to the cap, and resets after a stable session', () => {
    const d = driverIn('Idle', config({ idleHoldInitialSec: 5, idleHoldMaxSec: 60, idleHoldResetAfterSec: 100 }));
    d.feed({ type: 'ManualStart' });
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      d.feed({ type: 'Tcp_CR_Acked' });
      d.feed({ type: 'NotifMsg', notification: { code: 6, subcode: 5, data: new Uint8Array() } });
      expect(d.state.name).to.equal('Idle');
      waits.push(started(d.last).IdleHold!);
      d.fire('IdleHold');
      expect(d.state.name).to.equal('Connect');
    }
    expect(waits).to.deep.equal([5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
    expect(d.state.connectRetryCounter).to.equal(7);

    // A session that flaps quickly keeps the long wait...
    d.feed({ type: 'Tcp_CR_Acked' });
    d.feed({ type: 'BGPOpen', open: peerOpen() });
    d.feed({ type: 'KeepAliveMsg' });
    d.advance(10_000);
    d.feed({ type: 'TcpConnectionFails' });
    expect(started(d.last).IdleHold).to.equal(60_000);
    // ...one that stayed up long enough starts over.
    d.fire('IdleHold');
    d.feed({ type: 'Tcp_CR_Acked' });
    d.feed({ type: 'BGPOpen', open: peerOpen() });
    d.feed({ type: 'KeepAliveMsg' });
    d.advance(100_000);
    d.feed({ type: 'TcpConnectionFails' });
    expect(started(d.last).IdleHold).to.equal(5_000);
  });

  it('ManualStop stays down: no automatic restart is scheduled', () => {
    const d = driverIn('Established');
    const actions = d.feed({ type: 'ManualStop', communication: 'maintenance' });
    expect(d.state.name).to.equal('Idle');
    expect(started(actions)).to.deep.equal({});
    expect(d.state.connectRetryCounter).to.equal(0);
    const n = sent(actions)[0]!;
    expect(n).to.deep.include({ kind: 'notification', code: 6, subcode: 2 });
    expect(Buffer.from((n as { data: Uint8Array }).data).toString('latin1')).to.equal('\x0bmaintenance');
    expect(d.state.lastError).to.equal('administrative shutdown: "maintenance"');
  });

  it('DelayOpen: holds our OPEN until the peer sends its own, or until the timer expires', () => {
    const cfg = config({ delayOpenSec: 5 });
    const d = driverIn('Connect', cfg);
    const acked = d.feed({ type: 'Tcp_CR_Acked' });
    expect(d.state.name).to.equal('Connect');
    expect(started(acked)).to.deep.equal({ DelayOpen: 5_000 });
    expect(sent(acked)).to.deep.equal([]);
    const opened = d.feed({ type: 'BGPOpen', open: peerOpen() });
    expect(d.state.name).to.equal('OpenConfirm');
    expect(sent(opened).map((m) => m.kind)).to.deep.equal(['open', 'keepalive']);

    const e = driverIn('Connect', cfg);
    e.feed({ type: 'TcpConnectionConfirmed' });
    e.fire('DelayOpen');
    expect(e.state.name).to.equal('OpenSent');
    expect(sent(e.last).map((m) => m.kind)).to.deep.equal(['open']);

    const f = driverIn('Connect', cfg);
    f.feed({ type: 'Tcp_CR_Acked' });
    f.feed({ type: 'TcpConnectionFails' });
    expect(f.state.name).to.equal('Active');
  });

  it('send hold timer (RFC 9687): a peer that stops reading is dropped with NOTIFICATION 8', () => {
    const d = driverIn('Established');
    let actions = d.feed({ type: 'SendBuffer', empty: false });
    expect(started(actions).SendHold).to.equal(480_000);
    d.advance(100_000);
    actions = d.feed({ type: 'SendBuffer', empty: false }); // some progress: restart
    expect(d.state.timers.SendHold).to.equal(d.now + 480_000);
    d.feed({ type: 'SendBuffer', empty: true });
    expect(d.state.timers.SendHold).to.equal(undefined);
    d.feed({ type: 'SendBuffer', empty: false });
    // Keep the peer's hold timer alive meanwhile: it still sends to us, it just does not read.
    const stuckSince = d.now;
    while (d.state.timers.SendHold! > d.state.timers.Hold!) {
      d.now = d.state.timers.Hold! - 1;
      d.feed({ type: 'KeepAliveMsg' });
    }
    d.fire('SendHold');
    expect(d.now - stuckSince).to.equal(480_000);
    expect(notifications(d.last)).to.deep.equal(['8/0']);
    expect(d.state.name).to.equal('Idle');
  });

  it('is deterministic and never mutates its input', () => {
    const events: FsmEvent[] = [
      { type: 'ManualStart' },
      { type: 'Tcp_CR_Acked' },
      { type: 'BGPOpen', open: peerOpen() },
      { type: 'KeepAliveMsg' },
      { type: 'UpdateMsg' },
      { type: 'UpdateMsgErr', subcode: 1 },
    ];
    const run = () => {
      let s = Object.freeze(createFsm(config(), 42));
      const all: FsmAction[][] = [];
      events.forEach((e, i) => {
        const r = step(s, e, 42 + i * 1000);
        all.push(r.actions);
        s = Object.freeze(r.state);
      });
      return { s, all };
    };
    const a = run();
    const b = run();
    expect(a.all).to.deep.equal(b.all);
    expect(a.s).to.deep.equal(b.s);
  });
});

describe('bgp/fsm: Established hands the negotiated session over once', () => {
  it('emits one established action with the negotiated facts, and session-down when it ends', () => {
    const d = new Driver();
    const all: FsmAction[] = [];
    all.push(...d.feed({ type: 'ManualStart' }));
    all.push(...d.feed({ type: 'Tcp_CR_Acked' }));
    all.push(...d.feed({ type: 'BGPOpen', open: peerOpen() }));
    all.push(...d.feed({ type: 'KeepAliveMsg' }));
    all.push(...d.feed({ type: 'KeepAliveMsg' }));
    const est = all.filter((a) => a.type === 'established');
    expect(est).to.have.length(1);
    const negotiated = (est[0] as Extract<FsmAction, { type: 'established' }>).negotiated;
    expect(negotiated).to.deep.include({ peerAs: 65002, type: 'ebgp', holdTimeSec: 90, keepaliveSec: 30, as4: true });
    expect(d.state.negotiated).to.equal(negotiated);
    const down = d.feed({ type: 'NotifMsg', notification: { code: 6, subcode: 2, data: Uint8Array.of(3, 0x61, 0x62, 0x63) } });
    expect(down.find((a) => a.type === 'session-down')).to.deep.equal({
      type: 'session-down',
      reason: 'received NOTIFICATION Cease / Administrative Shutdown: "abc"',
    });
    expect(d.state.negotiated).to.equal(undefined);
  });
});
