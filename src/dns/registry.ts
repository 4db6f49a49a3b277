/**
 * DnsRegistrar: keeps this host's DNS records (see records.ts for the key layout) in step
 * with its workload endpoints, every key bound to one lease of this host.
 *
 *   const reg = new DnsRegistrar({ kv, nodeName: 'host-a', leaseTtlSeconds: 30, log });
 *   reg.start(store);          // follows the WorkloadEndpoints whose spec.node is host-a
 *   // or, without a store:    reg.register(endpoint) / reg.unregister(endpoint)
 *   await reg.synced();        // what is wanted now is written
 *   await reg.stop();          // revokes the lease: this host's records go at once
 *
 * It is a reconciler: register/unregister and watch events change the wanted set, one writer
 * at a time writes the difference. A write that fails is tried again with a back-off; a lost
 * lease (the store was out of reach for longer than the TTL, and etcd dropped our keys) is
 * replaced by a new one and every record is written again. Once the endpoint watch is in
 * sync, records of this node that nothing wants any more (left by an earlier run) are deleted.
 */
import { errorMessage, NotFoundError } from '../common/errors.js';
import type { KV, Lease } from '../datastore/kv.js';
import type { ResourceEvent, ResourceWatch } from '../datastore/resources/watch.js';
import type { ResourceStore } from '../datastore/resources/store.js';
import type { Resource } from '../datastore/resources/types.js';
import type { Logger } from '../log/logger.js';
import { DNS_PREFIX, dnsRecordKey, mergeRecords, parseDnsRecordKey, recordFromEndpoint, type DnsRecord } from './records.js';

export const DEFAULT_DNS_LEASE_TTL_SECONDS = 30;

export interface DnsRegistrarOptions {
  kv: KV;
  nodeName: string;
  /** TTL of this host's lease: how long its records outlive it (default 30 s). */
  leaseTtlSeconds?: number;
  log: Logger;
  /** First retry delay after a failed write (default 200 ms, doubling up to 5 s). */
  retryMs?: number;
}

type Endpoint = Resource<'WorkloadEndpoint'>;

function endpointId(ep: Endpoint): string {
  return `${ep.metadata.namespace ?? 'default'}/${ep.metadata.name}`;
}

export class DnsRegistrar {
  private readonly kv: KV;
  private readonly nodeName: string;
  private readonly ttl: number;
  private readonly log: Logger;
  private readonly retryMs: number;
  /** Endpoint id -> the record part it contributes. */
  private readonly parts = new Map<string, DnsRecord>();
  /** Key -> value as last written with the current lease. */
  private written = new Map<string, string>();
  /** Keys of this node found in the store that nothing wants: deleted once in sync. */
  private sweepPending = false;
  private lease: Lease | undefined;
  private watch: ResourceWatch | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(options: DnsRegistrarOptions) {
    this.kv = options.kv;
    this.nodeName = options.nodeName;
    this.ttl = options.leaseTtlSeconds ?? DEFAULT_DNS_LEASE_TTL_SECONDS;
    if (!Number.isInteger(this.ttl) || this.ttl < 1) throw new RangeError(`DNS lease TTL must be a whole number of seconds >= 1, not ${this.ttl}`);
    if (options.nodeName === '' || options.nodeName.includes('/')) throw new RangeError(`node name "${options.nodeName}" cannot be part of a key`);
    this.log = options.log;
    this.retryMs = options.retryMs ?? 200;
  }

  /** Follows the WorkloadEndpoints of this node in `store`. */
  start(store: ResourceStore): ResourceWatch {
    if (this.watch) throw new Error('DnsRegistrar.start: already started');
    this.watch = store.watch(['WorkloadEndpoint'], {
      onEvents: (events) => this.onEvents(events),
      onError: (err) => this.log.warn({ err: errorMessage(err) }, 'DNS registrar: workload endpoint watch trouble (retrying)'),
    });
    return this.watch;
  }

  /** Adds or updates the record part of one endpoint (it must be on this node). */
  register(endpoint: Endpoint): void {
    const id = endpointId(endpoint);
    if (endpoint.spec.node !== undefined && endpoint.spec.node !== this.nodeName) {
      this.unregister(endpoint);
      return;
    }
    const made = recordFromEndpoint(endpoint, this.nodeName);
    if (!made.ok) {
      this.log.warn({ endpoint: id, problem: made.problem }, 'DNS registrar: workload endpoint has no DNS record');
      if (this.parts.delete(id)) this.kick();
      return;
    }
    this.parts.set(id, made.record);
    this.kick();
  }

