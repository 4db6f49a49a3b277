import { createHash } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A short stable name for some text: the first `length` characters of the lowercase base32
 * SHA-256 of it. Lowercase letters and digits only, so it fits chain names, ipset names and
 * rule comments. 16 characters are 80 bits: collisions are not a practical concern.
 */
export function hashText(text: string, length = 16): string {
  const key = length === 16 ? text : `${length}\0${text}`;
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const out = compute(text, length);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, out);
  return out;
}

/** Names are asked for again and again (every endpoint, every apply): remember them. */
const memo = new Map<string, string>();
const MEMO_LIMIT = 200_000;

function compute(text: string, length: number): string {
  const digest = createHash('sha256').update(text, 'utf8').digest();
  let out = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of digest) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      bits -= 5;
      out += BASE32[(buffer >> bits) & 31];
    }
    if (out.length >= length) break;
  }
  return out;
}
