/**
 * EtcdKV: the KV contract on etcd v3 (the etcd3 npm client over gRPC).
 *
 * - Every write is one etcd transaction. Conditions compare the key's mod revision (create:
 *   create revision 0), and the failure branch reads back each guarded key, so that the
 *   error names the key and says what was found, from the same atomic snapshot.
 * - Watches are our own, on the raw Watch stream, not etcd3's Watcher: that one moves its
 *   resume point to the header revision of the create response, so a disconnect during a
 *   catch-up replay would skip events, and it drops the compact revision of a cancelled
 *   watch. Ours remembers the revision after the last event received, resumes there after
 *   any disconnect or etcd restart, drops anything at or below it (nothing doubled), and
 *   reports compaction as a CompactedError.
 * - Calls carry short deadlines and gRPC reconnects quickly, so a CLI against an unreachable
 *   etcd fails within seconds with an UnavailableError naming the endpoints.
 * Revisions arrive as strings and are carried as numbers (see kv.ts).
 */
import { circuitBreaker, ConsecutiveBreaker, handleWhen, isBrokenCircuitError, noop } from 'cockatiel';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  isRecoverableError,
  type ICompare,
  type IDuplexStream,
  type IKeyValue,
  type ILeaseKeepAliveRequest,
  type ILeaseKeepAliveResponse,
  type IRequestOp,
  type IWatchRequest,
  type IWatchResponse,
} from 'etcd3';
import { NotFoundError, UnavailableError, UserError } from '../common/errors.js';
import { logger } from '../log/logger.js';
import {
  CompactedError,
  failedStepError,
  stepHolds,
  validateTxn,
  type CasOptions,
  type Compactable,
  type KV,
  type KVPair,
  type Lease,
  type ListResult,
  type TxnOp,
  type TxnResult,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WatchOptions,
  type WriteOptions,
} from './kv.js';
import { WatchQueue } from './watch-queue.js';

const log = logger('datastore.etcd');

export interface EtcdKVOptions {
  /** host:port of each member (IPv6 in brackets). */
  endpoints: string[];
  /** Connect with TLS; the PEM contents of the CA to trust and of the client certificate. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  /** Deadline of each unary call (default 3000 ms): how long a silent etcd can stall a command. */
  callTimeoutMs?: number;
}

/** What a call was about, to name it in errors. */
interface Subject {
  key?: string;
  lease?: string;
}

const str = (buf: Buffer) => buf.toString('utf8');

/** etcd3 types its streams narrowly; they are grpc-js duplex streams, full event emitters. */
type Stream<Req, Res> = IDuplexStream<Req, Res> & NodeJS.EventEmitter;

function pairOf(kv: IKeyValue): KVPair {
  const pair: KVPair = {
    key: str(kv.key),
    value: str(kv.value),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
  if (kv.lease && kv.lease !== '0') pair.lease = BigInt(kv.lease).toString(16);
  return pair;
}

/** The first key after every key that starts with prefix (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]); // an empty (or all-0xff) prefix: every key
}

/** Lease ids are hex in our API (as etcdctl prints them) and decimal int64 on the wire. */
function leaseWireId(hex: string): string {
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) throw new NotFoundError(`lease "${hex}" does not exist (not a lease id)`);
  return BigInt(`0x${hex}`).toString();
}

function isUnreachable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    isBrokenCircuitError(err) ||
    code === 14 ||
    code === 4 ||
    /\b(UNAVAILABLE|DEADLINE_EXCEEDED)\b|No connection established|ECONNREFUSED/.test(err.message)
  );
}

/** Errors after which a request surely did not reach etcd's state machine. */
function neverSent(err: Error): boolean {
  return (
    !isTlsFailure(err) &&
    isBrokenCircuitError(err) ||
    /No connection established|ECONNREFUSED|etcdserver: no leader|etcdserver: not capable/.test(err.message)
  );
}

/** A TLS handshake that failed: a setting to fix, not a passing fault worth retrying. */
function isTlsFailure(err: Error): boolean {
  return /ssl|tls|certificate|handshake|secure channel/i.test(err.message);
}

/**
 * grpc-js wraps the cause in "14 UNAVAILABLE: No connection established. Last error: ...
 * Resolution note: ...", and OpenSSL in its own codes; keep the part a person can act on.
 */
