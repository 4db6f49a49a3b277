/**
 * ResourceStore: typed resources on top of the KV contract, with calicoctl's verbs.
 *
 * Key layout: see keys.ts (`/tortie/v1/resources/<kind>/[<namespace>/]<name>`).
 * metadata.resourceVersion is the key's KV modRevision as a string; uid (a random UUID) and
 * creationTimestamp (ISO 8601, UTC) are set by the store when a resource is created and kept
 * across replace/apply.
 *
 * Verbs, as calicoctl has them:
 *   create   fails if the resource exists;
 *   replace  fails if it does not; a resourceVersion given is a compare-and-swap;
 *   apply    creates or replaces (a resourceVersion given is honoured as well);
 *   delete   fails if it does not exist (unless skipNotExists).
 * applyAll() checks every document first and then writes all of them in one KV transaction:
 * if any one fails, nothing is written.
 */
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, ConflictError, NotFoundError, UserError } from '../../common/errors.js';
import type { KV, KVPair, TxnOp } from '../kv.js';
import { checkPoolImmutable, checkPoolOverlap } from './cross.js';
import { describeIdentity, ResourceError, ValidationError, type ResourceIdentity } from './errors.js';
import { checkName, checkNamespace } from './checks.js';
import { Fields, fail } from '../../common/fields.js';
import { kindPrefix, resourceKey } from './keys.js';
import { DEFAULT_NAMESPACE, kindFromDocument, kindInfo, KIND_NAMES } from './kinds.js';
import { identityOf, validateResource } from './validate.js';
import { API_VERSION, type AnyResource, type IPPool, type KindName, type Resource } from './types.js';
import { ResourceWatcher, type ResourceWatch, type ResourceWatchHandlers } from './watch.js';

export type WriteVerb = 'create' | 'replace' | 'apply' | 'delete';

export interface ResourceStoreOptions {
  /** Clock for creationTimestamp (tests pin it). */
  now?: () => Date;
  newUid?: () => string;
}

export interface ApplyOptions {
  /** Namespace for namespaced documents that give none (default "default"). */
  defaultNamespace?: string;
  /** delete: a missing resource is not an error (calicoctl --skip-not-exists). */
  skipNotExists?: boolean;
  /** create: an existing resource is left as it is, not an error (calicoctl --skip-exists). */
  skipExists?: boolean;
}

export interface BatchResult {
  /** What was written (for delete: what was there before). */
  resource: AnyResource;
  /** False when skipped: a delete of a missing resource, or a create of an existing one. */
  changed: boolean;
}

export interface Target {
  kind: KindName;
  name: string;
  namespace?: string;
}

/** A document planned for the transaction. */
interface Planned {
  index: number;
  identity: ResourceIdentity;
  key: string;
  resource: AnyResource;
  existing: KVPair | null;
  op: TxnOp | null;
}

/** How often apply re-reads and tries again when someone else wrote between read and write. */
const APPLY_ATTEMPTS = 5;

export class ResourceStore {
  private readonly now: () => Date;
  private readonly newUid: () => string;

  constructor(
    readonly kv: KV,
    options: ResourceStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
  }

  async get<K extends KindName>(kind: K, name: string, options: { namespace?: string } = {}): Promise<Resource<K> | null> {
    const namespace = kindInfo(kind).namespaced ? (options.namespace ?? DEFAULT_NAMESPACE) : undefined;
    const pair = await this.kv.get(resourceKey(kind, name, namespace));
    return pair ? (decodeResource(pair) as Resource<K> | null) : null;
  }

  /** Like get, but a missing resource is a NotFoundError naming it. */
  async mustGet<K extends KindName>(kind: K, name: string, options: { namespace?: string } = {}): Promise<Resource<K>> {
    const found = await this.get(kind, name, options);
    if (!found) throw notFound({ kind, name, namespace: kindInfo(kind).namespaced ? (options.namespace ?? DEFAULT_NAMESPACE) : undefined });
    return found;
  }

  /** Every resource of a kind; for namespaced kinds one namespace, or all when none is given. */
  async list<K extends KindName>(kind: K, options: { namespace?: string } = {}): Promise<{ items: Resource<K>[]; revision: number }> {
    const result = await this.kv.list(kindPrefix(kind, options.namespace));
    const items: Resource<K>[] = [];
    for (const pair of result.items) {
      const r = decodeResource(pair);
      if (r) items.push(r as Resource<K>);
    }
    return { items, revision: result.revision };
  }

  async create(doc: unknown, options: ApplyOptions = {}): Promise<AnyResource> {
    return this.single(doc, 'create', options);
  }

  async replace(doc: unknown, options: ApplyOptions = {}): Promise<AnyResource> {
    return this.single(doc, 'replace', options);
  }

  async apply(doc: unknown, options: ApplyOptions = {}): Promise<AnyResource> {
    return this.single(doc, 'apply', options);
  }

