/**
 * Captures real BGP messages from FRR's bgpd into test/fixtures/bgp/frr-8.4.hex, the golden
 * vectors every codec round-trip and fuzz test loads.
 *
 *   node --import ./test/register.mjs scripts/capture-frr-vectors.ts
 *
 * FRR runs in one namespace and originates IPv4 and IPv6 prefixes with communities, large
 * communities and a MED; a small BGP client in a second namespace (this same file, started
 * with --client) opens a session, records every message FRR sends until FRR's End-of-RIBs
 * have arrived, then sends an OPEN with a wrong AS on a second connection to record FRR's
 * NOTIFICATION. Nothing leaves the two namespaces, which are removed afterwards.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NetnsScope } from '../src/kernel/index.js';
import {
  Afi,
  MessageFramer,
  Safi,
  encodeKeepalive,
  encodeOpen,
  ipv4FromString,
  type OpenMessage,
} from '../src/bgp/wire/index.js';
import { makeHosts } from '../test/helpers/netns.js';
import { startFrr } from '../test/helpers/peers/frr.js';

const FRR_AS = 65002;
const CLIENT_AS = 65001;
const OUT = fileURLToPath(new URL('../test/fixtures/bgp/frr-8.4.hex', import.meta.url));

function clientOpen(asn: number, id: string): OpenMessage {
  return {
    version: 4,
    myAs: asn,
    holdTime: 90,
    bgpId: ipv4FromString(id)!,
    capabilities: [
      { kind: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
      { kind: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST },
      { kind: 'route-refresh', code: 2 },
      { kind: 'four-octet-as', asn },
      { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [] },
    ],
  };
}

/** Client mode: one session, print each received message as `TYPE HEX` until both EoRs. */
async function client(frrAddress: string, myAddress: string, asn: number): Promise<void> {
  const socket = connect({ host: frrAddress, port: 179, localAddress: myAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(encodeOpen(clientOpen(asn, myAddress)));
  const framer = new MessageFramer(65535);
  let eors = 0;
  let keepalives = 0;
  let updates = 0;
  await new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(deadline);
      socket.destroy();
      resolve();
    };
    // A refused session ends with FRR's NOTIFICATION; a good one when routes and EoRs are in.
    const deadline = setTimeout(finish, 15_000);
    socket.on('close', finish);
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      for (let out = framer.next(); out?.kind === 'message'; out = framer.next()) {
        process.stdout.write(`${out.type} ${out.message.toString('hex')}\n`);
        if (out.type === 1) socket.write(encodeKeepalive());
        if (out.type === 4) keepalives++;
        // End-of-RIB: IPv4 is an empty UPDATE (23 bytes), IPv6 an empty MP_UNREACH (29).
        if (out.type === 2 && (out.message.length === 23 || out.message.length === 29)) eors++;
        else if (out.type === 2) updates++;
        if (eors >= 2 && keepalives >= 1 && updates >= 2) finish();
      }
    });
  });
}

async function main(): Promise<void> {
  const scope = new NetnsScope();
  try {
    const seg = await makeHosts(scope, 2, { subnet: '10.231.0.0/24', v6Subnet: 'fd00:231::/64' });
    const [c, f] = seg.hosts as [(typeof seg.hosts)[0], (typeof seg.hosts)[0]];
    const frr = await startFrr(scope, f.netns, {
      asn: FRR_AS,
      routerId: f.ipv4,
      neighbors: [{ address: c.ipv4, asn: CLIENT_AS, passive: true, families: ['ipv4', 'ipv6'], timers: { keepalive: 10, hold: 30 } }],
      networks: ['10.232.0.0/24', '10.232.1.7/32', 'fd00:232::/48', 'fd00:232:1::7/128'],
      extraRouterConfig: [
        'address-family ipv4 unicast',
        ' neighbor ' + c.ipv4 + ' route-map TAG out',
        'exit-address-family',
        'address-family ipv6 unicast',
        ' neighbor ' + c.ipv4 + ' route-map TAG out',
        'exit-address-family',
      ],
      globalConfig: ['route-map TAG permit 10', ' set community 65002:100 no-export', ' set large-community 65002:1:2', ' set metric 50'],
    });
    const self = fileURLToPath(import.meta.url);
    const run = async (asn: number) => {
      const proc = await scope.spawn(c.netns, process.execPath, ['--import', new URL('../test/register.mjs', import.meta.url).pathname, self, '--client', f.ipv4, c.ipv4, String(asn)]);
      const exit = await proc.exited;
      if (exit.code !== 0) throw new Error(`capture client failed: ${proc.output().slice(-800)}`);
      return proc.output().split('\n').filter((l) => /^\d \S+$/.test(l));
    };
    const session = await run(CLIENT_AS);
    await frr.vtysh(`clear bgp ${c.ipv4}`);
    const refused = await run(64999); // FRR expects 65001: OPEN error / Bad Peer AS
    await frr.stop();

    const names: Record<string, string> = { '1': 'OPEN', '2': 'UPDATE', '3': 'NOTIFICATION', '4': 'KEEPALIVE', '5': 'ROUTE-REFRESH' };
    const seen = new Set<string>();
    const lines = [
      '# Captured from FRR 8.4.4 bgpd (Debian 12) by scripts/capture-frr-vectors.ts.',
      '# FRR AS 65002 originating 10.232.0.0/24, 10.232.1.7/32, fd00:232::/48, fd00:232:1::7/128 with',
      '# communities 65002:100 no-export, large community 65002:1:2 and MED 50, to an eBGP peer AS 65001.',
      '# @wire as4',
    ];
    for (const l of [...session, ...refused]) {
      const [type, hex] = l.split(' ') as [string, string];
      if (seen.has(hex)) continue;
      seen.add(hex);
      lines.push(`# ${names[type] ?? `type ${type}`} from FRR`, hex);
    }
    writeFileSync(OUT, `${lines.join('\n')}\n`);
    process.stdout.write(`wrote ${seen.size} messages to ${OUT}\n`);
  } finally {
    await scope.cleanup();
  }
}

if (process.argv[2] === '--client') {
  await client(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else {
  await main();
}