function reasonOf(err: Error): string {
  if (isBrokenCircuitError(err)) return 'it failed several times in a row, not trying again for a moment';
  let reason = err.message
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/^No connection established\. Last error: /, '')
    .replace(/\s*Resolution note:.*$/s, '')
    .replace(/^Error: /, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/, '');
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(reason);
  if (openssl) reason = openssl[1]!;
  reason = reason.replace(/\s+/g, ' ').trim().replace(/\.$/, '') || err.name;
  return isTlsFailure(err) ? `TLS failed: ${reason} (check the CA, client certificate and key)` : reason;
}

export class EtcdKV implements KV, Compactable {
  readonly url: string;
  /** The etcd3 client; for tests and tools that need what the KV contract does not offer. */
  readonly client: Etcd3;
  private readonly where: string;
  private readonly retryForMs: number;
  private readonly watches = new Set<EtcdWatch>();
  private readonly leases = new Set<EtcdLease>();
  private closed = false;

  constructor(options: EtcdKVOptions) {
    if (options.endpoints.length === 0) throw new UserError('etcd: no endpoints given');
    const secure = options.tls !== undefined;
    this.url = `${secure ? 'etcds' : 'etcd'}://${options.endpoints.join(',')}`;
    this.where = options.endpoints.join(',');
    const callTimeoutMs = options.callTimeoutMs ?? 3000;
    const tls = options.tls ?? {};
    this.retryForMs = callTimeoutMs;
    this.client = new Etcd3({
      hosts: options.endpoints.map((endpoint) => `${secure ? 'https' : 'http'}://${endpoint}`),
      // createSsl takes a null CA to mean the system's trust store; etcd3's type wants a Buffer.
      credentials: secure && (tls.ca || tls.cert) ? { rootCertificate: tls.ca as Buffer, privateKey: tls.key, certChain: tls.cert } : undefined,
      auth: options.auth,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      grpcOptions: {
        // gRPC's default reconnect backoff grows to 120 s; an etcd that restarts should be
        // found again within a second.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.min_reconnect_backoff_ms': 100,
        // A silently dead member (host gone, no RST) still breaks the watch stream.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      faultHandling: {
        // Retries are ours (see call()): etcd3's retry both skips UNAVAILABLE, the error of a
        // dead member, and retries writes that may already have been applied.
        global: noop,
        // A member that failed three times in a row is skipped for a second, not five (etcd3's
        // default), so that a restarted member is used again soon.
        host: () =>
          circuitBreaker(
            handleWhen((err) => isRecoverableError(err) || isUnreachable(err)),
            { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) },
          ),
      },
    });
  }

  async get(key: string): Promise<KVPair | null> {
    const res = await this.call({ key }, () => this.client.kv.range({ key: Buffer.from(key) }), 'safe');
    const kv = res.kvs[0];
    return kv ? pairOf(kv) : null;
  }

  async list(prefix: string): Promise<ListResult> {
    const res = await this.call({ key: prefix }, () => this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }), 'safe');
    // etcd returns a range in key (byte) order.
    return { items: res.kvs.map(pairOf), revision: Number(res.header.revision) };
  }

  async create(key: string, value: string, options: WriteOptions = {}): Promise<KVPair> {
    return (await this.txn([{ op: 'create', key, value, lease: options.lease }])).results[0]!;
  }

  async update(key: string, value: string, options: CasOptions = {}): Promise<KVPair> {
    const { expectRevision, lease } = options;
    return (await this.txn([{ op: 'update', key, value, expectRevision, lease }])).results[0]!;
  }

  async put(key: string, value: string, options: WriteOptions = {}): Promise<KVPair> {
    return (await this.txn([{ op: 'put', key, value, lease: options.lease }])).results[0]!;
  }

  async delete(key: string, options: { expectRevision?: number } = {}): Promise<void> {
    await this.txn([{ op: 'delete', key, expectRevision: options.expectRevision }]);
  }

  async txn(ops: TxnOp[]): Promise<TxnResult> {
    validateTxn(ops);
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    const guarded = new Set<string>();
    const leases = ops.flatMap((op) => ('lease' in op && op.lease !== undefined ? [op.lease] : []));
    for (const op of ops) {
      const key = Buffer.from(op.key);
      const exists = (): ICompare => ({ key, target: 'Version', result: 'Greater', version: 0 });
      const atRevision = (revision: number): ICompare => ({ key, target: 'Mod', result: 'Equal', mod_revision: revision });
      switch (op.op) {
        case 'create':
          compare.push({ key, target: 'Create', result: 'Equal', create_revision: 0 });
          break;
        case 'update':
        case 'delete':
          compare.push(op.expectRevision === undefined ? exists() : atRevision(op.expectRevision));
          break;
        case 'check':
          compare.push(atRevision(op.expectRevision));
          break;
        case 'put':
          break;
      }
      if (op.op !== 'put') guarded.add(op.key);
      if (op.op === 'delete') success.push({ request_delete_range: { key, prev_kv: true } });
      if (op.op === 'create' || op.op === 'update' || op.op === 'put') {
        success.push({
          request_put: { key, value: Buffer.from(op.value), prev_kv: true, lease: op.lease === undefined ? undefined : leaseWireId(op.lease) },
        });
      }
    }
    // On failure, read every guarded key in the same snapshot: the error then says which
    // condition failed and why.
    const failure: IRequestOp[] = [...guarded].map((key) => ({ request_range: { key: Buffer.from(key) } }));
    const subject: Subject = { key: ops.length === 1 ? ops[0]!.key : undefined, lease: leases[0] };
    const res = await this.call(subject, () => this.client.kv.txn({ compare, success, failure }));
    const revision = Number(res.header.revision);

    if (!res.succeeded) {
      const actual = new Map<string, number>();
      for (const response of res.responses) {
        const kv = response.response_range?.kvs[0];
        if (kv) actual.set(str(kv.key), Number(kv.mod_revision));
      }
      for (const op of ops) {
        const found = actual.get(op.key) ?? 0;
        if (!stepHolds(op, found)) throw failedStepError(op, found);
      }
      throw new Error(`etcd at ${this.where} refused a transaction whose conditions all hold on read-back`);
    }

    let next = 0;
    const results = ops.map((op): KVPair | null => {
      if (op.op === 'check') return null;
      const response = res.responses[next++]!;
      if (op.op === 'delete') return null;
      const prev = response.response_put?.prev_kv;
      const pair: KVPair = { key: op.key, value: op.value, modRevision: revision, createRevision: prev ? Number(prev.create_revision) : revision };
      if (op.lease !== undefined) pair.lease = op.lease;
      return pair;
    });
    return { revision, results };
  }

  watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Watch {
    if (this.closed) throw this.closedError();
    const watch = new EtcdWatch(this, prefix, options.fromRevision, handlers, () => this.watches.delete(watch));
    this.watches.add(watch);
    return watch;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    if (!(ttlSeconds >= 1) || !Number.isInteger(ttlSeconds)) throw new RangeError(`etcd lease TTL must be a whole number of seconds >= 1, not ${ttlSeconds}`);
    const res = await this.call({}, () => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }), 'safe'); // a lease granted twice: the spare one expires
    if (res.error) throw new UnavailableError(`etcd at ${this.where} refused a lease: ${res.error}`);
    const lease = new EtcdLease(this, BigInt(res.ID).toString(16), Number(res.TTL), () => this.leases.delete(lease));
    this.leases.add(lease);
    return lease;
  }

  async revision(): Promise<number> {
    const res = await this.call({}, () => this.client.kv.range({ key: Buffer.from([0]), limit: 1, count_only: true }), 'safe');
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    await this.call({}, () => this.client.kv.compact({ revision, physical: true }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((watch) => watch.cancel()));
    for (const lease of this.leases) lease.stop();
    this.client.close();
  }

  /**
   * Runs one etcd call, turning gRPC and etcd errors into ours. Each try goes to a member
   * picked afresh, so a dead member is passed over. A 'safe' call (a read, or one that may
   * happen twice) is tried again on any unreachable member for up to one call deadline; any
   * other only when it surely never reached etcd, so that a write is never applied twice
   * and then reported as a conflict with itself.
   */
  async call<T>(subject: Subject, fn: () => Promise<T>, retry: 'safe' | 'unsent' = 'unsent'): Promise<T> {
    if (this.closed) throw this.closedError();
    const giveUpAt = Date.now() + this.retryForMs;
    let lastReal: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // "Circuit open" only says a member was skipped; the error that opened it says why.
        if (!(err instanceof Error && isBrokenCircuitError(err))) lastReal = err;
        const again =
          err instanceof Error &&
          !this.closed &&
          Date.now() < giveUpAt &&
          (retry === 'safe' ? isUnreachable(err) && !isTlsFailure(err) : neverSent(err));
        if (!again) throw this.translate(lastReal ?? err, subject);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
      }
    }
  }

  translate(err: unknown, subject: Subject = {}): Error {
    if (!(err instanceof Error)) return new Error(String(err));
    if (err instanceof UserError) return err;
    const on = subject.key === undefined ? '' : ` (key "${subject.key}")`;
    if (err instanceof EtcdLeaseInvalidError || /requested lease not found/.test(err.message)) {
      return new NotFoundError(`lease ${subject.lease ?? '(unknown)'} does not exist on etcd at ${this.where} (expired or revoked)${on}`);
    }
    if (err instanceof EtcdAuthenticationFailedError) {
      return new UserError(`etcd at ${this.where}: authentication failed: wrong user name or password`);
    }
    if (err instanceof EtcdPermissionDeniedError || err instanceof GRPCUnauthenticatedError || /user name is empty|permission denied/.test(err.message)) {
      return new UserError(`etcd at ${this.where}: not allowed${on}: ${reasonOf(err)}`);
    }
    if (this.closed || err.name === 'ClientClosedError') return this.closedError();
    if (isUnreachable(err)) return new UnavailableError(`etcd at ${this.where} is unreachable: ${reasonOf(err)}`, { cause: err });
    return err;
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`etcd at ${this.where}: this client is closed`);
  }
}