  /** Deletes one resource and returns what it was. `resourceVersion` makes it a CAS. */
  async delete(target: Target & { resourceVersion?: string }, options: ApplyOptions = {}): Promise<AnyResource | null> {
    const doc = {
      apiVersion: API_VERSION,
      kind: target.kind,
      metadata: { name: target.name, namespace: target.namespace, resourceVersion: target.resourceVersion },
    };
    const [result] = await this.unwrap(this.applyAll([doc], 'delete', options));
    return result.changed ? result.resource : null;
  }

  /**
   * Checks every document, then writes them all in one transaction. A failure throws a
   * ResourceError naming the document (0-based `index`) and nothing is written.
   */
  async applyAll(docs: readonly unknown[], verb: WriteVerb, options: ApplyOptions = {}): Promise<BatchResult[]> {
    const given = docs.map((doc, index) => this.checkDocument(doc, index, verb, options));
    const retry = verb === 'apply' && given.every((g) => g.resource.metadata.resourceVersion === undefined);
    for (let attempt = 1; ; attempt++) {
      const planned = await this.plan(given, verb, options);
      try {
        return await this.commit(planned);
      } catch (err) {
        // Someone wrote one of these keys between our read and our write: read again.
        const raced = err instanceof ResourceError && (err.cause instanceof ConflictError || err.cause instanceof AlreadyExistsError || err.cause instanceof NotFoundError);
        if (!retry || !raced || attempt >= APPLY_ATTEMPTS) throw err;
      }
    }
  }

  /** Watches kinds: lists, then follows changes; see watch.ts for the event contract. */
  watch(kinds: readonly KindName[], handlers: ResourceWatchHandlers): ResourceWatch {
    const watcher = new ResourceWatcher(this.kv, kinds, decodeResource, handlers);
    watcher.start();
    return watcher;
  }

  private async single(doc: unknown, verb: WriteVerb, options: ApplyOptions): Promise<AnyResource> {
    const [result] = await this.unwrap(this.applyAll([doc], verb, options));
    return result.resource;
  }

  /** For one-resource calls, the underlying error reads better than "document 1: ...". */
  private async unwrap<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof ResourceError && err.cause instanceof UserError) {
        const who = describeIdentity(err.identity);
        const cause = err.cause;
        if (cause instanceof ValidationError && who) throw new ValidationError(cause.path, `${cause.detail} (${who})`);
        throw cause;
      }
      throw err;
    }
  }

  private checkDocument(doc: unknown, index: number, verb: WriteVerb, options: ApplyOptions): { index: number; identity: ResourceIdentity; resource: AnyResource } {
    const identity = identityOf(doc);
    try {
      const resource = verb === 'delete' ? identifyForDelete(doc, options) : validateResource(doc, options);
      return { index, identity: { kind: resource.kind, name: resource.metadata.name, namespace: resource.metadata.namespace }, resource };
    } catch (err) {
      if (err instanceof UserError) throw new ResourceError(index, identity, err.message, { cause: err });
      throw err;
    }
  }

  private async plan(given: { index: number; identity: ResourceIdentity; resource: AnyResource }[], verb: WriteVerb, options: ApplyOptions): Promise<Planned[]> {
    const seen = new Map<string, number>();
    const planned: Planned[] = [];
    // One read at a time: an unreachable store then fails on the first with one clear error,
    // rather than with as many concurrent failures as there are documents.
    const existing: (KVPair | null)[] = [];
    for (const g of given) existing.push(await this.kv.get(resourceKey(g.resource.kind, g.resource.metadata.name, g.resource.metadata.namespace)));
    for (const [i, g] of given.entries()) {
      const key = resourceKey(g.resource.kind, g.resource.metadata.name, g.resource.metadata.namespace);
      const fault = (err: UserError): never => {
        throw new ResourceError(g.index, g.identity, err.message, { cause: err });
      };
      const twice = seen.get(key);
      if (twice !== undefined) fault(new UserError(`appears twice in this batch (also document ${twice + 1})`));
      seen.set(key, g.index);
      const prior = existing[i];
      const wantRevision = g.resource.metadata.resourceVersion === undefined ? undefined : Number(g.resource.metadata.resourceVersion);
      if (wantRevision !== undefined && prior && prior.modRevision !== wantRevision) {
        fault(new ConflictError(`${describeIdentity(g.identity)} has changed since resourceVersion ${wantRevision} (it is at ${prior.modRevision}); get it again`));
      }
      let op: TxnOp | null;
      let resource = g.resource;
      if (verb === 'delete') {
        if (!prior) {
          if (options.skipNotExists) {
            planned.push({ index: g.index, identity: g.identity, key, resource, existing: null, op: null });
            continue;
          }
          fault(notFound(g.identity));
        }
        resource = decodeResource(prior!) ?? resource;
        op = { op: 'delete', key, expectRevision: prior!.modRevision };
      } else {
        if (verb === 'create' && prior) {
          if (options.skipExists) {
            planned.push({ index: g.index, identity: g.identity, key, resource: decodeResource(prior) ?? resource, existing: prior, op: null });
            continue;
          }
          fault(new AlreadyExistsError(`${describeIdentity(g.identity)} already exists`));
        }
        if (verb === 'replace' && !prior) fault(notFound(g.identity));
        if (!prior && wantRevision !== undefined) fault(notFound(g.identity));
        resource = this.stamp(g.resource, prior);
        const value = encodeResource(resource);
        op = prior ? { op: 'update', key, value, expectRevision: prior.modRevision } : { op: 'create', key, value };
      }
      planned.push({ index: g.index, identity: g.identity, key, resource, existing: prior, op });
    }
    await this.checkAcross(planned, verb);
    return planned;
  }

  /** Rules that need other resources: pool overlap and pool immutability. */
  private async checkAcross(planned: Planned[], verb: WriteVerb): Promise<void> {
    const pools = planned.filter((p) => p.resource.kind === 'IPPool');
    if (pools.length === 0 || verb === 'delete') return;
    const stored = (await this.list('IPPool')).items;
    const batchNames = new Set(pools.map((p) => p.resource.metadata.name));
    for (const p of pools) {
      const pool = p.resource as IPPool;
      const fault = (err: UserError): never => {
        throw new ResourceError(p.index, p.identity, err.message, { cause: err });
      };
      try {
        if (p.existing) {
          const before = decodeResource(p.existing);
          if (before?.kind === 'IPPool') checkPoolImmutable(before, pool);
        }
        // The pools as they will be after this batch: stored ones not rewritten here, plus the
        // batch's own (so two new pools in one file may not overlap either).
        const others = [
          ...stored.filter((s) => !batchNames.has(s.metadata.name)),
          ...pools.filter((q) => q !== p).map((q) => q.resource as IPPool),
        ];
        checkPoolOverlap(pool, others);
      } catch (err) {
        if (err instanceof UserError) fault(err);
        throw err;
      }
    }
  }

  private async commit(planned: Planned[]): Promise<BatchResult[]> {
    const writes = planned.filter((p) => p.op !== null);
    if (writes.length === 0) return planned.map((p) => ({ resource: p.resource, changed: false }));
    let result;
    try {
      result = await this.kv.txn(writes.map((p) => p.op!));
    } catch (err) {
      // The KV names the key whose condition failed; turn it back into the document.
      const culprit = err instanceof UserError ? writes.find((p) => err.message.includes(`"${p.key}"`)) : undefined;
      if (culprit && err instanceof UserError) {
        const detail = err instanceof AlreadyExistsError ? `${describeIdentity(culprit.identity)} already exists` : `${describeIdentity(culprit.identity)} was changed by someone else meanwhile; try again`;
        throw new ResourceError(culprit.index, culprit.identity, detail, { cause: err });
      }
      throw err;
    }
    const byKey = new Map(writes.map((p, i) => [p.key, result.results[i]] as const));
    return planned.map((p) => {
      if (p.op === null) return { resource: p.resource, changed: false };
      const pair = byKey.get(p.key);
      const resource = structuredClone(p.resource);
      resource.metadata.resourceVersion = String(pair ? pair.modRevision : result.revision);
      return { resource, changed: true };
    });
  }

  /** Store-owned metadata: a new uid and timestamp at create, the old ones kept after. */
  private stamp(resource: AnyResource, prior: KVPair | null): AnyResource {
    const out = structuredClone(resource);
    delete out.metadata.resourceVersion;
    const before = prior ? decodeResource(prior) : null;
    out.metadata.uid = before?.metadata.uid ?? this.newUid();
    out.metadata.creationTimestamp = before?.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    return out;
  }
}

