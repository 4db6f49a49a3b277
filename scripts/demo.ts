/**
 * The interim demo (the full one, with workloads, policy and a reachability matrix, comes
 * with the lab runner): a three-router BGP fabric in network namespaces. Two hosts run
 * `tortie bgp run`, one runs FRR's bgpd; all three peer in a full eBGP mesh, each announces
 * its own /26, and the demo shows the sessions, the routes, and a withdrawal spreading.
 * Everything it makes is removed at the end, also on Ctrl-C.
 */
import { NetnsScope } from '../src/kernel/index.js';
import { makeHosts, type Host } from '../test/helpers/netns.js';
import { startFrr } from '../test/helpers/peers/frr.js';
import { startTortieSpeaker, type TortieSpeaker } from '../test/helpers/peers/tortie-speaker.js';
import { tortie } from '../test/helpers/cli.js';
import { waitFor } from '../test/helpers/wait.js';

const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
const show = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

async function main(): Promise<void> {
  const scope = new NetnsScope();
  try {
    say('Three hosts on one segment (network namespaces)');
    const seg = await makeHosts(scope, 3, { subnet: '10.240.0.0/24', name: 'r' });
    const [a, b, c] = seg.hosts as [Host, Host, Host];
    show(`  ${a.netns}  ${a.ipv4}  tortie  AS 65001  announces 10.65.1.0/26`);
    show(`  ${b.netns}  ${b.ipv4}  FRR     AS 65002  announces 10.65.2.0/26`);
    show(`  ${c.netns}  ${c.ipv4}  tortie  AS 65003  announces 10.65.3.0/26`);

    const peer = (h: Host, asn: number) => ({ address: h.ipv4, asn, import: 'accept-all', export: 'accept-all', holdTime: 9, connectRetryTime: 1 });
    const frr = await startFrr(scope, b.netns, {
      asn: 65002,
      routerId: b.ipv4,
      neighbors: [{ address: a.ipv4, asn: 65001 }, { address: c.ipv4, asn: 65003 }],
      networks: ['10.65.2.0/26'],
    });
    const ta: TortieSpeaker = await startTortieSpeaker(scope, a.netns, { asn: 65001, routerId: a.ipv4, peers: [peer(b, 65002), peer(c, 65003)], originate: ['10.65.1.0/26'] });
    const tc: TortieSpeaker = await startTortieSpeaker(scope, c.netns, { asn: 65003, routerId: c.ipv4, peers: [peer(a, 65001), peer(b, 65002)], originate: ['10.65.3.0/26'] });

    say('Waiting for the BGP sessions');
    for (const [s, others] of [[ta, [b, c]], [tc, [a, b]]] as const) {
      for (const o of others) await s.waitForState(o.ipv4, 'Established', 30_000);
    }
    await waitFor(async () => (await ta.routes()).length >= 3 && (await tc.routes()).length >= 3 && (await frr.routes()).size >= 3, {
      timeoutMs: 20_000,
      what: 'every router to know every /26',
    });

    say(`tortie bgp peers   (on ${a.netns})`);
    show((await tortie(['bgp', 'peers', '--socket', ta.socket])).stdout);
    say(`tortie bgp routes  (on ${a.netns})`);
    show((await tortie(['bgp', 'routes', '--socket', ta.socket])).stdout);
    say(`FRR: show bgp ipv4 unicast  (on ${b.netns})`);
    show(await frr.vtysh('show bgp ipv4 unicast'));

    say(`tortie bgp withdraw 10.65.3.0/26  (on ${c.netns})`);
    show((await tortie(['bgp', 'withdraw', '10.65.3.0/26', '--socket', tc.socket])).stdout);
    const started = Date.now();
    await waitFor(async () => !(await frr.routes()).has('10.65.3.0/26') && !(await ta.routes()).some((r) => r.prefix === '10.65.3.0/26'), {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the withdrawal to reach every router',
    });
    show(`  gone from FRR and from ${a.netns} within ${Date.now() - started} ms`);
    say(`tortie bgp routes  (on ${a.netns}, after the withdrawal)`);
    show((await tortie(['bgp', 'routes', '--socket', ta.socket])).stdout);

    say('Done');
    show('  Look around next time: the speakers answer `tortie bgp peers|routes --socket S` while they run;');
    show('  the tests in test/integration/bgp/ show more (FRR interop, MD5, hold timers, route server).');
    show('  Everything this demo made has been removed.');
  } finally {
    await scope.cleanup();
  }
}

await main();