const RESUME_BACKOFF_MIN_MS = 100;
const RESUME_BACKOFF_MAX_MS = 2000;

/**
 * One watch on its own gRPC stream. `nextRevision` is the first revision not yet received:
 * every (re)connect asks etcd for events from there, and any event below it is a repeat.
 */
class EtcdWatch implements Watch {
  private readonly queue: WatchQueue;
  private nextRevision: number | undefined;
  private stream: Stream<IWatchRequest, IWatchResponse> | undefined;
  private cancelled = false;
  private backoffMs = RESUME_BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private outage: string | undefined;
  private readonly log;

  constructor(
    private readonly kv: EtcdKV,
    private readonly prefix: string,
    fromRevision: number | undefined,
    handlers: WatchHandlers,
    private readonly onCancel: () => void,
  ) {
    this.log = log.child({ prefix });
    this.nextRevision = fromRevision;
    this.queue = new WatchQueue(handlers, fromRevision ?? 1, this.log);
    void this.connect();
  }

  get lastRevision(): number {
    return this.queue.lastRevision;
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue.stop();
    clearTimeout(this.retryTimer);
    this.dropStream();
    this.onCancel();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.cancelled) return;
    let stream: Stream<IWatchRequest, IWatchResponse>;
    try {
      stream = (await this.kv.client.watchClient.watch()) as Stream<IWatchRequest, IWatchResponse>;
    } catch (err) {
      this.broken(undefined, err);
      return;
    }
    if (this.cancelled) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    stream.on('data', (res: IWatchResponse) => this.onResponse(stream, res));
    stream.on('error', (err: Error) => this.broken(stream, err));
    stream.on('end', () => this.broken(stream, new Error('etcd ended the watch stream')));
    stream.write({
      create_request: {
        key: Buffer.from(this.prefix),
        range_end: prefixEnd(this.prefix),
        start_revision: this.nextRevision ?? 0, // 0: from the next revision on
        prev_kv: true,
        progress_notify: true,
      },
    });
  }

  private onResponse(stream: Stream<IWatchRequest, IWatchResponse>, res: IWatchResponse): void {
    if (stream !== this.stream || this.cancelled) return;
    const headerRevision = Number(res.header.revision);
    if (res.canceled) {
      const compactRevision = Number(res.compact_revision);
      if (compactRevision > 0) {
        this.cancelled = true;
        this.dropStream();
        this.onCancel();
        this.queue.fail(new CompactedError(this.prefix, this.nextRevision ?? headerRevision, compactRevision));
        return;
      }
      const reason = res.cancel_reason || 'no reason given';
      if (/permission denied|user name is empty|invalid auth token/.test(reason)) {
        // Waiting will not help: the caller must fix its credentials.
        this.cancelled = true;
        this.dropStream();
        this.onCancel();
        this.queue.fail(new UserError(`etcd at ${this.kv.url}: not allowed to watch "${this.prefix}": ${reason}`));
        return;
      }
      this.broken(stream, new Error(`etcd cancelled the watch: ${reason}`));
      return;
    }
    if (res.created) {
      this.backoffMs = RESUME_BACKOFF_MIN_MS;
      if (this.outage !== undefined) this.log.info({ fromRevision: this.nextRevision }, 'watch resumed');
      this.outage = undefined;
      if (this.nextRevision === undefined) {
        this.nextRevision = headerRevision + 1;
        this.queue.startAt(headerRevision + 1);
      }
    }
    const events: WatchEvent[] = [];
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (this.nextRevision !== undefined && revision < this.nextRevision) continue; // seen before a reconnect
      const prev = ev.prev_kv ? pairOf(ev.prev_kv) : undefined;
      if (ev.type === 'Put') events.push(prev ? { type: 'put', kv: pairOf(ev.kv), prev } : { type: 'put', kv: pairOf(ev.kv) });
      else events.push(prev ? { type: 'delete', key: str(ev.kv.key), modRevision: revision, prev } : { type: 'delete', key: str(ev.kv.key), modRevision: revision });
    }
    if (events.length > 0) {
      // etcd never splits one revision's events over two responses (we ask for no fragments).
      const last = events[events.length - 1]!;
      this.nextRevision = (last.type === 'put' ? last.kv.modRevision : last.modRevision) + 1;
      this.queue.push(events);
    } else if (!res.created && res.events.length === 0 && this.nextRevision !== undefined) {
      // A progress notification: etcd sends these only to watches that are caught up, so
      // nothing below the header revision is still to come. Resuming later from there, not
      // from the last event, keeps a quiet watch clear of compaction.
      this.nextRevision = Math.max(this.nextRevision, headerRevision + 1);
    }
  }

  /** The stream failed: drop it and resume after a backoff. */
  private broken(stream: Stream<IWatchRequest, IWatchResponse> | undefined, err: unknown): void {
    if (stream !== this.stream || this.cancelled || this.retryTimer) return;
    this.dropStream();
    const reason = this.kv.translate(err).message;
    if (this.outage === undefined) this.log.warn({ reason, resumeFrom: this.nextRevision }, 'watch disconnected; resuming');
    this.outage = reason;
    this.retryTimer = setTimeout(() => void this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, RESUME_BACKOFF_MAX_MS);
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    stream.removeAllListeners();
    stream.on('error', () => undefined); // the cancel below reports CANCELLED; nobody listens
    stream.cancel();
  }
}

