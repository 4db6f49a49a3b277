/** BGP passwords: Calico's `{secretKeyRef: {name, key}}`, or (tortie) the password as a string. */
import { checkName } from '../checks.js';
import { Fields, show, fail } from '../../../common/fields.js';
import type { BGPPassword } from '../types.js';

export function checkBGPPassword(value: unknown, path: string): BGPPassword {
  if (typeof value === 'string') {
    if (value === '') fail(path, 'must not be empty');
    // TCP-MD5 keys are at most 80 bytes (RFC 2385 as implemented by Linux).
    if (Buffer.byteLength(value) > 80) fail(path, 'is longer than 80 bytes, the TCP-MD5 limit');
    return { value };
  }
  const f = Fields.of(value, path, ['secretKeyRef']);
  const ref = f.object('secretKeyRef', (v, p) => {
    const g = Fields.of(v, p, ['name', 'key', 'optional']);
    const name = g.requiredString('name', checkName);
    const key = g.requiredString('key');
    const optional = g.bool('optional');
    return optional === undefined ? { name, key } : { name, key, optional };
  });
  if (!ref) fail(path, `needs secretKeyRef or a password string, not ${show(value)}`);
  return { secretKeyRef: ref };
}
