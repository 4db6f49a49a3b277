/**
 * `tortie lab up|down|exec`: a containerlab topology realized with network namespaces.
 *
 *   node (kind linux)   a namespace tl-<lab>-<node>; its exec commands run inside it through
 *                       nsenter (not `ip netns exec`: see kernel/process.ts), with the
 *                       container paths of its binds mapped to the bound files
 *   node (kind bridge)  a namespace with a Linux bridge named after the node; the link
 *                       endpoints on it become its ports
 *   link                a veth pair with containerlab's interface names (eth1, ...)
 *   FRR node            zebra and bgpd with the bound frr.conf (lab/frr.ts)
 *   tortie host         its cmd (`tortie node run ...`) in its namespace, with the lab's
 *                       etcd as datastore and a control socket of its own
 *   etcd node           replaced by an etcd the lab starts itself (lab/etcd.ts)
 *
 * Everything is written to the state file before it is made; down() works from that file.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../common/errors.js';
import { addBridge, addBridgePort, addVethPair } from '../kernel/links.js';
import { checkNetnsName } from '../kernel/names.js';
import { createNetns, deleteNetns, netnsExists, netnsPath, setSysctls } from '../kernel/netns.js';
import { startLabEtcd } from './etcd.js';
import { startFrrNode } from './frr.js';
import { startDetached, stopProcesses } from './proc.js';
import { Progress } from './progress.js';
import { assertSchemaValid, packageRoot } from './schema.js';
import { FRR_RUN_DIR, isAlive, labsDir, readState, removeState, writeState, type LabState, type NodeRecord } from './state.js';
import { mapBinds, readTopologyFile, TopologyError, type LabNode, type Topology } from './topology.js';
import { readWorkloads } from './workloads.js';

export interface UpOptions {
  /** Use this lab name instead of the file's `name` (containerlab's --name). */
  name?: string;
  progress?: Progress;
  /** How long to wait for BGP sessions to come up (default 60 s; 0: do not wait). */
  waitSessionsMs?: number;
}

export function netnsFor(lab: string, node: string): string {
  return checkNetnsName(`tl-${lab}-${node}`, `lab ${lab}, node ${node}`);
}

/** Lower-case, '-'-only form of the lab name, for workload names. */
function labSlug(lab: string): string {
  return lab.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

export function loadTopology(file: string, name?: string): Topology {
  const { doc, topology } = readTopologyFile(file);
  assertSchemaValid(doc, file);
  if (name !== undefined) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-._]*$/.test(name)) throw new UserError(`--name "${name}": use letters, digits, '-', '.' and '_'`);
    topology.name = name;
  }
  return topology;
}

/** Shell words of a command line (enough for cmd: quotes and backslashes). */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === q) q = null;
      else if (c === '\\' && q === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (q) throw new UserError(`unterminated quote in command: ${text}`);
  if (has || cur) out.push(cur);
  return out;
}

