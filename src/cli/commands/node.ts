/**
 * `tortie node run|status`: the per-host daemon in the foreground (this process is the
 * daemon), and its status as `calicoctl node status` prints it.
 */
import { Option, type Command } from 'commander';
import { callControl } from '../../common/control-socket.js';
import { UsageError } from '../../common/errors.js';
import { DEFAULT_NODE_SOCKET, runNodeDaemon } from '../../node/daemon.js';
import { formatNodeStatus, type NodeStatus } from '../../node/status.js';
import { addDatastoreOptions, datastoreOptions, examples, toJson } from './common.js';

const SOCKET_ENV = 'TORTIE_NODE_SOCKET';

function socketOption(): Option {
  return new Option('--socket <path>', 'the node daemon\'s socket (CNI and status)').env(SOCKET_ENV).default(DEFAULT_NODE_SOCKET);
}

function intIn(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new UsageError(`${flag}: "${v}" is not a number from ${min} to ${max}`);
    return n;
  };
}

interface RunOpts {
  name: string;
  ip?: string;
  ipAutodetect?: string;
  ip6?: string;
  ip6Autodetect?: string;
  as?: number;
  socket: string;
  felixMetricsPort?: number;
  /** commander sets false for --no-dns. */
  dns: boolean;
}

export function registerNodeCommands(program: Command): void {
  addDatastoreOptions(program);
  const node = program.command('node').description('the per-host daemon: BGP, felix, the CNI socket');
  examples(node, ['tortie node run --name host-1 --datastore etcd://10.0.0.1:2379 --ip-autodetect first-found', 'tortie node status']);

  examples(
    node
      .command('run')
      .description('run the node daemon in the foreground (this process is the daemon)')
      .requiredOption('--name <name>', 'this node\'s name (its Node resource)')
      .option('--ip <address>', 'IPv4 address with prefix length (10.0.0.5/24), "autodetect" or "none" (default: autodetect)')
      .option('--ip-autodetect <method>', 'first-found | interface=REGEX | skip-interface=REGEX | can-reach=IP | cidr=CIDR')
      .option('--ip6 <address>', 'IPv6 address with prefix length, "autodetect" or "none" (default: none)')
      .option('--ip6-autodetect <method>', 'as --ip-autodetect, for IPv6')
      .option('--as <number>', 'this node\'s AS number (else BGPConfiguration default, else 64512)', intIn('--as', 1, 4294967295))
      .addOption(socketOption())
      .option('--felix-metrics-port <port>', 'serve felix /metrics on this port', intIn('--felix-metrics-port', 0, 65535))
      .option('--no-dns', 'do not serve the cluster DNS on 169.254.1.1:53')
      .action(async (opts: RunOpts, cmd: Command) => {
        const ds = datastoreOptions(cmd);
        const auth = ds.etcdUsername !== undefined && ds.etcdPassword !== undefined ? { username: ds.etcdUsername, password: ds.etcdPassword } : undefined;
        const tls = ds.etcdCa || ds.etcdCert || ds.etcdKey ? { ca: ds.etcdCa, cert: ds.etcdCert, key: ds.etcdKey } : undefined;
        const running = await runNodeDaemon({
          name: opts.name,
          datastore: ds.datastore,
          datastoreOptions: { tls, auth },
          ip: opts.ip,
          ipAutodetect: opts.ipAutodetect,
          ip6: opts.ip6,
          ip6Autodetect: opts.ip6Autodetect,
          asNumber: opts.as,
          socket: opts.socket,
          felixMetricsPort: opts.felixMetricsPort,
          dns: opts.dns,
        });
        await running.done;
      }),
    [
      'tortie node run --name host-1 --datastore etcd://10.0.0.1:2379',
      'tortie node run --name host-1 --ip-autodetect interface=eth1 --datastore etcd+unix:///run/etcd.sock:1',
    ],
  );

  examples(
    node
      .command('status')
      .description('this node\'s BGP peers (type, state, since, info) and its daemon\'s health')
      .addOption(socketOption())
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
      .action(async (opts: { socket: string; output: string }) => {
        const status = await callControl<NodeStatus>(opts.socket, 'GET', '/status');
        process.stdout.write(opts.output === 'json' ? toJson(status) : formatNodeStatus(status));
      }),
    ['tortie node status', 'tortie node status -o json --socket /run/tortie/node.sock'],
  );
}
