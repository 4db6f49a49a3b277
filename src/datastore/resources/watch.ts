/**
 * Watching resources: list each kind, hand the current state over, then follow the KV watch
 * from the list's revision + 1, so that nothing is missed and nothing is seen twice.
 *
 * Events come in batches to `onEvents` (the next batch waits for the returned promise):
 *   {type: 'update', resource, previous?}  created or changed (previous: what it was)
 *   {type: 'delete', resource}             gone (resource: its last known state)
 *   {type: 'in-sync'}                      once, after every kind's first listing: from here
 *                                          on the receiver's view is complete (felix starts
 *                                          sweeping stale kernel state only after this).
 * If a watch cannot go on (history compacted) or the store cannot be reached at the start,
 * the kind is listed again and the difference is handed over as updates and deletes, so a
 * receiver never has to start from scratch. `onError` hears about each such trouble.
 */
import { errorMessage } from '../../common/errors.js';
import { logger } from '../../log/logger.js';
import type { KV, KVPair, Watch, WatchEvent } from '../kv.js';
import { kindPrefix } from './keys.js';
import type { AnyResource, KindName } from './types.js';

export type ResourceEvent =
  | { type: 'update'; resource: AnyResource; previous?: AnyResource }
  | { type: 'delete'; resource: AnyResource }
  | { type: 'in-sync' };

export interface ResourceWatchHandlers {
  onEvents(events: ResourceEvent[]): void | Promise<void>;
  /** A listing or watch failed; the watcher retries by itself. For logs and health. */
  onError?(err: Error): void;
}

export interface ResourceWatch {
  /** Resolves once 'in-sync' has been delivered. */
  readonly synced: Promise<void>;
  cancel(): Promise<void>;
}

type Decode = (pair: KVPair) => AnyResource | null;

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

export class ResourceWatcher implements ResourceWatch {
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private readonly log = logger('resources-watch');
  /** Last known state of every key, per kind, to turn a relisting into a difference. */
  private readonly known = new Map<KindName, Map<string, AnyResource>>();
  private readonly watches = new Map<KindName, Watch>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pendingFirstSync: Set<KindName>;
  /** Batches are handed over one at a time, in the order they were produced. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly kinds: readonly KindName[],
    private readonly decode: Decode,
    private readonly handlers: ResourceWatchHandlers,
  ) {
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.pendingFirstSync = new Set(kinds);
    for (const kind of kinds) this.known.set(kind, new Map());
  }

  start(): void {
    if (this.kinds.length === 0) {
      void this.deliver([{ type: 'in-sync' }]).then(() => this.resolveSynced());
      return;
    }
    for (const kind of this.kinds) void this.sync(kind, 0);
  }

  async cancel(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.cancel()));
    await this.queue.catch(() => undefined);
  }

  /** Lists a kind, hands over the difference to what was known, and watches from there. */
  private async sync(kind: KindName, failures: number): Promise<void> {
    if (this.stopped) return;
    let listing;
    try {
      listing = await this.kv.list(kindPrefix(kind));
    } catch (err) {
      this.report(err);
      this.retryLater(kind, failures + 1);
      return;
    }
    if (this.stopped) return;
    const known = this.known.get(kind)!;
    const events: ResourceEvent[] = [];
    const present = new Set<string>();
    for (const pair of listing.items) {
      present.add(pair.key);
      const resource = this.decodeOrWarn(pair);
      if (!resource) continue;
      const previous = known.get(pair.key);
      if (previous?.metadata.resourceVersion === resource.metadata.resourceVersion) continue;
      known.set(pair.key, resource);
      events.push(previous ? { type: 'update', resource, previous } : { type: 'update', resource });
    }
    for (const [key, resource] of known) {
      if (!present.has(key)) {
        known.delete(key);
        events.push({ type: 'delete', resource });
      }
    }
    const firstSyncDone = this.pendingFirstSync.delete(kind) && this.pendingFirstSync.size === 0;
    if (firstSyncDone) events.push({ type: 'in-sync' });
    const delivered = events.length > 0 ? this.deliver(events) : Promise.resolve();
    if (firstSyncDone) void delivered.then(() => this.resolveSynced());

    const watch = this.kv.watch(
      kindPrefix(kind),
      { fromRevision: listing.revision + 1 },
      {
        onEvents: (kvEvents) => this.deliver(this.translate(kind, kvEvents)),
        onError: (err) => {
          // Cannot go on from here (e.g. compacted): list again and carry on from that.
          this.report(err);
          const w = this.watches.get(kind);
          this.watches.delete(kind);
          void w?.cancel().catch(() => undefined);
          void this.sync(kind, 0);
        },
      },
    );
    this.watches.set(kind, watch);
  }

  private translate(kind: KindName, kvEvents: WatchEvent[]): ResourceEvent[] {
    const known = this.known.get(kind)!;
    const out: ResourceEvent[] = [];
    for (const ev of kvEvents) {
      if (ev.type === 'put') {
        const resource = this.decodeOrWarn(ev.kv);
        if (!resource) continue;
        const previous = known.get(ev.kv.key);
        known.set(ev.kv.key, resource);
        out.push(previous ? { type: 'update', resource, previous } : { type: 'update', resource });
      } else {
        const previous = known.get(ev.key);
        known.delete(ev.key);
        if (previous) out.push({ type: 'delete', resource: previous });
      }
    }
    return out;
  }

  private deliver(events: ResourceEvent[]): Promise<void> {
    if (events.length === 0) return this.queue;
    const next = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await this.handlers.onEvents(events);
      } catch (err) {
        // A receiver's bug must not stop the stream for everyone; it is logged with its stack.
        this.log.error({ err }, 'resource event handler failed');
      }
    });
    this.queue = next;
    return next;
  }

  private retryLater(kind: KindName, failures: number): void {
    if (this.stopped) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures, 10));
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.sync(kind, failures);
    }, ms);
    this.timers.add(t);
  }

  private decodeOrWarn(pair: KVPair): AnyResource | null {
    const r = this.decode(pair);
    if (!r) this.log.warn({ key: pair.key }, 'skipping a stored value that is not a resource');
    return r;
  }

  private report(err: unknown): void {
    const e = err instanceof Error ? err : new Error(errorMessage(err));
    if (this.handlers.onError) this.handlers.onError(e);
    else this.log.warn({ err: e }, 'resource watch trouble; retrying');
  }
}
