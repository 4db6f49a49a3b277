/**
 * Named network namespaces as iproute2 makes them: `ip netns add NAME` bind-mounts the
 * namespace at /run/netns/NAME, so it outlives any process and every tool can find it.
 *
 * Short commands run through `ip netns exec`. Long-lived processes must not: see
 * process.ts (ip netns exec gives its command a private mount namespace).
 */
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { ipBatch, run, type RunOptions } from './exec.js';
import { checkNetnsName } from './names.js';
import { UserError } from '../common/errors.js';

export const NETNS_DIR = '/run/netns';

/** The file that stands for a named namespace, for nsenter --net= and setns(). */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${checkNetnsName(name)}`;
}

/** Creates the namespace and brings its loopback up (a fresh namespace has lo down). */
export async function createNetns(name: string): Promise<void> {
  checkNetnsName(name);
  await run('ip', ['netns', 'add', name]);
  try {
    await ipBatch(['link set lo up'], { netns: name });
  } catch (err) {
    await run('ip', ['netns', 'delete', name]).catch(() => undefined);
    throw err;
  }
}

/**
 * Deletes the namespace. Its interfaces go with it once no process is left inside (a veth
 * end dies with its namespace, and takes its peer along).
 */
export async function deleteNetns(name: string): Promise<void> {
  checkNetnsName(name);
  await run('ip', ['netns', 'delete', name]);
}

/** Names of every named namespace on the machine (not only ours), sorted. */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/**
 * Runs a short command inside the namespace and returns its stdout; throws CommandError
 * (one line with the command and its stderr) if it fails.
 */
export async function execInNetns(
  name: string,
  file: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<string> {
  checkNetnsName(name);
  return run('ip', ['netns', 'exec', name, file, ...args], options);
}

/** Sets a sysctl inside the namespace, e.g. ("net.ipv4.ip_forward", 1). */
export async function setSysctl(netns: string, key: string, value: string | number): Promise<void> {
  checkSysctlKey(key);
  // `ip netns exec` remounts /sys for the namespace; /proc/sys/net follows the caller's netns.
  await execInNetns(netns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}

export async function getSysctl(netns: string, key: string): Promise<string> {
  checkSysctlKey(key);
  return (await execInNetns(netns, 'sysctl', ['-n', key])).trim();
}

function checkSysctlKey(key: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/.test(key)) throw new UserError(`sysctl: "${key}" is not a sysctl name`);
}
