/**
 * `tortie bgp run|peers|routes|announce|withdraw`: the standalone speaker and its control
 * socket. The tables follow BIRD's `show protocols` and calicoctl's `node status`: one line
 * per peer, and the last error in INFO so that a broken session explains itself.
 */
import { Command, Option } from 'commander';
import { callControl } from '../../common/control-socket.js';
import { DEFAULT_CONTROL_SOCKET } from '../../bgp/speaker/config.js';
import { runSpeakerDaemon } from '../../bgp/speaker/daemon.js';
import type { PeerStatus } from '../../bgp/speaker/speaker.js';
import type { RouteView } from '../../bgp/rib/index.js';
import { examples, renderTable, toJson } from './common.js';

const SOCKET_ENV = 'TORTIE_BGP_SOCKET';

function socketOption(): Option {
  return new Option('--socket <path>', 'the speaker\'s control socket').env(SOCKET_ENV).default(DEFAULT_CONTROL_SOCKET);
}

function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
}

export function registerBgpCommands(program: Command): void {
  const bgp = program.command('bgp').description('the standalone BGP speaker and its control socket');
  examples(bgp, ['tortie bgp run --config speaker.yaml', 'tortie bgp peers --socket /run/tortie/bgp.sock', 'tortie bgp routes -o json']);

  examples(
    bgp
      .command('run')
      .description('run the BGP speaker in the foreground (this process is the speaker)')
      .requiredOption('-c, --config <file>', 'speaker configuration (YAML)')
      .addOption(new Option('--socket <path>', 'control socket (overrides control.socket in the file)'))
      .action(async (opts: { config: string; socket?: string }) => {
        const running = await runSpeakerDaemon(opts.config, { socket: opts.socket });
        await running.done;
      }),
    ['tortie bgp run --config /etc/tortie/bgp.yaml'],
  );

  examples(
    bgp
      .command('peers')
      .description('show each peer: AS, type, state, since when, prefixes, last error')
      .addOption(socketOption())
      .addOption(outputOption())
      .action(async (opts: { socket: string; output: string }) => {
        const peers = await callControl<PeerStatus[]>(opts.socket, 'GET', '/peers');
        process.stdout.write(opts.output === 'json' ? toJson(peers) : peerTable(peers));
      }),
    ['tortie bgp peers', 'tortie bgp peers -o json --socket /run/tortie/bgp.sock'],
  );

  examples(
    bgp
      .command('routes')
      .description('show the routes the speaker knows (best first)')
      .option('--prefix <prefix>', 'only this prefix')
      .option('--peer <address>', 'only routes learned from this peer')
      .addOption(new Option('--family <family>', 'only this family').choices(['ipv4', 'ipv6']))
      .option('--limit <n>', 'at most this many routes', (v) => Number(v))
      .addOption(socketOption())
      .addOption(outputOption())
      .action(async (opts: { prefix?: string; peer?: string; family?: string; limit?: number; socket: string; output: string }) => {
        const q = new URLSearchParams();
        for (const key of ['prefix', 'peer', 'family', 'limit'] as const) if (opts[key] !== undefined) q.set(key, String(opts[key]));
        const routes = await callControl<RouteView[]>(opts.socket, 'GET', `/routes?${q}`);
        process.stdout.write(opts.output === 'json' ? toJson(routes) : routeTable(routes));
      }),
    ['tortie bgp routes', 'tortie bgp routes --prefix 10.65.0.7/32 -o json'],
  );

  examples(
    bgp
      .command('announce <prefix>')
      .description('originate a route from this speaker')
      .option('--next-hop <address>', 'next hop (default: our address on each session)')
      .option('--community <community...>', 'communities, A:B or well-known names')
      .option('--local-pref <n>', 'LOCAL_PREF', (v) => Number(v))
      .option('--med <n>', 'MULTI_EXIT_DISC', (v) => Number(v))
      .addOption(socketOption())
      .action(async (prefix: string, opts: { nextHop?: string; community?: string[]; localPref?: number; med?: number; socket: string }) => {
        const body = { prefix, nextHop: opts.nextHop, communities: opts.community, localPref: opts.localPref, med: opts.med };
        await callControl(opts.socket, 'POST', '/announce', JSON.parse(JSON.stringify(body)));
        process.stdout.write(`announced ${prefix}\n`);
      }),
    ['tortie bgp announce 10.65.0.0/26', 'tortie bgp announce 10.65.0.7/32 --community 65000:100 no-export'],
  );

  examples(
    bgp
      .command('withdraw <prefix>')
      .description('withdraw a route this speaker originated')
      .addOption(socketOption())
      .action(async (prefix: string, opts: { socket: string }) => {
        await callControl(opts.socket, 'POST', '/withdraw', { prefix });
        process.stdout.write(`withdrew ${prefix}\n`);
      }),
    ['tortie bgp withdraw 10.65.0.0/26'],
  );
}

/** "12:03:44" today, else the date: like BIRD's `since` column. */
function since(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toTimeString().slice(0, 8) : d.toISOString().slice(0, 10);
}

export function peerTable(peers: PeerStatus[]): string {
  const rows = peers.map((p) => [
    p.address,
    String(p.asn),
    p.type,
    p.state,
    since(p.since),
    p.state === 'Established' ? `${p.prefixes.accepted}/${p.prefixes.advertised}` : '-',
    p.state === 'Established' ? `up ${p.uptimeSeconds}s` : (p.lastError ?? ''),
  ]);
  return renderTable(['PEER', 'AS', 'TYPE', 'STATE', 'SINCE', 'ACCEPTED/ADVERTISED', 'INFO'], rows);
}

/** Like FRR's table: `*` best, `=` another path of the multipath set, `S` stale; best first. */
export function routeTable(routes: RouteView[]): string {
  const byPrefix = new Map<string, RouteView[]>();
  for (const r of routes) byPrefix.set(r.prefix, [...(byPrefix.get(r.prefix) ?? []), r]);
  const order = [...byPrefix.values()].flatMap((paths) => paths.sort((x, y) => Number(y.best) - Number(x.best)));
  const rows = order.map((r) => [
    `${r.best ? '*' : r.ecmp ? '=' : ' '}${r.stale ? 'S' : ''}`,
    r.prefix,
    r.nextHop ?? '',
    r.asPath,
    r.origin,
    String(r.localPref),
    r.communities.join(' '),
    r.peer,
  ]);
  return renderTable(['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'ORIGIN', 'LOCPRF', 'COMMUNITIES', 'FROM'], rows);
}
