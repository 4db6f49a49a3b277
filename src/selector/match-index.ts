import type { EvaluationContext, Labels } from './evaluate.js';
import { parseSelector, Selector } from './selector.js';

/** Told when an item starts or stops matching a selector. */
export interface MatchListener<S, I> {
  onMatchStarted(selectorId: S, itemId: I): void;
  onMatchStopped(selectorId: S, itemId: I): void;
}

interface Item {
  readonly labels: Labels;
  readonly ctx: EvaluationContext;
}

/**
 * Keeps a set of selectors and a set of labelled items, and reports, as either side changes,
 * which items start or stop matching which selectors. A changed item is re-evaluated against
 * every selector, a changed selector against every item: simple, and correct by construction.
 *
 * The index's state is updated before any listener call of that change, so a listener sees
 * the new state; on one change, all `onMatchStopped` calls come before the `onMatchStarted` ones.
 */
export class SelectorIndex<S = string, I = string> {
  private readonly selectors = new Map<S, Selector>();
  private readonly items = new Map<I, Item>();
  private readonly itemsBySelector = new Map<S, Set<I>>();
  private readonly selectorsByItem = new Map<I, Set<S>>();

  constructor(private readonly listener: MatchListener<S, I>) {}

  /** Adds or replaces a selector. A string is parsed, and may throw `SelectorError`. */
  updateSelector(id: S, selector: Selector | string): void {
    const parsed = typeof selector === 'string' ? parseSelector(selector) : selector;
    const old = this.selectors.get(id);
    if (old !== undefined && old.canonical === parsed.canonical) {
      this.selectors.set(id, parsed); // same meaning: nothing can start or stop matching
      return;
    }
    this.selectors.set(id, parsed);
    const matching = new Set<I>();
    for (const [itemId, item] of this.items) {
      if (parsed.matches(item.labels, item.ctx)) matching.add(itemId);
    }
    this.replaceSelectorMatches(id, matching);
  }

  deleteSelector(id: S): void {
    if (!this.selectors.delete(id)) return;
    this.replaceSelectorMatches(id, new Set());
    this.itemsBySelector.delete(id);
  }

  /** Adds or replaces an item. Labels and context are copied, so the caller may reuse its objects. */
  updateItem(id: I, labels: Labels, ctx: EvaluationContext = {}): void {
    const item: Item = { labels: { ...labels }, ctx: { ...ctx } };
    this.items.set(id, item);
    const matching = new Set<S>();
    for (const [selectorId, selector] of this.selectors) {
      if (selector.matches(item.labels, item.ctx)) matching.add(selectorId);
    }
    this.replaceItemMatches(id, matching);
  }

  deleteItem(id: I): void {
    if (!this.items.delete(id)) return;
    this.replaceItemMatches(id, new Set());
    this.selectorsByItem.delete(id);
  }

  /** The ids of the items that match a selector now, in no particular order. */
  matchingItems(selectorId: S): I[] {
    return [...(this.itemsBySelector.get(selectorId) ?? [])];
  }

  /** The ids of the selectors that an item matches now, in no particular order. */
  matchingSelectors(itemId: I): S[] {
    return [...(this.selectorsByItem.get(itemId) ?? [])];
  }

  get selectorCount(): number {
    return this.selectors.size;
  }

  get itemCount(): number {
    return this.items.size;
  }

  private replaceSelectorMatches(selectorId: S, now: Set<I>): void {
    const before = this.itemsBySelector.get(selectorId) ?? new Set<I>();
    const stopped = [...before].filter((itemId) => !now.has(itemId));
    const started = [...now].filter((itemId) => !before.has(itemId));
    for (const itemId of stopped) this.unlink(selectorId, itemId);
    for (const itemId of started) this.link(selectorId, itemId);
    this.emit(stopped.map((itemId) => [selectorId, itemId]), started.map((itemId) => [selectorId, itemId]));
  }

  private replaceItemMatches(itemId: I, now: Set<S>): void {
    const before = this.selectorsByItem.get(itemId) ?? new Set<S>();
    const stopped = [...before].filter((selectorId) => !now.has(selectorId));
    const started = [...now].filter((selectorId) => !before.has(selectorId));
    for (const selectorId of stopped) this.unlink(selectorId, itemId);
    for (const selectorId of started) this.link(selectorId, itemId);
    this.emit(stopped.map((selectorId) => [selectorId, itemId]), started.map((selectorId) => [selectorId, itemId]));
  }

  private link(selectorId: S, itemId: I): void {
    getOrCreate(this.itemsBySelector, selectorId).add(itemId);
    getOrCreate(this.selectorsByItem, itemId).add(selectorId);
  }

  private unlink(selectorId: S, itemId: I): void {
    removeFromSetMap(this.itemsBySelector, selectorId, itemId);
    removeFromSetMap(this.selectorsByItem, itemId, selectorId);
  }

  private emit(stopped: ReadonlyArray<readonly [S, I]>, started: ReadonlyArray<readonly [S, I]>): void {
    for (const [selectorId, itemId] of stopped) this.listener.onMatchStopped(selectorId, itemId);
    for (const [selectorId, itemId] of started) this.listener.onMatchStarted(selectorId, itemId);
  }
}

function getOrCreate<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

/** Removes a value, and the key too once its set is empty, so deleted ids leave nothing behind. */
function removeFromSetMap<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