function notFound(id: ResourceIdentity): NotFoundError {
  return new NotFoundError(`${describeIdentity(id)} does not exist`);
}

/** delete -f only needs to know which resource: kind and metadata (name, namespace). */
function identifyForDelete(doc: unknown, options: ApplyOptions): AnyResource {
  const f = Fields.of(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const kindText = f.requiredString('kind');
  const info = kindFromDocument(kindText);
  if (!info) fail('kind', `unknown kind ${JSON.stringify(kindText)}; valid kinds: ${KIND_NAMES.join(', ')}`);
  const m = Fields.of(f.required('metadata'), 'metadata', ['name', 'namespace', 'labels', 'annotations', 'resourceVersion', 'uid', 'creationTimestamp', 'generation']);
  const name = m.requiredString('name', checkName);
  const namespace = info.namespaced ? (m.string('namespace', checkNamespace) ?? options.defaultNamespace ?? DEFAULT_NAMESPACE) : undefined;
  const rv = m.raw('resourceVersion');
  const metadata = { name, ...(namespace !== undefined ? { namespace } : {}), ...(rv !== undefined && rv !== '' ? { resourceVersion: String(rv) } : {}) };
  return { apiVersion: API_VERSION, kind: info.kind, metadata, spec: {} } as AnyResource;
}

function encodeResource(resource: AnyResource): string {
  return JSON.stringify(resource);
}

/** A stored value back into a resource, or null (logged by the caller) if it is not one. */
export function decodeResource(pair: KVPair): AnyResource | null {
  let value: unknown;
  try {
    value = JSON.parse(pair.value);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const r = value as AnyResource;
  if (typeof r.kind !== 'string' || typeof r.metadata?.name !== 'string') return null;
  r.metadata.resourceVersion = String(pair.modRevision);
  r.apiVersion = API_VERSION;
  return r;
}
