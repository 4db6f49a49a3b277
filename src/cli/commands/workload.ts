/**
 * `tortie workload add|del|list`: network namespaces standing for containers, wired by the
 * CNI ADD path; and `tortie cni serve`, a small host for the CNI control route (what the
 * node daemon serves), for labs, tests and benchmarks.
 *
 * The CNI calls go to a node daemon when its socket is there (--node-socket, else
 * TORTIE_NODE_SOCKET, else /run/tortie/node.sock), otherwise they run in this process
 * against the datastore.
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { callControl, serveControl } from '../../common/control-socket.js';
import { UsageError } from '../../common/errors.js';
import { cniControlRoutes, handleCni } from '../../cni/handler.js';
import { DEFAULT_NODE_SOCKET, NODE_SOCKET_ENV } from '../../cni/client.js';
import type { CniOutcome } from '../../cni/versions.js';
import { parseLabelList } from '../../cni/spec.js';
import { Ipam } from '../../ipam/ipam.js';
import { ResourceConfigSource } from '../../ipam/resource-source.js';
import { logger } from '../../log/logger.js';
import { addWorkload, DEFAULT_STATE_DIR, delWorkload, listWorkloads, type CniRunner, type WorkloadContext } from '../../workload/index.js';
import { addDatastoreOptions, datastoreOptions, examples, openDatastore, renderTable, toJson, withResourceStore } from './common.js';
import { ResourceStore } from '../../datastore/resources/store.js';

interface CommonOpts {
  stateDir: string;
  hostNetns?: string;
  nodeSocket?: string;
}

function commonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--state-dir <dir>', 'where workloads are recorded').env('TORTIE_WORKLOAD_DIR').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--host-netns <netns>', 'for labs and tests: the named namespace that stands for the host (default: this one)'))
    .addOption(new Option('--node-socket <path>', `node daemon socket for the CNI calls (default ${DEFAULT_NODE_SOCKET} if present; "" for none)`).env(NODE_SOCKET_ENV));
}

/** The node daemon's socket if one is to be used, else null (in-process). */
function daemonSocket(opts: CommonOpts): string | null {
  if (opts.nodeSocket === '') return null;
  if (opts.nodeSocket !== undefined) return opts.nodeSocket;
  return existsSync(DEFAULT_NODE_SOCKET) ? DEFAULT_NODE_SOCKET : null;
}

/** Runs fn with a WorkloadContext whose CNI calls go to the daemon or run in-process. */
async function withContext<T>(cmd: Command, opts: CommonOpts, node: string | undefined, fn: (ctx: WorkloadContext) => Promise<T>): Promise<T> {
  const socket = daemonSocket(opts);
  if (socket) {
    const cni: CniRunner = (env, stdin) => callControl<CniOutcome>(socket, 'POST', '/cni', { env, stdin });
    return fn({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni });
  }
  return withResourceStore(cmd, async (store) => {
    const ipam = new Ipam(store.kv, new ResourceConfigSource(store));
    const cni: CniRunner = (env, stdin) => {
      const nodeName = node ?? (JSON.parse(stdin) as { nodename?: string }).nodename ?? '';
      return handleCni(env, stdin, { ipam, store, nodeName, hostNetns: opts.hostNetns, log: logger('cni') });
    };
    return fn({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni });
  });
}

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 68 || n > 65535) throw new UsageError(`${flag}: "${v}" is not an MTU from 68 to 65535`);
    return n;
  };
}

export function registerWorkloadCommands(program: Command): void {
  addDatastoreOptions(program);
  const workload = program.command('workload').description('network namespaces standing for containers, wired by the CNI plugin');

  const add = commonOptions(
    workload
      .command('add')
      .description('make a workload: a namespace tw-NAME with an address, routes and an endpoint')
      .argument('<name>', 'workload name (the namespace is tw-NAME)')
      .requiredOption('--node <name>', 'the node (host) the workload runs on')
      .option('--net <mode>', 'tortie | none (loopback only) | host (the host\'s namespace) | container:OTHER', 'tortie')
      .option('--labels <k=v,...>', 'labels of its WorkloadEndpoint')
      .option('--namespace <ns>', 'namespace of its WorkloadEndpoint', 'default')
      .option('--network <name>', 'CNI network name', 'tortie')
      .option('--mtu <n>', 'interface MTU', positiveInt('--mtu'))
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table')),
  ).action(async (name: string, opts: CommonOpts & { node: string; net: string; labels?: string; namespace: string; network: string; mtu?: number; output: string }, command: Command) => {
    let labels: Record<string, string> = {};
    try {
      labels = opts.labels ? parseLabelList(opts.labels, '--labels') : {};
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const rec = await withContext(command, opts, opts.node, (ctx) =>
      addWorkload({ name, node: opts.node, net: opts.net, labels, namespace: opts.namespace, network: opts.network, mtu: opts.mtu }, ctx),
    );
    if (opts.output === 'json') process.stdout.write(toJson(rec));
    else process.stdout.write(`workload ${rec.name} added${rec.netns ? ` in netns ${rec.netns}` : ''}${rec.ips.length ? `: ${rec.ips.join(', ')}` : ''}\n`);
  });
  examples(add, ['tortie workload add web-1 --node host-1 --labels app=web', 'tortie workload add sidecar --node host-1 --net container:web-1']);

  commonOptions(
    workload.command('del').description('delete a workload: CNI DEL, then its namespace').argument('<name>', 'workload name'),
  ).action(async (name: string, opts: CommonOpts, command: Command) => {
    const rec = await withContext(command, opts, undefined, (ctx) => delWorkload(name, ctx));
    process.stdout.write(`workload ${rec.name} deleted\n`);
  });

  commonOptions(
    workload
      .command('list')
      .description('list workloads')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table')),
  ).action((opts: CommonOpts & { output: string }) => {
    const items = listWorkloads({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni: async () => ({ exitCode: 1, stdout: '' }) });
    if (opts.output === 'json') {
      process.stdout.write(toJson(items));
      return;
    }
    process.stdout.write(
      renderTable(
        ['NAME', 'NODE', 'NET', 'NETNS', 'ADDRESSES', 'LABELS', 'STATE'],
        items.map((w) => [w.name, w.node, w.net, w.netns ?? '(root)', w.ips.join(',') || '-', Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', w.present ? 'ok' : 'netns missing']),
      ),
    );
  });

  const cni = program.command('cni').description('the CNI plugin\'s server side');
  cni
    .command('serve')
    .description('serve POST /cni on a unix socket (what the node daemon does), in the foreground')
    .requiredOption('--socket <path>', 'unix socket to listen on')
    .requiredOption('--node <name>', 'the node this host is')
    .addOption(new Option('--host-netns <netns>', 'for labs and tests: the named namespace that stands for the host'))
    .action(async (opts: { socket: string; node: string; hostNetns?: string }, command: Command) => {
      const kv = await openDatastore(datastoreOptions(command));
      const store = new ResourceStore(kv);
      const ipam = new Ipam(kv, new ResourceConfigSource(store));
      const server = await serveControl(opts.socket, cniControlRoutes({ ipam, store, nodeName: opts.node, hostNetns: opts.hostNetns, log: logger('cni') }));
      process.stderr.write(`tortie cni serve: listening on ${opts.socket} for node ${opts.node}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await new Promise((r) => server.close(r));
      await kv.close();
    });
}
