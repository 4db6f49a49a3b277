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
import { addWorkload, checkWorkloadName, DEFAULT_STATE_DIR, delWorkload, listWorkloads, modeKind, parseNetMode, readRecord, type CniRunner, type WorkloadContext } from '../../workload/index.js';
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

/**
 * Runs fn with a WorkloadContext whose CNI calls go to the daemon or run in-process.
 * `needIpam` (the bridge and macvlan modes, which take addresses from IPAM themselves):
 * the datastore is opened even when a daemon serves the CNI calls.
 */
async function withContext<T>(cmd: Command, opts: CommonOpts, node: string | undefined, fn: (ctx: WorkloadContext) => Promise<T>, needIpam = false): Promise<T> {
  const socket = daemonSocket(opts);
  if (socket && needIpam) {
    const cni: CniRunner = (env, stdin) => callControl<CniOutcome>(socket, 'POST', '/cni', { env, stdin });
    return withResourceStore(cmd, async (store) => {
      const source = new ResourceConfigSource(store);
      return fn({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni, ipam: { ipam: new Ipam(store.kv, source), pools: () => source.pools() } });
    });
  }
  if (socket) {
    const cni: CniRunner = (env, stdin) => callControl<CniOutcome>(socket, 'POST', '/cni', { env, stdin });
    return fn({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni });
  }
  return withResourceStore(cmd, async (store) => {
    const source = new ResourceConfigSource(store);
    const ipam = new Ipam(store.kv, source);
    const cni: CniRunner = (env, stdin) => {
      const nodeName = node ?? (JSON.parse(stdin) as { nodename?: string }).nodename ?? '';
      return handleCni(env, stdin, { ipam, store, nodeName, hostNetns: opts.hostNetns, log: logger('cni') });
    };
    return fn({ stateDir: opts.stateDir, hostNetns: opts.hostNetns, cni, ipam: { ipam, pools: () => source.pools() } });
  });
}

/** Whether a --net mode takes its addresses from IPAM itself (bridge, macvlan). */
function modeNeedsIpam(net: string): boolean {
  try {
    const kind = modeKind(parseNetMode(net));
    return kind === 'bridge' || kind === 'macvlan';
  } catch {
    return false; // addWorkload reports the bad mode
  }
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
  examples(workload, ['tortie workload add web-1 --node host-1 --labels app=web', 'tortie workload list', 'tortie workload del web-1']);

  const add = commonOptions(
    workload
      .command('add')
      .description('make a workload: a namespace tw-NAME with an address, routes and an endpoint (tortie mode), or wired by a single-host mode')
      .argument('<name>', 'workload name (the namespace is tw-NAME)')
      .requiredOption('--node <name>', 'the node (host) the workload runs on')
      .option('--net <mode>', 'tortie | none (loopback only) | host (the host\'s namespace) | container:OTHER | bridge[:BRIDGE] (a Linux bridge with NAT outgoing, default tortie-br0) | macvlan:PARENT (a macvlan child of the host\'s PARENT)', 'tortie')
      .option('--pool <name>', 'tortie: the IPv4 pool to take the address from (CNI ipam.ipv4_pools; default: any that matches); bridge: the IPPool whose CIDR is the bridge subnet (default: the pool named as the bridge); macvlan: the IPPool (inside PARENT\'s subnet) to take the address from')
      .option('--gateway <ip>', 'macvlan: the default gateway (default: the host\'s default gateway through PARENT, if any)')
      .option('--labels <k=v,...>', 'labels of its WorkloadEndpoint')
      .option('--namespace <ns>', 'namespace of its WorkloadEndpoint', 'default')
      .option('--network <name>', 'CNI network name', 'tortie')
      .option('--mtu <n>', 'interface MTU', positiveInt('--mtu'))
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table')),
  ).action(async (name: string, opts: CommonOpts & { node: string; net: string; labels?: string; namespace: string; network: string; mtu?: number; pool?: string; gateway?: string; output: string }, command: Command) => {
    let labels: Record<string, string> = {};
    try {
      labels = opts.labels ? parseLabelList(opts.labels, '--labels') : {};
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const rec = await withContext(
      command,
      opts,
      opts.node,
      (ctx) => addWorkload({ name, node: opts.node, net: opts.net, labels, namespace: opts.namespace, network: opts.network, mtu: opts.mtu, pool: opts.pool, gateway: opts.gateway }, ctx),
      modeNeedsIpam(opts.net),
    );
    if (opts.output === 'json') process.stdout.write(toJson(rec));
    else process.stdout.write(`workload ${rec.name} added${rec.netns ? ` in netns ${rec.netns}` : ''}${rec.ips.length ? `: ${rec.ips.join(', ')}` : ''}\n`);
  });
  examples(add, [
    'tortie workload add web-1 --node host-1 --labels app=web',
    'tortie workload add sidecar --node host-1 --net container:web-1',
    'tortie workload add box-1 --node host-1 --net bridge            # IPPool "tortie-br0" is the bridge subnet',
    'tortie workload add mv-1 --node host-1 --net macvlan:eth0 --pool lan-pool --gateway 192.168.1.1',
  ]);

  commonOptions(
    examples(workload.command('del'), ['tortie workload del web-1']).description('delete a workload: what its mode made, its addresses, its namespace (a workload that is not there: nothing to do)').argument('<name>', 'workload name'),
  ).action(async (name: string, opts: CommonOpts, command: Command) => {
    checkWorkloadName(name);
    const known = readRecord({ stateDir: opts.stateDir, cni: async () => ({ exitCode: 1, stdout: '' }) }, name);
    const rec = await withContext(command, opts, undefined, (ctx) => delWorkload(name, ctx), known !== null && modeNeedsIpam(known.net));
    process.stdout.write(rec ? `workload ${rec.name} deleted\n` : `workload ${name}: not there, nothing to delete\n`);
  });

  commonOptions(
    examples(workload.command('list'), ['tortie workload list', 'tortie workload list -o json'])
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
        ['NAME', 'NODE', 'MODE', 'NET', 'NETNS', 'ADDRESSES', 'LABELS', 'STATE'],
        items.map((w) => [w.name, w.node, w.mode, w.net, w.netns ?? '(root)', w.ips.join(',') || '-', Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', w.present ? 'ok' : 'netns missing']),
      ),
    );
  });

  const cni = program.command('cni').description('the CNI plugin\'s server side');
  examples(cni, ['tortie cni serve --socket /run/tortie/cni.sock --node host-1']);
  examples(cni.command('serve'), ['tortie cni serve --socket /run/tortie/cni.sock --node host-1'])
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
