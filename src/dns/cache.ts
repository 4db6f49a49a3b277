/**
 * DnsCache: every DNS record of the datastore in memory, fed by a list of /tortie/v1/dns/
 * and a watch from the list's revision + 1. If the watch cannot go on (history compacted)
 * it lists again and watches from there; if the store cannot be reached it retries with a
 * back-off. Lookups never touch the store.
 */
import { errorMessage } from '../common/errors.js';
import type { KV, KVPair, Watch, WatchEvent } from '../datastore/kv.js';
import type { Logger } from '../log/logger.js';
import type { ZoneView } from './message.js';
import { decodeDnsRecord, DNS_PREFIX, parseDnsRecordKey, type DnsRecord } from './records.js';

export class DnsCache implements ZoneView {
  /** "namespace/name" -> key -> record. */
  private readonly byName = new Map<string, Map<string, DnsRecord>>();
  /** namespace -> how many names live in it. */
  private readonly namespaces = new Map<string, number>();
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private revision = 0;
  private loaded = false;
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
  }

  get ready(): boolean {
    return this.loaded;
  }

  start(): void {
    void this.sync(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const w = this.watch;
    this.watch = undefined;
    await w?.cancel();
  }

  lookup(namespace: string, name: string): readonly DnsRecord[] {
    const found = this.byName.get(`${namespace}/${name}`);
    return found ? [...found.values()] : [];
  }

  hasNamespace(namespace: string): boolean {
    return (this.namespaces.get(namespace) ?? 0) > 0;
  }

  serial(): number {
    return this.revision;
  }

  /** How many records (name and host pairs) are known. */
  get size(): number {
    let n = 0;
    for (const m of this.byName.values()) n += m.size;
    return n;
  }

  private async sync(failures: number): Promise<void> {
    if (this.stopped) return;
    let listing;
    try {
      listing = await this.kv.list(DNS_PREFIX);
    } catch (err) {
      this.retry(err, failures + 1);
      return;
    }
    if (this.stopped) return;
    this.byName.clear();
    this.namespaces.clear();
    for (const pair of listing.items) this.put(pair);
    this.revision = listing.revision;
    this.loaded = true;
    this.resolveSynced();
    const old = this.watch;
    this.watch = undefined;
    await old?.cancel().catch(() => undefined);
    if (this.stopped) return;
    this.watch = this.kv.watch(
      DNS_PREFIX,
      { fromRevision: listing.revision + 1 },
      {
        onEvents: (events) => this.apply(events),
        onError: (err) => this.retry(err, 1),
      },
    );
  }

  private retry(err: unknown, failures: number): void {
    if (this.stopped) return;
    const delay = Math.min(200 * 2 ** (failures - 1), 10_000);
    this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'DNS cache: listing or watching the records failed; listing again');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync(failures), delay);
  }

  private apply(events: WatchEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'put') this.put(ev.kv);
      else this.remove(ev.key);
      this.revision = Math.max(this.revision, ev.type === 'put' ? ev.kv.modRevision : ev.modRevision);
    }
  }

  private put(pair: KVPair): void {
    const where = parseDnsRecordKey(pair.key);
    const record = where ? decodeDnsRecord(pair.value) : null;
    if (!where || !record) {
      this.log.warn({ key: pair.key }, 'DNS cache: ignoring a malformed record');
      this.remove(pair.key);
      return;
    }
    // The key decides where a record answers, whatever its value says.
    const fixed: DnsRecord = { ...record, namespace: where.namespace.toLowerCase(), name: where.name.toLowerCase(), node: where.node };
    const id = `${fixed.namespace}/${fixed.name}`;
    let m = this.byName.get(id);
    if (!m) {
      m = new Map();
      this.byName.set(id, m);
      this.namespaces.set(fixed.namespace, (this.namespaces.get(fixed.namespace) ?? 0) + 1);
    }
    m.set(pair.key, fixed);
  }

  private remove(key: string): void {
    const where = parseDnsRecordKey(key);
    if (!where) return;
    const namespace = where.namespace.toLowerCase();
    const id = `${namespace}/${where.name.toLowerCase()}`;
    const m = this.byName.get(id);
    if (!m || !m.delete(key)) return;
    if (m.size === 0) {
      this.byName.delete(id);
      const n = (this.namespaces.get(namespace) ?? 1) - 1;
      if (n <= 0) this.namespaces.delete(namespace);
      else this.namespaces.set(namespace, n);
    }
  }
}
