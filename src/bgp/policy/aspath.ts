/**
 * AS_PATH conditions and the prepend action. Counting and scanning walk the segments
 * directly; only the regular expression needs the path as text, and that text is cached per
 * AS_PATH array (shared by every attribute object that shares the array) in a WeakMap.
 */
import { AsPathSegmentType } from '../wire/constants.js';
import { asPathLength } from '../wire/attributes/as-path.js';
import type { AsPathSegment, PathAttributes } from '../wire/attributes/types.js';
import { fail, show } from '../../common/fields.js';
import type { Modifier, Predicate } from './types.js';

const EMPTY_PATH: readonly AsPathSegment[] = Object.freeze([]);

/** Some ASN of the path (any segment type) is one of `asns`. */
export function asPathContains(asns: ReadonlySet<number>): Predicate {
  return (_input, attrs) => {
    const path = attrs.asPath;
    if (path === undefined) return false;
    for (let i = 0; i < path.length; i++) {
      const a = path[i]!.asns;
      for (let j = 0; j < a.length; j++) if (asns.has(a[j]!)) return true;
    }
    return false;
  };
}

/**
 * The origin AS (the last ASN of a path that ends in an AS_SEQUENCE) is one of `asns`. A
 * path ending in an AS_SET has no single origin and an empty path (a route of our own AS)
 * none at all: neither matches, as with BIRD's `bgp_path.last`.
 */
export function asPathOriginatedBy(asns: ReadonlySet<number>): Predicate {
  return (_input, attrs) => {
    const path = attrs.asPath;
    if (path === undefined || path.length === 0) return false;
    const last = path[path.length - 1]!;
    if (last.type !== AsPathSegmentType.AS_SEQUENCE || last.asns.length === 0) return false;
    return asns.has(last.asns[last.asns.length - 1]!);
  };
}

/** Path length by RFC 4271 §9.1.2.2 (an AS_SET counts one, confederation segments none). */
export function asPathLengthIn(min: number, max: number): Predicate {
  return (_input, attrs) => {
    const n = attrs.asPath === undefined ? 0 : asPathLength(attrs.asPath);
    return n >= min && n <= max;
  };
}

/**
 * The path begins with exactly these ASNs (Calico's asPathPrefix, BIRD's `[= a b * =]`).
 * Leading confederation segments are skipped: they are our own confederation's business.
 */
export function asPathStartsWith(prefix: readonly number[]): Predicate {
  const want = prefix.slice();
  return (_input, attrs) => {
    const path = attrs.asPath ?? EMPTY_PATH;
    let k = 0;
    for (let i = 0; i < path.length && k < want.length; i++) {
      const seg = path[i]!;
      if (seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET) {
        if (k === 0) continue;
        return false;
      }
      if (seg.type !== AsPathSegmentType.AS_SEQUENCE) return false;
      for (let j = 0; j < seg.asns.length && k < want.length; j++, k++) if (seg.asns[j] !== want[k]) return false;
    }
    return k === want.length;
  };
}

const pathText = new WeakMap<readonly AsPathSegment[], string>();

/**
 * The path as FRR prints it: sequences as "65001 65002", sets as "{65003,65004}", and
 * confederation sequences and sets as "(65010 65011)" and "[65012,65013]".
 */
export function asPathText(path: readonly AsPathSegment[] | undefined): string {
  if (path === undefined || path.length === 0) return '';
  let text = pathText.get(path);
  if (text === undefined) {
    text = path.map((s) => {
      switch (s.type) {
        case AsPathSegmentType.AS_SET: return `{${s.asns.join(',')}}`;
        case AsPathSegmentType.AS_CONFED_SEQUENCE: return `(${s.asns.join(' ')})`;
        case AsPathSegmentType.AS_CONFED_SET: return `[${s.asns.join(',')}]`;
        default: return s.asns.join(' ');
      }
    }).join(' ');
    pathText.set(path, text);
  }
  return text;
}

/**
 * An FRR as-path regular expression -> a JavaScript one. FRR's `_` stands for a delimiter:
 * the start or end of the path, a space, a comma, or a bracket of a set or confederation
 * segment, so `_65001_` finds 65001 anywhere and never inside 165001.
 */
export function compileAsPathRegex(source: unknown, path: string): RegExp {
  if (typeof source !== 'string' || source === '') fail(path, `must be a regular expression over the AS path, e.g. "^65001_" or "_65002$", not ${show(source)}`);
  try {
    return new RegExp(source.replace(/_/g, '(?:^|$|[ ,{}()\\[\\]])'));
  } catch (err) {
    fail(path, `${show(source)} is not a valid regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')})`);
  }
}

/**
 * The regex over the path text. Its answer is remembered per AS_PATH array: routes share
 * interned attribute sets, so most evaluations are a WeakMap hit, not a regex run.
 */
export function asPathMatches(re: RegExp): Predicate {
  const answers = new WeakMap<readonly AsPathSegment[], boolean>();
  const onEmpty = re.test('');
  return (_input, attrs) => {
    const path = attrs.asPath;
    if (path === undefined) return onEmpty;
    let hit = answers.get(path);
    if (hit === undefined) {
      hit = re.test(asPathText(path));
      answers.set(path, hit);
    }
    return hit;
  };
}

/**
 * Prepend `asns` (in this order) to the path: into the leading AS_SEQUENCE when there is
 * one, else as a new leading segment (after any confederation segments, which RFC 5065 keeps
 * in front). The encoder splits segments longer than 255, so no limit here.
 */
export function prependAsns(asns: readonly number[]): Modifier {
  const add = asns.slice();
  return (attrs) => {
    const path = attrs.asPath ?? EMPTY_PATH;
    let i = 0;
    while (i < path.length && (path[i]!.type === AsPathSegmentType.AS_CONFED_SEQUENCE || path[i]!.type === AsPathSegmentType.AS_CONFED_SET)) i++;
    const next = path.slice(0, i);
    const seg = path[i];
    if (seg !== undefined && seg.type === AsPathSegmentType.AS_SEQUENCE) {
      next.push({ type: AsPathSegmentType.AS_SEQUENCE, asns: [...add, ...seg.asns] });
      i++;
    } else {
      next.push({ type: AsPathSegmentType.AS_SEQUENCE, asns: add.slice() });
    }
    for (; i < path.length; i++) next.push(path[i]!);
    const out: PathAttributes = { ...attrs, asPath: next };
    return out;
  };
}
