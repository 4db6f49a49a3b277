/**
 * Import and export policies on the wire, tortie against FRR over eBGP: what FRR receives
 * (prepended AS path, communities added, MED set, routes rejected) and what tortie keeps
 * (LOCAL_PREF and communities set by matching a community, a prefix with a length range
 * rejected, an AS-path match setting MED). RFC 8212: no policy, nothing either way. A policy
 * changed in the file and SIGHUP: export applies at once, import through ROUTE-REFRESH.
 * Each rule kind also has unit tests in test/unit/bgp/policy.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeHosts, useNetnsScope, type Host } from '../../helpers/netns.js';
import { startFrr, type Frr } from '../../helpers/peers/frr.js';
import { startTortieSpeaker, type TortieSpeaker } from '../../helpers/peers/tortie-speaker.js';
import { waitFor } from '../../helpers/wait.js';
import type { RouteView } from '../../../src/bgp/rib/index.js';

const TORTIE_AS = 65001;
const FRR_AS = 65002;

interface FrrPath {
  aspath?: { string?: string };
  community?: { string?: string };
  metric?: number;
  med?: number;
  bestpath?: { overall?: boolean };
}

const TO_FRR = [
  { description: 'marked do-not-send', match: { community: '65001:666' }, action: 'reject' },
  {
    match: { prefix: '10.60.0.0/16', length: { min: 24, max: 24 } },
    set: { communities: { add: ['65001:60'] }, prepend: { asn: TORTIE_AS, count: 2 } },
    action: 'accept',
  },
  { set: { med: 50 }, action: 'accept' },
];
const FROM_FRR = [
  { match: { prefix: '10.71.0.0/16', length: { min: 24, max: 32 } }, action: 'reject' },
  { match: { community: '65002:1' }, set: { localPref: 300, communities: { add: ['65001:77'] } }, action: 'accept' },
  { match: { peerType: 'ebgp', asPath: { originatedBy: FRR_AS } }, set: { med: 7 }, action: 'accept' },
];

describe('BGP policies on the wire, against FRR', function () {
  this.timeout(120_000);
  const scope = useNetnsScope();
  let t: Host;
  let f: Host;
  let frr: Frr;
  const running: TortieSpeaker[] = [];

  before(async function () {
    this.timeout(60_000);
    const seg = await makeHosts(scope(), 2, { subnet: '10.215.0.0/24' });
    [t, f] = seg.hosts as [Host, Host];
    frr = await startFrr(scope(), f.netns, {
      asn: FRR_AS,
      routerId: f.ipv4,
      neighbors: [{ address: t.ipv4, asn: TORTIE_AS }],
      networks: ['10.71.1.0/24', '10.72.0.0/24'],
    });
    await frr.vtysh(
      ['configure terminal', 'route-map TAG permit 10', 'set community 65002:1', 'exit', `router bgp ${FRR_AS}`, 'address-family ipv4 unicast', 'network 10.70.1.0/24 route-map TAG'].join('\n'),
    );
  });

  after(async () => {
    await frr?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const s of running) process.stderr.write(`--- ${s.netns} log tail:\n${s.process.output().slice(-4000)}\n`);
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  const frrPaths = async (prefix: string): Promise<FrrPath[]> =>
    ((await frr.json<{ paths?: FrrPath[] }>(`show bgp ipv4 unicast ${prefix}`)).paths ?? []);

  function speakerConfig(policies: Record<string, unknown[]>, peer: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      asn: TORTIE_AS,
      routerId: t.ipv4,
      policies,
      peers: [{ address: f.ipv4, asn: FRR_AS, holdTime: 9, connectRetryTime: 1, ...peer }],
      originate: ['10.60.1.0/24', '10.60.2.0/25', { prefix: '10.61.0.0/24', communities: ['65001:666'] }],
      ...extra,
    };
  }

  /** Rewrites the running speaker's config file (same control socket) and sends SIGHUP. */
  function reload(s: TortieSpeaker, config: Record<string, unknown>): void {
    writeFileSync(join(s.dir, 'bgp.yaml'), stringify({ ...config, control: { socket: s.socket } }));
    process.kill(s.process.pid, 'SIGHUP');
  }

  it('export: FRR sees the prepended path and the community, MED set, and nothing the policy rejects', async () => {
    const s = await startTortieSpeaker(scope(), t.netns, speakerConfig({ 'to-frr': TO_FRR, 'from-frr': FROM_FRR }, { import: 'from-frr', export: 'to-frr' }));
    running.push(s);
    await s.waitForState(f.ipv4, 'Established');
    // tortie has sent everything it will: two prefixes advertised and End-of-RIB.
    await waitFor(async () => (await s.peer(f.ipv4)).prefixes.advertised === 2, { timeoutMs: 10_000, what: 'tortie to advertise two prefixes' });
    const p24 = await waitFor(async () => (await frrPaths('10.60.1.0/24'))[0], { timeoutMs: 10_000, what: 'FRR to learn 10.60.1.0/24' });
    expect(p24.aspath?.string).to.equal('65001 65001 65001');
    expect(p24.community?.string).to.equal('65001:60');
    // Outside the length range (/25): not prepended, not tagged, but the last rule's MED.
    const p25 = await waitFor(async () => (await frrPaths('10.60.2.0/25'))[0], { timeoutMs: 10_000, what: 'FRR to learn 10.60.2.0/25' });
    expect(p25.aspath?.string).to.equal('65001');
    expect(p25.community).to.equal(undefined);
    expect(p25.metric ?? p25.med).to.equal(50);
    // The route marked 65001:666 was never sent.
    expect(await frrPaths('10.61.0.0/24')).to.deep.equal([]);
    expect((await frr.neighbor(t.ipv4)).prefixesReceived).to.equal(2);

    // FRR asks for our table again (ROUTE-REFRESH; enhanced: we frame it with BoRR/EoRR, and
    // FRR sweeps at EoRR whatever we did not re-send). Everything is still there afterwards.
    const sentBefore = (await s.peer(f.ipv4)).messages.sent.update;
    await frr.vtysh(`clear bgp ipv4 unicast ${t.ipv4} soft in`);
    await waitFor(async () => (await s.peer(f.ipv4)).messages.received.routeRefresh >= 1, { timeoutMs: 10_000, what: 'FRR\'s ROUTE-REFRESH' });
    await waitFor(async () => (await s.peer(f.ipv4)).messages.sent.update >= sentBefore + 2, { timeoutMs: 10_000, what: 'the table sent again' });
    expect((await s.peer(f.ipv4)).capabilities).to.include('enhanced-route-refresh');
    await waitFor(async () => (await frr.neighbor(t.ipv4)).prefixesReceived === 2, { timeoutMs: 10_000, what: 'FRR to hold both prefixes after the refresh' });
    expect((await frrPaths('10.60.1.0/24'))[0]?.aspath?.string).to.equal('65001 65001 65001');
    expect((await s.peer(f.ipv4)).state).to.equal('Established');
  });

  it('import: LOCAL_PREF and communities set by a community match, a length range rejected, MED by AS path', async () => {
    const s = await startTortieSpeaker(scope(), t.netns, speakerConfig({ 'to-frr': TO_FRR, 'from-frr': FROM_FRR }, { import: 'from-frr', export: 'to-frr' }));
    running.push(s);
    await s.waitForState(f.ipv4, 'Established');
    await waitFor(async () => (await s.peer(f.ipv4)).prefixes.received >= 3, { timeoutMs: 10_000, what: 'FRR\'s three routes to arrive' });
    const routes = await s.routes();
    const by = (p: string): RouteView | undefined => routes.find((r) => r.prefix === p);
    // FRR sends its networks with MED 0; the community rule does not touch it.
    expect(by('10.70.1.0/24')).to.include({ localPref: 300, med: 0, asPath: String(FRR_AS) });
    expect(by('10.70.1.0/24')!.communities).to.deep.equal(['65002:1', '65001:77']);
    expect(by('10.72.0.0/24')).to.include({ localPref: 100, med: 7 });
    expect(by('10.71.1.0/24')).to.equal(undefined);
    // Announcements counted before import policy (FRR may send one more than once); two kept.
    const stats = (await s.peer(f.ipv4)).prefixes;
    expect(stats.accepted).to.equal(2);
    expect(stats.received).to.be.at.least(3);
  });

  it('RFC 8212: an eBGP peer without policies gets nothing and gives nothing; a reload with policies fixes both (ROUTE-REFRESH)', async () => {
    const bare = speakerConfig({ 'to-frr': TO_FRR, 'from-frr': FROM_FRR }, {});
    const s = await startTortieSpeaker(scope(), t.netns, bare);
    running.push(s);
    await s.waitForState(f.ipv4, 'Established');
    await waitFor(async () => {
      const p = await s.peer(f.ipv4);
      return p.prefixes.received >= 3 && p.messages.sent.update >= 1;
    }, { timeoutMs: 10_000, what: 'FRR\'s routes to arrive and tortie\'s End-of-RIB to leave' });
    expect((await s.peer(f.ipv4)).prefixes).to.include({ accepted: 0, advertised: 0 });
    expect(await s.routes()).to.deep.equal([...(await s.routes({ peer: 'local' }))]);
    expect((await frr.neighbor(t.ipv4)).prefixesReceived).to.equal(0);

    // Policies added in the file, SIGHUP: export flows at once, import after FRR re-sends.
    reload(s, speakerConfig({ 'to-frr': TO_FRR, 'from-frr': FROM_FRR }, { import: 'from-frr', export: 'to-frr' }));
    await waitFor(async () => (await s.peer(f.ipv4)).prefixes.accepted === 2, { timeoutMs: 10_000, what: 'tortie to accept FRR\'s routes after the reload' });
    expect((await s.peer(f.ipv4)).messages.sent.routeRefresh).to.be.greaterThan(0);
    await waitFor(async () => (await frr.neighbor(t.ipv4)).prefixesReceived === 2, { timeoutMs: 10_000, what: 'FRR to get two prefixes after the reload' });
    // Still the same session: nothing was reset.
    expect((await s.peer(f.ipv4)).state).to.equal('Established');

    // Tighter policies: export stops 10.60.1.0/24, import now refuses 10.72.0.0/24 too.
    reload(s, speakerConfig({
      'to-frr': [{ match: { prefix: '10.60.1.0/24' }, action: 'reject' }, ...TO_FRR],
      'from-frr': [{ match: { prefix: '10.72.0.0/24' }, action: 'reject' }, ...FROM_FRR],
    }, { import: 'from-frr', export: 'to-frr' }));
    await waitFor(async () => (await frrPaths('10.60.1.0/24')).length === 0, { timeoutMs: 10_000, what: 'FRR to lose 10.60.1.0/24' });
    await waitFor(async () => (await s.routes({ prefix: '10.72.0.0/24' })).length === 0, { timeoutMs: 10_000, what: 'tortie to drop 10.72.0.0/24' });
    expect((await s.routes({ prefix: '10.70.1.0/24' }))[0]).to.include({ localPref: 300, stale: false });
    expect((await frrPaths('10.60.2.0/25')).length).to.equal(1);
  });
});
