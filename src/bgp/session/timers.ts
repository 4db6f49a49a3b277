/**
 * Real timers for one FSM. The machine keeps deadlines and asks for start/stop; this turns
 * them into setTimeout calls and feeds the matching *_Expires event back. The FSM itself
 * ignores expiries of timers it stopped or restarted since, so a late callback is harmless.
 */
import type { FsmEvent, TimerName } from '../fsm/index.js';

const EXPIRY_EVENT: Record<TimerName, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  DelayOpen: 'DelayOpenTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
  SendHold: 'SendHoldTimer_Expires',
};

export class FsmTimers {
  private readonly handles = new Map<TimerName, NodeJS.Timeout>();

  constructor(private readonly fire: (event: FsmEvent) => void) {}

  start(timer: TimerName, ms: number): void {
    this.stop(timer);
    const handle = setTimeout(() => {
      this.handles.delete(timer);
      this.fire({ type: EXPIRY_EVENT[timer] } as FsmEvent);
    }, ms);
    handle.unref();
    this.handles.set(timer, handle);
  }

  stop(timer: TimerName): void {
    const handle = this.handles.get(timer);
    if (handle !== undefined) clearTimeout(handle);
    this.handles.delete(timer);
  }

  stopAll(): void {
    for (const handle of this.handles.values()) clearTimeout(handle);
    this.handles.clear();
  }
}