function flagValue(words: string[], flag: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    if (words[i] === flag) return words[i + 1];
    if (words[i]!.startsWith(`${flag}=`)) return words[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** A tortie host's daemon command, made to fit the lab: its own socket, the lab's etcd. */
export function hostDaemonCommand(node: LabNode, socket: string, datastore: string): { words: string[]; tortieName: string; ip?: string } {
  if (!node.cmd) throw new TopologyError(`node ${node.name}: a tortie host needs cmd: tortie node run --name NAME ...`);
  const words = shellWords(mapBinds(node.cmd, node.binds));
  if (words[0] !== 'tortie' || words[1] !== 'node' || words[2] !== 'run') {
    throw new TopologyError(`node ${node.name}: cmd "${node.cmd}": a tortie host's cmd must be "tortie node run ..."`);
  }
  const out = [...words];
  const ds = out.findIndex((w) => w === '--datastore' || w.startsWith('--datastore='));
  if (ds >= 0) {
    if (out[ds] === '--datastore') out.splice(ds, 2);
    else out.splice(ds, 1);
  }
  out.push('--datastore', datastore);
  if (flagValue(out, '--socket') === undefined) out.push('--socket', socket);
  return { words: out, tortieName: flagValue(out, '--name') ?? node.name, ip: flagValue(out, '--ip') };
}

function writeShim(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'tortie');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(packageRoot(), 'bin', 'tortie.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  return bin;
}

/** The environment of a node's commands. */
function nodeEnv(state: LabState, node: LabNode, rec: NodeRecord): Record<string, string> {
  const env: Record<string, string> = {
    ...node.env,
    PATH: `${join(state.dir, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    TORTIE_WORKLOAD_DIR: state.workloadDir,
    TORTIE_LAB: state.lab,
  };
  if (state.datastore) env.TORTIE_DATASTORE = state.datastore.unixUrl;
  if (rec.socket) env.TORTIE_NODE_SOCKET = rec.socket;
  if (rec.netns) env.CLAB_NODE_NAME = node.name;
  return env;
}

/** Runs a short shell command inside a namespace (nsenter, so no private mount namespace). */
export async function runInNode(netns: string, command: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('nsenter', [`--net=${netnsPath(netns)}`, '--', 'sh', '-c', command], { env: { ...process.env, ...env }, reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? (r.timedOut ? 124 : 1), stdout: String(r.stdout), stderr: String(r.stderr) };
}

function isAnswering(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(socketPath);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function waitForSocket(socket: string, proc: { pid: number; startTime: string; what: string; log?: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive({ ...proc })) {
      const tail = proc.log && existsSync(proc.log) ? readFileSync(proc.log, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      throw new UserError(`${proc.what} exited while starting${tail ? `: ${tail}` : ''}${proc.log ? ` (log: ${proc.log})` : ''}`);
    }
    if (existsSync(socket) && (await isAnswering(socket))) return;
    if (Date.now() > deadline) throw new UserError(`${proc.what}: no control socket ${socket} within ${timeoutMs / 1000} s (log: ${proc.log})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Brings the lab up; on any failure or interrupt, removes what it made and rethrows. */
export async function up(file: string, options: UpOptions = {}): Promise<LabState> {
  const progress = options.progress ?? new Progress();
  const topo = loadTopology(file, options.name);
  const workloads = readWorkloads(topo);
  const lab = topo.name;
  const existing = readState(lab);
  if (existing) throw new UserError(`lab ${lab} is up already (state ${join(labsDir(), `${lab}.json`)}); run tortie lab down ${file}${options.name ? ` --name ${lab}` : ''} first`);
  for (const n of topo.nodes) {
    if (n.role === 'etcd') continue;
    const ns = netnsFor(lab, n.name);
    if (netnsExists(ns)) throw new UserError(`network namespace ${ns} exists already but lab ${lab} has no state file; delete it (ip netns delete ${ns}) if it is a leftover`);
  }
  const dir = join(labsDir(), lab);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const state: LabState = {
    version: 1,
    lab,
    file: topo.file,
    prefix: `tl-${lab}-`,
    dir,
    createdAt: new Date().toISOString(),
    phase: 'starting',
    namespaces: [],
    processes: [],
    nodes: [],
    workloads: [],
    workloadDir: join(dir, 'workloads'),
    ...(topo.nodes.some((n) => n.role === 'frr') ? { frrDir: join(FRR_RUN_DIR, lab) } : {}),
  };
  if (state.frrDir) rmSync(state.frrDir, { recursive: true, force: true });
  writeState(state);
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  const check = () => {
    if (interrupted) throw new UserError(`lab ${lab}: interrupted by ${interrupted}`);
  };
  try {
    writeShim(dir);
    const needsEtcd = topo.nodes.some((n) => n.role === 'host' || n.role === 'etcd');
    if (needsEtcd) {
      const etcd = await progress.step('etcd for the lab', () =>
        startLabEtcd(join(dir, 'etcd'), `lab-${labSlug(lab)}`, (p) => {
          state.processes.push(p);
          writeState(state);
        }),
      );
      state.datastore = { url: etcd.url, unixUrl: etcd.unixUrl };
      writeState(state);
    }
    check();

    const real = topo.nodes.filter((n) => n.role !== 'etcd');
    await progress.step(`${real.length} network namespaces`, async () => {
      for (const n of real) {
        const ns = netnsFor(lab, n.name);
        const nodeDir = n.role === 'frr' ? join(state.frrDir!, n.name) : join(dir, 'nodes', n.name);
        mkdirSync(nodeDir, { recursive: true, mode: 0o755 });
        state.namespaces.push(ns); // recorded before it exists
        state.nodes.push({ name: n.name, role: n.role, netns: ns, dir: nodeDir, ...(n.role === 'host' ? { socket: join(nodeDir, 'node.sock') } : {}) });
        writeState(state);
        await createNetns(ns);
        const sysctls: Record<string, string | number> = { ...n.sysctls };
        if ((n.role === 'host' || n.role === 'frr') && sysctls['net.ipv4.ip_forward'] === undefined) sysctls['net.ipv4.ip_forward'] = 1;
        if (Object.keys(sysctls).length) await setSysctls(ns, sysctls);
        if (n.role === 'bridge') await addBridge(ns, bridgeName(n.name));
        check();
      }
    });

    await progress.step(`${topo.links.length} links`, async () => {
      const byName = new Map(topo.nodes.map((n) => [n.name, n]));
      for (const l of topo.links) {
        await addVethPair({ netns: netnsFor(lab, l.a.node), name: l.a.iface }, { netns: netnsFor(lab, l.b.node), name: l.b.iface }, l.mtu ? { mtu: l.mtu } : {});
        for (const ep of [l.a, l.b]) {
          if (byName.get(ep.node)!.role === 'bridge') await addBridgePort(netnsFor(lab, ep.node), bridgeName(ep.node), ep.iface);
        }
        check();
      }
    });

    const recOf = (n: LabNode) => state.nodes.find((r) => r.name === n.name)!;
    for (const n of real.filter((x) => x.role === 'frr')) {
      await progress.step(`FRR on ${n.name}`, () =>
        startFrrNode(n, netnsFor(lab, n.name), recOf(n).dir, (p) => {
          state.processes.push(p);
          writeState(state);
        }),
      );
      check();
    }

    const withExec = real.filter((n) => n.exec.length > 0 && n.role !== 'bridge');
    if (withExec.length) {
      await progress.step(`exec commands on ${withExec.map((n) => n.name).join(', ')}`, async () => {
        for (const n of withExec) {
          for (const command of n.exec) {
            const mapped = mapBinds(command, n.binds);
            const r = await runInNode(netnsFor(lab, n.name), mapped, nodeEnv(state, n, recOf(n)));
            if (r.exitCode !== 0) throw new UserError(`node ${n.name}: exec "${command}" failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
            check();
          }
        }
      });
    }

    const hosts = real.filter((n) => n.role === 'host');
    if (hosts.length) {
      await progress.step(`tortie node on ${hosts.map((n) => n.name).join(', ')}`, async () => {
        const started: { socket: string; proc: (typeof state.processes)[number] }[] = [];
        for (const n of hosts) {
          const rec = recOf(n);
          const { words, tortieName, ip } = hostDaemonCommand(n, rec.socket!, state.datastore!.unixUrl);
          rec.tortieName = tortieName;
          if (ip) rec.ip = ip;
          const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
          const proc = await startDetached('sh', ['-c', `exec ${quoted}`], { netns: rec.netns, env: nodeEnv(state, n, rec), log: join(rec.dir, 'node.log'), what: `${n.name}: tortie node`, node: n.name });
          state.processes.push(proc);
          writeState(state);
          started.push({ socket: rec.socket!, proc });
        }
        for (const s of started) await waitForSocket(s.socket, s.proc, 60_000);
      });
      check();
    }

    if (workloads.length) {
      await progress.step(`${workloads.length} workloads`, async () => {
        for (const w of workloads) {
          const rec = state.nodes.find((r) => r.name === w.node)!;
          const name = `${labSlug(lab)}-${w.name}`.slice(0, 40).replace(/-+$/, '');
          const ref = { short: w.name, name, node: w.node, netns: `tw-${name}`, labels: w.labels, ips: [] as string[] };
          state.workloads.push(ref);
          writeState(state);
          const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',');
          const args = ['workload', 'add', name, '--node', rec.tortieName ?? w.node, '--host-netns', rec.netns!, '--state-dir', state.workloadDir, '--node-socket', rec.socket!, '-o', 'json', ...(labels ? ['--labels', labels] : [])];
          const r = await runTortie(args, state);
          if (r.exitCode !== 0) throw new UserError(`workload ${w.name} on ${w.node}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? 'failed'}`);
          ref.ips = (JSON.parse(r.stdout) as { ips?: string[] }).ips ?? [];
          writeState(state);
          check();
        }
      });
    }

    state.phase = 'up';
    writeState(state);
    const wait = options.waitSessionsMs ?? 60_000;
    if (wait > 0) {
      const { collectSessions } = await import('./status.js');
      await progress.step('BGP sessions Established', async () => {
        const deadline = Date.now() + wait;
        for (;;) {
          const sessions = await collectSessions(state);
          const down = sessions.filter((s) => s.state !== 'Established');
          if (sessions.length > 0 && down.length === 0) return;
          if (Date.now() > deadline) {
            throw new UserError(`lab ${lab}: BGP sessions not Established after ${wait / 1000} s: ${down.map((s) => `${s.node}->${s.peer} ${s.state}`).join(', ')}${sessions.length === 0 ? 'none reported' : ''}`);
          }
          check();
          await new Promise((r) => setTimeout(r, 250));
        }
      });
    }
    return state;
  } catch (err) {
    progress.info(`lab ${lab}: ${err instanceof Error ? err.message : String(err)}; removing what was made`);
    await down(lab, { progress, quiet: true }).catch(() => undefined);
    throw err;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

export function bridgeName(node: string): string {
  return node.length <= 15 ? node : node.slice(0, 15);
}

/** Runs the tortie CLI (built) with the lab's datastore, from the root namespace. */
export async function runTortie(args: string[], state: LabState, timeoutMs = 60_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { TORTIE_LOG_LEVEL: process.env.TORTIE_LOG_LEVEL ?? 'warn' };
  if (state.datastore) env.TORTIE_DATASTORE = state.datastore.url;
  const r = await execa(process.execPath, [join(packageRoot(), 'bin', 'tortie.js'), ...args], { env: { ...process.env, ...env }, reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export interface DownOptions {
  progress?: Progress;
  quiet?: boolean;
}

export interface DownReport {
  lab: string;
  namespaces: string[];
  processes: number;
  leftovers: string[];
}

/** Removes everything the lab's state file lists, and the file. Works after a crash too. */
export async function down(lab: string, options: DownOptions = {}): Promise<DownReport | null> {
  const progress = options.progress ?? new Progress(process.stderr, options.quiet);
  const state = readState(lab);
  if (!state) return null;
  const leftovers: string[] = [];
  // Workloads first: their namespaces hold veths into the hosts. Those the workload
  // folder records are also ours, even if the state file had no time to list them.
  const wlNamespaces = new Set(state.workloads.map((w) => w.netns));
  try {
    for (const f of readdirSync(state.workloadDir)) {
      if (!f.endsWith('.json')) continue;
      const rec = JSON.parse(readFileSync(join(state.workloadDir, f), 'utf8')) as { netns?: string | null; ownsNetns?: boolean };
      if (rec.netns && rec.ownsNetns && rec.netns.startsWith(`tw-${labSlug(lab)}-`)) wlNamespaces.add(rec.netns);
    }
  } catch {
    // no workload folder
  }
  const order = (p: LabState['processes'][number]) => (p.what.endsWith('tortie node') ? 0 : p.what === 'etcd' ? 2 : 1);
  await progress.step(`stopping ${state.processes.length} processes of lab ${lab}`, async () => {
    for (const rank of [0, 1, 2]) {
      const stuck = await stopProcesses(state.processes.filter((p) => order(p) === rank));
      for (const p of stuck) leftovers.push(`process ${p.pid} (${p.what}) would not die`);
    }
  });
  const namespaces = [...wlNamespaces, ...[...state.namespaces].reverse().filter((ns) => ns.startsWith(state.prefix))];
  await progress.step(`removing ${namespaces.length} network namespaces`, async () => {
    for (const ns of namespaces) {
      try {
        if (netnsExists(ns)) await deleteNetns(ns);
      } catch (err) {
        leftovers.push(`netns ${ns}: ${(err as Error).message}`);
      }
    }
  });
  // The lab folder (etcd data, logs, sockets): only if it is where the state says, under ours.
  if (state.dir.startsWith(`${labsDir()}/`) && state.dir !== labsDir()) rmSync(state.dir, { recursive: true, force: true });
  if (state.frrDir?.startsWith(`${FRR_RUN_DIR}/`)) rmSync(state.frrDir, { recursive: true, force: true });
  if (leftovers.length === 0) removeState(lab);
  return { lab, namespaces, processes: state.processes.length, leftovers };
}

/** Runs a command in a node (or a workload) of a running lab, with the terminal attached. */
export async function execIn(state: LabState, target: string, command: string): Promise<number> {
  const topoNode = state.nodes.find((n) => n.name === target);
  const wl = state.workloads.find((w) => w.short === target || w.name === target);
  const netns = topoNode?.netns ?? wl?.netns;
  if (!netns) {
    const names = [...state.nodes.filter((n) => n.netns).map((n) => n.name), ...state.workloads.map((w) => w.short)];
    throw new UserError(`lab ${state.lab}: no node or workload "${target}" (there are: ${names.join(', ')})`);
  }
  const env: Record<string, string> = {
    PATH: `${join(state.dir, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    TORTIE_WORKLOAD_DIR: state.workloadDir,
  };
  if (state.datastore) env.TORTIE_DATASTORE = state.datastore.unixUrl;
  if (topoNode?.socket) env.TORTIE_NODE_SOCKET = topoNode.socket;
  if (topoNode?.role === 'frr') env.VTYSH_SOCKET = topoNode.dir;
  // vtysh inside an FRR node talks to that node's daemons.
  const cmd = topoNode?.role === 'frr' ? command.replace(/(^|[;&|]\s*)vtysh\b(?!\s+--vty_socket)/g, `$1vtysh --vty_socket '${topoNode.dir}'`) : command;
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', 'sh', '-c', cmd], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', (err) => reject(new UserError(`cannot run in ${target}: ${err.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
