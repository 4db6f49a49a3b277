/**
 * Small building blocks for hand-written validators. Each one takes the value and its field
 * path and either returns the checked value or throws a ValidationError naming the path.
 * Hand-written rather than JSON Schema so that every message reads like something a person
 * wrote: `spec.blockSize: 40 is out of range 20-32 for IPv4`.
 */
import { ValidationError } from './errors.js';

export function fail(path: string, detail: string): never {
  throw new ValidationError(path, detail);
}

/** A value as it appears in a message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * An object's fields, with unknown keys rejected (`spec.natOutgoin: unknown field (did you
 * mean natOutgoing?)`) so that a typo is not silently ignored.
 */
export class Fields {
  private constructor(
    readonly obj: Record<string, unknown>,
    readonly path: string,
  ) {}

  static of(value: unknown, path: string, known: readonly string[]): Fields {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(path, `must be an object, not ${show(value)}`);
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        const guess = closest(key, known);
        fail(join(path, key), `unknown field${guess ? ` (did you mean ${guess}?)` : ''}`);
      }
    }
    return new Fields(obj, path);
  }

  at(key: string): string {
    return join(this.path, key);
  }

  /** The raw value, with YAML's `null` (an empty key) read as absent. */
  raw(key: string): unknown {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  required(key: string): unknown {
    const v = this.raw(key);
    if (v === undefined) fail(this.at(key), 'is required');
    return v;
  }

  string(key: string, check?: (s: string, path: string) => string | void): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return checkString(v, this.at(key), check);
  }

  requiredString(key: string, check?: (s: string, path: string) => string | void): string {
    this.required(key);
    return this.string(key, check) as string;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') fail(this.at(key), `must be true or false, not ${show(v)}`);
    return v;
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return checkInt(v, this.at(key), min, max);
  }

  number(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(this.at(key), `must be a number, not ${show(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return checkOneOf(v, this.at(key), values);
  }

  list<T>(key: string, each: (item: unknown, path: string) => T): T[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return checkList(v, this.at(key), each);
  }

  stringMap(key: string, checkKey?: (k: string, path: string) => void, checkValue?: (v: string, path: string) => void): Record<string, string> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const path = this.at(key);
    if (typeof v !== 'object' || Array.isArray(v)) fail(path, `must be a map of strings, not ${show(v)}`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      const p = join(path, k);
      checkKey?.(k, p);
      // YAML reads `app: 1` or `on: true` as non-strings; labels are strings, so say so.
      if (typeof val !== 'string') fail(p, `must be a string, not ${show(val)} (quote it)`);
      checkValue?.(val, p);
      out[k] = val;
    }
    return out;
  }

  /** A nested object checked by `fn`. */
  object<T>(key: string, fn: (value: unknown, path: string) => T): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return fn(v, this.at(key));
  }
}

export function checkString(v: unknown, path: string, check?: (s: string, path: string) => string | void): string {
  if (typeof v !== 'string') fail(path, `must be a string, not ${show(v)}`);
  const replaced = check?.(v, path);
  return typeof replaced === 'string' ? replaced : v;
}

export function checkInt(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `must be a whole number, not ${show(v)}`);
  if (v < min || v > max) fail(path, `${v} is out of range ${min}-${max}`);
  return v;
}

export function checkOneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v === 'string') {
    if ((values as readonly string[]).includes(v)) return v as T;
    // Accept a different case (always -> Always) as Calico's users often write it.
    const match = values.find((x) => x.toLowerCase() === v.toLowerCase());
    if (match) return match;
  }
  fail(path, `${show(v)} is not one of ${values.join(', ')}`);
}

export function checkList<T>(v: unknown, path: string, each: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) fail(path, `must be a list, not ${show(v)}`);
  return v.map((item, i) => each(item, join(path, i)));
}

/** The known name nearest to a typo, if it is near enough to be a likely meaning. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Removes keys whose value is undefined, so stored and printed resources carry no empty keys. */
export function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
