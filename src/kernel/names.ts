/**
 * Names the kernel accepts for network interfaces and namespaces, checked before any
 * command runs so that the error names the bad value instead of an iproute2 message.
 */
import { UserError } from '../common/errors.js';

export class InvalidNameError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidNameError';
  }
}

/** IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;

/**
 * Throws unless `name` is a valid Linux interface name: 1-15 bytes, not "." or "..", and
 * without '/', ':' or whitespace (the kernel's dev_valid_name()). `where` says whose name
 * it is, e.g. `veth end in netns "tt1ab2c-h1"`.
 */
export function checkIfName(name: string, where = 'interface'): string {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) throw new InvalidNameError(`${where}: interface name is empty`);
  if (bytes > MAX_IFNAME_LENGTH) {
    throw new InvalidNameError(
      `${where}: interface name "${name}" is ${bytes} characters long; Linux allows at most ${MAX_IFNAME_LENGTH}`,
    );
  }
  if (name === '.' || name === '..') throw new InvalidNameError(`${where}: interface name "${name}" is not allowed`);
  if (/[/:\s]/.test(name)) {
    throw new InvalidNameError(`${where}: interface name "${name}" contains '/', ':' or whitespace`);
  }
  return name;
}

/** Namespace names become files in /run/netns; keep them to a safe, shell-free alphabet. */
export const MAX_NETNS_NAME_LENGTH = 64;

export function checkNetnsName(name: string, where = 'network namespace'): string {
  if (name === '') throw new InvalidNameError(`${where}: name is empty`);
  if (name.length > MAX_NETNS_NAME_LENGTH) {
    throw new InvalidNameError(`${where}: name "${name}" is longer than ${MAX_NETNS_NAME_LENGTH} characters`);
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new InvalidNameError(
      `${where}: name "${name}" may only contain letters, digits, '_', '.' and '-' (and must not start with '.' or '-')`,
    );
  }
  return name;
}
