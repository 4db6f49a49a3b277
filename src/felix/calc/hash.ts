import { createHash } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A short stable name for some text: the first `length` characters of the lowercase base32
 * SHA-256 of it. Lowercase letters and digits only, so it fits chain names, ipset names and
 * rule comments. 16 characters are 80 bits: collisions are not a practical concern.
 */
export function hashText(text: string, length = 16): string {
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
