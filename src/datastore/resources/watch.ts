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
 * If the watch cannot go on (history compacted) or the store cannot be reached at the start,
 * the kinds are listed again and the difference is handed over as updates and deletes, so a
 * receiver never has to start from scratch. `onError` hears about each such trouble.
 */
import { errorMessage } from '../../common/errors.js';
import { logger } from '../../log/logger.js';
import type { KV, KVPair, Watch, WatchEvent } from '../kv.js';
import { kindPrefix, RESOURCES_PREFIX } from './keys.js';
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
  /** Last known state of every key of the watched kinds, to turn a relisting into a difference. */
  private readonly known = new Map<string, AnyResource>();
  /** The kinds by their key segment (`ippool` -> IPPool). */
  private readonly bySegment: Map<string, KindName>;
  /** Per kind, the revision its listing was read at: older watch events are already known. */
  private listedAt = new Map<KindName, number>();
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private syncedOnce = false;
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
    this.bySegment = new Map(kinds.map((k) => [k.toLowerCase(), k]));
  }

  start(): void {
    void this.sync(0);
  }

  async cancel(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const w = this.watch;
    this.watch = undefined;
    await w?.cancel();
    await this.queue.catch(() => undefined);
  }

  /**
   * Lists every kind, hands over the difference to what was known, and watches from there.
   * One watch covers all the kinds (the whole resources prefix when there are several), so
   * events reach the receiver in the store's revision order across kinds too.
   */
  private async sync(failures: number): Promise<void> {
    if (this.stopped) return;
    let listings;
    try {
      listings = await Promise.all(this.kinds.map(async (kind) => ({ kind, listing: await this.kv.list(kindPrefix(kind)) })));
    } catch (err) {
      this.report(err);
      this.retryLater(failures + 1);
      return;
    }
    if (this.stopped) return;
    const events: ResourceEvent[] = [];
    const present = new Set<string>();
    this.listedAt = new Map();
    let from = Infinity;
    for (const { kind, listing } of listings) {
      this.listedAt.set(kind, listing.revision);
      from = Math.min(from, listing.revision + 1);
      for (const pair of listing.items) {
        present.add(pair.key);
        const resource = this.decodeOrWarn(pair);
        if (!resource) continue;
        const previous = this.known.get(pair.key);
        if (previous?.metadata.resourceVersion === resource.metadata.resourceVersion) continue;
        this.known.set(pair.key, resource);
        events.push(previous ? { type: 'update', resource, previous } : { type: 'update', resource });
      }
    }
    for (const [key, resource] of this.known) {
      if (!present.has(key)) {
        this.known.delete(key);
        events.push({ type: 'delete', resource });
      }
    }
    const first = !this.syncedOnce;
    this.syncedOnce = true;
    if (first) events.push({ type: 'in-sync' });
    const delivered = this.deliver(events);
    if (first) void delivered.then(() => this.resolveSynced());
    if (this.kinds.length === 0) return;

    const prefix = this.kinds.length === 1 ? kindPrefix(this.kinds[0]) : RESOURCES_PREFIX;
    this.watch = this.kv.watch(
      prefix,
      { fromRevision: from },
      {
        onEvents: (kvEvents) => this.deliver(this.translate(kvEvents)),
        onError: (err) => {
          // Cannot go on from here (e.g. compacted): list again and carry on from that.
          this.report(err);
          const w = this.watch;
          this.watch = undefined;
          void w?.cancel().catch(() => undefined);
          void this.sync(0);
        },
      },
    );
  }

  private translate(kvEvents: WatchEvent[]): ResourceEvent[] {
    const out: ResourceEvent[] = [];
    for (const ev of kvEvents) {
      const key = ev.type === 'put' ? ev.kv.key : ev.key;
      const kind = this.bySegment.get(key.slice(RESOURCES_PREFIX.length).split('/')[0]);
      if (!kind) continue;
      // Events up to the kind's listing are in the listing already.
      const revision = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
      if (revision <= (this.listedAt.get(kind) ?? 0)) continue;
      if (ev.type === 'put') {
        const resource = this.decodeOrWarn(ev.kv);
        if (!resource) continue;
        const previous = this.known.get(key);
        this.known.set(key, resource);
        out.push(previous ? { type: 'update', resource, previous } : { type: 'update', resource });
      } else {
        const previous = this.known.get(key);
        this.known.delete(key);
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

  private retryLater(failures: number): void {
    if (this.stopped) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures, 10));
    this.timer = setTimeout(() => void this.sync(failures), ms);
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
