/**
 * A CNI runtime in miniature, as the specification describes one: it calls a plugin
 * executable with CNI_* variables and the network configuration on stdin, reads the result
 * or error JSON on stdout, and chains a conflist's plugins (prevResult from one to the next,
 * DEL in reverse). Plugins run inside the namespace that stands for the host (nsenter), so
 * nothing happens in the root namespace.
 */
import { mkdtempSync, rmSync, symlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import type { KV } from '../../../src/datastore/kv.js';

export const PLUGIN_BIN = fileURLToPath(new URL('../../../bin/tortie-cni.js', import.meta.url));
export const REFERENCE_PLUGINS = '/usr/lib/cni';

export interface PluginRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: Record<string, unknown>;
}

export interface Invocation {
  command: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  /** Extra or overriding environment (a value of undefined removes the variable). */
  env?: Record<string, string | undefined>;
}

/** A CNI_PATH folder: `tortie` -> bin/tortie-cni.js, plus the reference plugins by name. */
export function makeCniPath(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tortie-cnipath-'));
  symlinkSync(PLUGIN_BIN, join(dir, 'tortie'));
  for (const name of readdirSync(REFERENCE_PLUGINS)) symlinkSync(join(REFERENCE_PLUGINS, name), join(dir, name));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs one plugin. `hostNetns`: the named namespace standing for the host, where the
 * plugin process runs; undefined runs it in the test's own namespace (in-process mode tests
 * that point the plugin at a test namespace with the config's hostNetns).
 */
export async function runPlugin(
  file: string,
  inv: Invocation,
  config: unknown,
  options: { hostNetns?: string; cniPath?: string } = {},
): Promise<PluginRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: inv.command };
  if (inv.containerId !== undefined) env.CNI_CONTAINERID = inv.containerId;
  if (inv.netns !== undefined) env.CNI_NETNS = inv.netns;
  if (inv.ifName !== undefined) env.CNI_IFNAME = inv.ifName;
  if (inv.args !== undefined) env.CNI_ARGS = inv.args;
  env.CNI_PATH = options.cniPath ?? REFERENCE_PLUGINS;
  for (const [k, v] of Object.entries(inv.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  const argv = options.hostNetns === undefined ? [file] : [`--net=/run/netns/${options.hostNetns}`, file];
  const result = await execa(options.hostNetns === undefined ? file : 'nsenter', argv, { env, extendEnv: false, input, reject: false, timeout: 60_000 });
  const stdout = String(result.stdout);
  let json: Record<string, unknown> | undefined;
  try {
    json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: result.exitCode ?? -1, stdout, stderr: String(result.stderr), json };
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** A conflist's plugin i as the runtime hands it over: name, cniVersion, prevResult, runtimeConfig. */
function pluginConfig(list: Conflist, i: number, prevResult: unknown, runtimeConfig: Record<string, unknown>): Record<string, unknown> {
  const p = list.plugins[i]!;
  const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const caps = (p.capabilities ?? {}) as Record<string, boolean>;
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(caps)) if (on && runtimeConfig[cap] !== undefined) rc[cap] = runtimeConfig[cap];
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  delete conf.capabilities;
  return conf;
}

/** Runs a conflist like libcni: ADD and CHECK in order, DEL in reverse; stops at the first error. */
export async function runChain(
  list: Conflist,
  command: 'ADD' | 'CHECK' | 'DEL',
  inv: Omit<Invocation, 'command'>,
  options: { hostNetns?: string; cniPath: string; prevResult?: unknown; runtimeConfig?: Record<string, unknown> },
): Promise<{ result?: unknown; failed?: { plugin: string; run: PluginRun } }> {
  const order = list.plugins.map((_, i) => i);
  if (command === 'DEL') order.reverse();
  let prev = command === 'ADD' ? undefined : options.prevResult;
  for (const i of order) {
    const type = String(list.plugins[i]!.type);
    const run = await runPlugin(join(options.cniPath, type), { ...inv, command }, pluginConfig(list, i, prev, options.runtimeConfig ?? {}), options);
    if (run.exitCode !== 0) return { failed: { plugin: type, run } };
    if (command === 'ADD') prev = run.json;
  }
  return { result: prev };
}

export async function addPool(kv: KV, name: string, cidr: string, blockSize = 26): Promise<void> {
  await new ResourceStore(kv).apply({ apiVersion: 'tortie.dev/v1', kind: 'IPPool', metadata: { name }, spec: { cidr, blockSize } });
}