/**
 * A lease; keepAlive() renews it every third of its TTL. It is lost when etcd says it has
 * expired, or when no renewal has succeeded for a whole TTL.
 */
class EtcdLease implements Lease {
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = Date.now();
  private readonly lostHandlers: (() => void)[] = [];
  private live = true;

  constructor(
    private readonly kv: EtcdKV,
    readonly id: string,
    readonly ttlSeconds: number,
    private readonly onGone: () => void,
  ) {}

  keepAlive(): void {
    if (!this.live || this.timer) return;
    const beat = async () => {
      if (!this.live) return;
      try {
        const ttl = await this.renew();
        if (ttl <= 0) return this.lose('etcd says it has expired');
        this.lastRenewed = Date.now();
      } catch (err) {
        if (Date.now() - this.lastRenewed > this.ttlSeconds * 1000) return this.lose(this.kv.translate(err).message);
      }
      if (this.live) this.timer = setTimeout(() => void beat(), (this.ttlSeconds * 1000) / 3);
    };
    this.timer = setTimeout(() => void beat(), 0);
  }

  async revoke(): Promise<void> {
    if (!this.live) return;
    this.stop();
    try {
      await this.kv.call({ lease: this.id }, () => this.kv.client.leaseClient.leaseRevoke({ ID: leaseWireId(this.id) }), 'safe');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err; // already gone: what revoke wanted
    }
  }

  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  /** Stops renewing, without revoking (the client is closing). */
  stop(): void {
    this.live = false;
    clearTimeout(this.timer);
    this.onGone();
  }

  private lose(reason: string): void {
    if (!this.live) return;
    log.warn({ lease: this.id, reason }, 'lease lost');
    this.stop();
    for (const handler of this.lostHandlers) handler();
  }

  /** One keep-alive round trip on a short-lived stream; returns the TTL etcd grants (<= 0: gone). */
  private async renew(): Promise<number> {
    const stream = (await this.kv.call({ lease: this.id }, () => this.kv.client.leaseClient.leaseKeepAlive(), 'safe')) as Stream<
      ILeaseKeepAliveRequest,
      ILeaseKeepAliveResponse
    >;
    try {
      return await new Promise<number>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new GRPCDeadlineExceededError('lease keep-alive got no answer')), (this.ttlSeconds * 1000) / 3);
        stream.once('data', (res: ILeaseKeepAliveResponse) => {
          clearTimeout(deadline);
          resolve(Number(res.TTL));
        });
        stream.once('error', (err: Error) => {
          clearTimeout(deadline);
          reject(err);
        });
        stream.write({ ID: leaseWireId(this.id) });
      });
    } finally {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      stream.cancel();
    }
  }
}
