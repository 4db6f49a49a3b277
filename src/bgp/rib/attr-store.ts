/**
 * Interned attribute sets: one entry per distinct (attributes, next hop) that some path
 * uses, shared by every path that has it, with the facts the decision process needs worked
 * out once, and a cache of what the set becomes towards each kind of outgoing peer.
 * Entries are reference counted by the paths that use them and freed at zero.
 */
import { Origin } from '../wire/constants.js';
import { asPathLength } from '../wire/attributes/as-path.js';
import type { PathAttributes } from '../wire/attributes/types.js';
import { AsPathSegmentType } from '../wire/constants.js';
import { nextHopText } from './addresses.js';

/** LOCAL_PREF of a route that has none (RFC 4271 §5.1.5 leaves it to us; everyone uses 100). */
export const DEFAULT_LOCAL_PREF = 100;

export interface AttrEntry {
  readonly id: number;
  readonly key: string;
  refs: number;
  /** As they stand in the Loc-RIB: after import policy, LOCAL_PREF of eBGP routes removed. */
  readonly attrs: PathAttributes;
  /** Next hop bytes: 4 (IPv4), 16 or 32 (IPv6 global [+ link-local]); null for a local route without one. */
  readonly nextHop: Buffer | null;
  readonly nextHopText: string | null;
  readonly localPref: number;
  readonly asPathLen: number;
  readonly origin: number;
  /** MULTI_EXIT_DISC, 0 when absent (RFC 4271 §9.1.2.2 (c)). */
  readonly med: number;
  /** First AS of the path: the AS MEDs are comparable within (RFC 4271 §9.1.2.2 (c)); our AS when the path is empty. */
  readonly neighborAs: number;
  /** ORIGINATOR_ID, or -1. */
  readonly originatorId: number;
  readonly clusterListLen: number;
  /** Locally originated. */
  readonly local: boolean;
  /**
   * Outgoing forms, keyed by export profile (and source peer where it matters): an
   * OutStore id, or -1 when the set cannot be sent to that kind of peer. Each cached id
   * holds one reference on its OutStore entry.
   */
  out: Map<number, number> | null;
}

function neighborAsOf(attrs: PathAttributes, localAsn: number): number {
  const path = attrs.asPath;
  if (path !== undefined) {
    for (const s of path) {
      if (s.type === AsPathSegmentType.AS_SEQUENCE && s.asns.length > 0) return s.asns[0] as number;
      if (s.type === AsPathSegmentType.AS_SET) break;
    }
  }
  return localAsn;
}

export class AttrStore {
  private readonly byKey = new Map<string, number>();
  private readonly entries: (AttrEntry | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /** Called with an entry about to be freed, so that its export cache can be released. */
  onFree: ((e: AttrEntry) => void) | null = null;

  constructor(private readonly localAsn: number) {}

  get size(): number {
    return this.byKey.size;
  }

  get(id: number): AttrEntry {
    return this.entries[id] as AttrEntry;
  }

  /** The id for `key`, or -1. Does not take a reference. */
  lookup(key: string): number {
    return this.byKey.get(key) ?? -1;
  }

  /** Add an entry (the key must be new). Does not take a reference. */
  add(key: string, attrs: PathAttributes, nextHop: Buffer | null, local: boolean): number {
    const id = this.freeIds.pop() ?? this.entries.length;
    const entry: AttrEntry = {
      id,
      key,
      refs: 0,
      attrs,
      nextHop,
      nextHopText: nextHop === null ? null : nextHopText(nextHop),
      localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
      asPathLen: attrs.asPath === undefined ? 0 : asPathLength(attrs.asPath),
      origin: attrs.origin ?? Origin.INCOMPLETE,
      med: attrs.med ?? 0,
      neighborAs: neighborAsOf(attrs, this.localAsn),
      originatorId: attrs.originatorId ?? -1,
      clusterListLen: attrs.clusterList?.length ?? 0,
      local,
      out: null,
    };
    this.entries[id] = entry;
    this.byKey.set(key, id);
    return id;
  }

  retain(id: number): void {
    (this.entries[id] as AttrEntry).refs++;
  }

  release(id: number): void {
    const e = this.entries[id] as AttrEntry;
    if (--e.refs > 0) return;
    this.free(e);
  }

  /** Free an entry that was added but that no path took in the end. */
  dropIfUnused(id: number): void {
    const e = this.entries[id];
    if (e !== undefined && e.refs === 0) this.free(e);
  }

  private free(e: AttrEntry): void {
    const id = e.id;
    this.onFree?.(e);
    this.byKey.delete(e.key);
    this.entries[id] = undefined;
    this.freeIds.push(id);
  }
}
