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

export interface CreateNetnsOptions {
  /**
   * Keep IPv6 duplicate address detection on (default off). Off, because we choose every
   * address ourselves and DAD only delays: while an interface's link-local address is
   * still tentative, neighbour discovery across a router loses packets for a second or two.
   */
  dad?: boolean;
}

/**
 * Creates the namespace, brings its loopback up (a fresh namespace has lo down) and,
 * unless asked otherwise, turns IPv6 DAD off for the interfaces that will come.
 */
export async function createNetns(name: string, options: CreateNetnsOptions = {}): Promise<void> {
  checkNetnsName(name);
  await run('ip', ['netns', 'add', name]);
  try {
    await ipBatch(['link set lo up'], { netns: name });
    if (!options.dad) await setSysctls(name, { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 });
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
  await setSysctls(netns, { [key]: value });
}

/** Sets several sysctls inside the namespace with one process. */
export async function setSysctls(netns: string, values: Record<string, string | number>): Promise<void> {
  const pairs = Object.entries(values).map(([key, value]) => {
    checkSysctlKey(key);
    if (String(value).trim() === '') throw new UserError(`sysctl ${key}: empty value`);
    return `${key}=${value}`;
  });
  if (pairs.length === 0) return;
  // `ip netns exec` remounts /sys for the namespace; /proc/sys/net follows the caller's netns.
  await execInNetns(netns, 'sysctl', ['-q', '-w', ...pairs]);
}

export async function getSysctl(netns: string, key: string): Promise<string> {
  checkSysctlKey(key);
  return (await execInNetns(netns, 'sysctl', ['-n', key])).trim();
}

function checkSysctlKey(key: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/.test(key)) throw new UserError(`sysctl: "${key}" is not a sysctl name`);
}