  unregister(endpoint: Endpoint): void {
    if (this.parts.delete(endpointId(endpoint))) this.kick();
  }

  /** Resolves once everything wanted at the time of the call (or later) is written. */
  synced(): Promise<void> {
    if (!this.running && !this.again && !this.timer && this.isClean()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The lease the records are bound to (for tests and status). */
  get leaseId(): string | undefined {
    return this.lease?.id;
  }

  /**
   * Stops. By default the lease is revoked, so this host's records go at once; with
   * `keepRecords` they stay until the lease runs out (the KV's close() stops the keep-alive).
   */
  async stop(options: { keepRecords?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.watch?.cancel();
    await this.running?.catch(() => undefined);
    if (!options.keepRecords) {
      try {
        await this.lease?.revoke();
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'DNS registrar: could not revoke the lease (the records expire with it)');
      }
    }
    this.lease = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private onEvents(events: ResourceEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'in-sync') {
        this.sweepPending = true;
        this.kick();
      } else if (ev.resource.kind === 'WorkloadEndpoint') {
        const ep = ev.resource as Endpoint;
        if (ev.type === 'delete') this.unregister(ep);
        else if (ep.spec.node === this.nodeName) this.register(ep);
        else this.unregister(ep); // moved away, or never ours
      }
    }
  }

  private wanted(): Map<string, string> {
    const byName = new Map<string, DnsRecord[]>();
    for (const part of this.parts.values()) {
      const key = dnsRecordKey(part.namespace, part.name, this.nodeName);
      const list = byName.get(key);
      if (list) list.push(part);
      else byName.set(key, [part]);
    }
    const out = new Map<string, string>();
    for (const [key, parts] of byName) out.set(key, JSON.stringify(mergeRecords(parts)));
    return out;
  }

  private isClean(): boolean {
    if (this.sweepPending) return false;
    const want = this.wanted();
    if (want.size !== this.written.size) return false;
    for (const [k, v] of want) if (this.written.get(k) !== v) return false;
    return true;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return; // a retry is scheduled; it will see the change
    this.running = this.flush().finally(() => {
      this.running = undefined;
      if (this.again && !this.timer) {
        this.again = false;
        this.kick();
      } else if (!this.timer && this.isClean()) {
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      const lease = await this.ensureLease();
      const want = this.wanted();
      for (const [key, value] of want) {
        if (this.stopped) return;
        if (this.written.get(key) === value) continue;
        await this.kv.put(key, value, { lease: lease.id });
        this.written.set(key, value);
      }
      for (const key of [...this.written.keys()]) {
        if (this.stopped) return;
        if (want.has(key)) continue;
        await this.kv.delete(key).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
        this.written.delete(key);
      }
      if (this.sweepPending) {
        const listing = await this.kv.list(DNS_PREFIX);
        for (const pair of listing.items) {
          const parts = parseDnsRecordKey(pair.key);
          if (!parts || parts.node !== this.nodeName || want.has(pair.key)) continue;
          this.log.info({ key: pair.key }, 'DNS registrar: removing a record of this node that no endpoint wants');
          await this.kv.delete(pair.key, { expectRevision: pair.modRevision }).catch(() => undefined);
        }
        this.sweepPending = false;
      }
      this.failures = 0;
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      if (err instanceof NotFoundError && this.lease) {
        // etcd no longer knows our lease: our keys went with it. Start over with a new one.
        this.log.warn({ lease: this.lease.id }, 'DNS registrar: lease gone; registering again with a new lease');
        this.dropLease();
      }
      const delay = Math.min(this.retryMs * 2 ** (this.failures - 1), 5000);
      this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'DNS registrar: writing records failed');
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, delay);
    }
  }

  private dropLease(): void {
    this.lease = undefined;
    this.written = new Map();
  }

  private async ensureLease(): Promise<Lease> {
    if (this.lease) return this.lease;
    const lease = await this.kv.grantLease(this.ttl);
    if (this.stopped) {
      await lease.revoke().catch(() => undefined);
      throw new Error('stopped');
    }
    lease.onLost(() => {
      if (this.lease !== lease) return;
      this.log.warn({ lease: lease.id }, 'DNS registrar: lease lost; registering again with a new lease');
      this.dropLease();
      this.kick();
    });
    lease.keepAlive();
    this.lease = lease;
    this.written = new Map();
    this.log.info({ lease: lease.id, ttlSeconds: this.ttl }, 'DNS registrar: lease granted');
    return lease;
  }
}
