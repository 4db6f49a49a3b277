/**
 * The delivery half of a watch, shared by the backends: events wait in a queue and reach the
 * handler one batch at a time, never before the previous batch's promise has settled, and
 * never inside the call stack of whoever produced them.
 */
import type { Logger } from '../log/logger.js';
import type { WatchEvent, WatchHandlers } from './kv.js';

export function eventRevision(event: WatchEvent): number {
  return event.type === 'put' ? event.kv.modRevision : event.modRevision;
}

export function eventKey(event: WatchEvent): string {
  return event.type === 'put' ? event.kv.key : event.key;
}

export class WatchQueue {
  private queue: WatchEvent[] = [];
  private draining = false;
  private stopped = false;
  private delivered: number;

  constructor(
    private readonly handlers: WatchHandlers,
    fromRevision: number,
    private readonly log: Logger,
  ) {
    this.delivered = fromRevision - 1;
  }

  /** Revision of the last event handed to the handler. */
  get lastRevision(): number {
    return this.delivered;
  }

  /** Sets the start revision once the backend learns it (a watch "from now on"). */
  startAt(fromRevision: number): void {
    if (this.delivered < fromRevision - 1) this.delivered = fromRevision - 1;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Queues events (already in revision order, already filtered) for delivery. */
  push(events: WatchEvent[]): void {
    if (this.stopped || events.length === 0) return;
    this.queue.push(...events);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Ends the watch with an error for onError, after the events already queued. */
  fail(err: Error): void {
    if (this.stopped) return;
    const report = () => {
      if (this.stopped) return;
      this.stopped = true;
      if (this.handlers.onError) this.handlers.onError(err);
      else this.log.error({ err }, 'watch failed and has no onError handler');
    };
    if (this.draining) this.failure = report;
    else setImmediate(report);
  }

  /** Ends the watch quietly: nothing more is delivered. */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  private failure: (() => void) | undefined;

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.delivered = eventRevision(batch[batch.length - 1]!);
      try {
        await this.handlers.onEvents(batch);
      } catch (err) {
        // The handler's own failure: the batch was delivered, so report it and go on.
        this.log.error({ err }, 'watch handler failed');
      }
    }
    this.draining = false;
    const failure = this.failure;
    this.failure = undefined;
    failure?.();
  }
}
