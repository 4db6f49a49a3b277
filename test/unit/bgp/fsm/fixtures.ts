// Shared fixtures for the FSM tests: a local speaker, a peer's OPEN, and a driver that walks
// the machine into each state with real events and an injected clock.
import { expect } from 'chai';
import {
  createFsm,
  step,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmStateName,
  type PeerOpen,
  type TimerName,
  parseRouterId,
} from '../../../../src/bgp/fsm/index.js';

export const LOCAL_ID = parseRouterId('10.0.0.1');
export const PEER_ID = parseRouterId('10.0.0.2');

export function config(overrides: Partial<FsmConfig> = {}, open: Partial<FsmConfig['open']> = {}): FsmConfig {
  return {
    open: {
      localAs: 65001,
      localRouterId: LOCAL_ID,
      peerAs: 65002,
      holdTimeSec: 90,
      capabilities: {
        families: [
          { afi: 1, safi: 1 },
          { afi: 2, safi: 1 },
        ],
        routeRefresh: true,
        enhancedRouteRefresh: true,
        addPath: [],
        extendedMessage: true,
        extendedNextHop: [],
      },
      ...open,
    },
    ...overrides,
  };
}

export function peerOpen(overrides: Partial<PeerOpen> = {}): PeerOpen {
  return {
    version: 4,
    myAs: 65002,
    holdTime: 90,
    bgpId: PEER_ID,
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'as4', asn: 65002 },
    ],
    ...overrides,
  };
}

/** A machine plus a clock; `feed` applies an event at the current time. */
export class Driver {
  now = 1_000_000;
  state: FsmState;
  last: FsmAction[] = [];

  constructor(cfg: FsmConfig = config()) {
    this.state = createFsm(cfg, this.now);
  }

  feed(event: FsmEvent): FsmAction[] {
    const r = step(this.state, event, this.now);
    this.state = r.state;
    this.last = r.actions;
    return r.actions;
  }

  /** Moves the clock to the timer's deadline and delivers its expiry. */
  fire(timer: TimerName): FsmAction[] {
    const deadline = this.state.timers[timer];
    expect(deadline, `timer ${timer} should be running in ${this.state.name}`).to.be.a('number');
    this.now = deadline!;
    return this.feed({ type: `${timer}Timer_Expires` } as FsmEvent);
  }

  advance(ms: number): void {
    this.now += ms;
  }
}

/** Drives a fresh machine into the named state the way a real session would. */
export function driverIn(name: FsmStateName, cfg: FsmConfig = config()): Driver {
  const d = new Driver(cfg);
  if (name === 'Idle') return d;
  if (name === 'Active') {
    d.feed({ type: 'ManualStart_with_PassiveTcpEstablishment' });
    return d;
  }
  d.feed({ type: 'ManualStart' });
  if (name === 'Connect') return d;
  d.feed({ type: 'Tcp_CR_Acked' });
  if (name === 'OpenSent') return d;
  d.feed({ type: 'BGPOpen', open: peerOpen() });
  if (name === 'OpenConfirm') return d;
  d.feed({ type: 'KeepAliveMsg' });
  return d;
}

export function sent(actions: FsmAction[]) {
  return actions.flatMap((a) => (a.type === 'send' ? [a.message] : []));
}

export function notifications(actions: FsmAction[]): string[] {
  return sent(actions).flatMap((m) => (m.kind === 'notification' ? [`${m.code}/${m.subcode}`] : []));
}

export function started(actions: FsmAction[]): Partial<Record<TimerName, number>> {
  const out: Partial<Record<TimerName, number>> = {};
  for (const a of actions) if (a.type === 'start-timer') out[a.timer] = a.ms;
  return out;
}

export function has(actions: FsmAction[], type: FsmAction['type']): boolean {
  return actions.some((a) => a.type === type);
}
