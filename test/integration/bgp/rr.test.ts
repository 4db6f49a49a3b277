/**
 * Route reflection (RFC 4456) with three tortie speakers and one FRR, each in its own
 * network namespace on one segment:
 *
 *   t1  AS 65000, route reflector (cluster id 10.99.99.99), clients t2 and t3, eBGP to FRR
 *   t2  AS 65000, client of t1 only          t3  AS 65000, client of t1 only
 *   frr AS 65100, eBGP to t1 only
 *
 * The same prefixes come from several places, so the decision process has to pick: a higher
 * LOCAL_PREF over eBGP, a shorter AS_PATH over a longer one. t2 and t3 learn each other's
 * routes only through the reflector, with ORIGINATOR_ID and CLUSTER_LIST; a withdrawal
 * reaches everyone.
 */
import { expect } from 'chai';
import { makeHosts, useNetnsScope, type Host } from '../../helpers/netns.js';
import { startFrr, type Frr } from '../../helpers/peers/frr.js';
import { startTortieSpeaker, type TortieSpeaker } from '../../helpers/peers/tortie-speaker.js';
import { tortie } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';
import type { RouteView } from '../../../src/bgp/rib/index.js';

const IBGP_AS = 65000;
const FRR_AS = 65100;
const CLUSTER_ID = '10.99.99.99';

/** Both tortie and FRR originate it; t2 with LOCAL_PREF 200. */
const P_LOCALPREF = '10.50.0.0/24';
/** t3 (empty AS path) and FRR (65100): the shorter AS path wins. */
const P_ASPATH = '10.51.0.0/24';
/** FRR only. */
const P_FRR = '10.52.0.0/24';
/** t3 only. */
const P_T3 = '10.53.0.0/24';

describe('BGP route reflection: three tortie speakers and FRR', function () {
  this.timeout(120_000);
  const scope = useNetnsScope();
  let h1: Host;
  let h2: Host;
  let h3: Host;
  let hf: Host;
  let t1: TortieSpeaker;
  let t2: TortieSpeaker;
  let t3: TortieSpeaker;
  let frr: Frr;
  const running: { stop(): Promise<void> }[] = [];

  const ibgp = (address: string, extra: Record<string, unknown> = {}) => ({ address, asn: IBGP_AS, holdTime: 9, connectRetryTime: 1, ...extra });

  before(async function () {
    this.timeout(60_000);
    const seg = await makeHosts(scope(), 4, { subnet: '10.212.0.0/24' });
    [h1, h2, h3, hf] = seg.hosts as [Host, Host, Host, Host];
    frr = await startFrr(scope(), hf.netns, {
      asn: FRR_AS,
      routerId: hf.ipv4,
      neighbors: [{ address: h1.ipv4, asn: IBGP_AS }],
      networks: [P_LOCALPREF, P_ASPATH, P_FRR],
    });
    running.push(frr);
    [t1, t2, t3] = await Promise.all([
      startTortieSpeaker(scope(), h1.netns, {
        asn: IBGP_AS,
        routerId: h1.ipv4,
        clusterId: CLUSTER_ID,
        peers: [
          ibgp(h2.ipv4, { routeReflectorClient: true }),
          ibgp(h3.ipv4, { routeReflectorClient: true }),
          { address: hf.ipv4, asn: FRR_AS, holdTime: 9, connectRetryTime: 1, import: 'accept-all', export: 'accept-all' },
        ],
      }),
      startTortieSpeaker(scope(), h2.netns, {
        asn: IBGP_AS,
        routerId: h2.ipv4,
        peers: [ibgp(h1.ipv4)],
        originate: [{ prefix: P_LOCALPREF, localPref: 200 }],
      }),
      startTortieSpeaker(scope(), h3.netns, {
        asn: IBGP_AS,
        routerId: h3.ipv4,
        peers: [ibgp(h1.ipv4)],
        originate: [P_ASPATH, P_T3],
      }),
    ]);
    running.push(t1, t2, t3);
    await Promise.all([t1.waitForState(h2.ipv4, 'Established'), t1.waitForState(h3.ipv4, 'Established'), t1.waitForState(hf.ipv4, 'Established')]);
  });

  after(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      for (const s of [t1, t2, t3]) if (s) process.stderr.write(`--- ${s.netns} log tail:\n${s.process.output().slice(-3000)}\n`);
    }
  });

  /** The best path of `prefix` at a speaker, once it has one that `ok` accepts. */
  async function best(s: TortieSpeaker, prefix: string, ok: (r: RouteView) => boolean = () => true, what = ''): Promise<RouteView> {
    return waitFor(async () => (await s.routes({ prefix })).find((r) => r.best && ok(r)), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `${s.netns}: best path for ${prefix} ${what}`,
    });
  }

  it('converges: every speaker picks the expected best path, reflected routes carry ORIGINATOR_ID and CLUSTER_LIST', async () => {
    // Wait until the reflector has every candidate: both paths of the two contested prefixes.
    await waitFor(async () => (await t1.routes({ prefix: P_LOCALPREF })).length === 2 && (await t1.routes({ prefix: P_ASPATH })).length === 2, {
      timeoutMs: 15_000,
      what: 't1 to hold two paths for each contested prefix',
    });
    // At the reflector: LOCAL_PREF 200 from t2 beats FRR's eBGP path.
    const r1 = await best(t1, P_LOCALPREF);
    expect(r1).to.include({ peer: h2.ipv4, localPref: 200 });
    expect((await t1.routes({ prefix: P_LOCALPREF })).map((r) => r.peer).sort()).to.deep.equal([h2.ipv4, hf.ipv4].sort());
    // The shorter AS path (t3's, empty) beats FRR's 65100.
    const r2 = await best(t1, P_ASPATH);
    expect(r2).to.include({ peer: h3.ipv4, asPath: '' });
    const r3 = await best(t1, P_FRR);
    expect(r3).to.include({ peer: hf.ipv4, asPath: String(FRR_AS), nextHop: hf.ipv4 });

    // t3 hears t2's route only through the reflector: ORIGINATOR_ID t2, CLUSTER_LIST [cluster id].
    const r4 = await best(t3, P_LOCALPREF, (r) => r.peer === h1.ipv4);
    expect(r4).to.include({ localPref: 200, nextHop: h2.ipv4, originatorId: h2.ipv4 });
    expect(r4.clusterList).to.deep.equal([CLUSTER_ID]);
    // ... and t2 hears t3's routes the same way.
    const r5 = await best(t2, P_T3, (r) => r.peer === h1.ipv4);
    expect(r5).to.include({ nextHop: h3.ipv4, originatorId: h3.ipv4 });
    expect(r5.clusterList).to.deep.equal([CLUSTER_ID]);
    // An eBGP route is passed on to clients unchanged: FRR's next hop, its AS path, no reflection attributes.
    const r6 = await best(t2, P_FRR);
    expect(r6).to.include({ nextHop: hf.ipv4, asPath: String(FRR_AS), peer: h1.ipv4 });
    expect(r6.originatorId).to.equal(undefined);
    // A client's own route stays its best (locally originated wins), the reflected copy is there too.
    const own = await t2.routes({ prefix: P_LOCALPREF });
    expect(own.find((r) => r.best)?.peer).to.equal('local');

    // The same facts as `tortie bgp routes -o json` prints them.
    const cli = await tortie(['bgp', 'routes', '-o', 'json', '--socket', t3.socket]);
    expect(cli.exitCode, cli.stderr).to.equal(0);
    const printed = (JSON.parse(cli.stdout) as RouteView[]).find((r) => r.prefix === P_LOCALPREF && r.best);
    expect(printed).to.include({ originatorId: h2.ipv4 });
    expect(printed!.clusterList).to.deep.equal([CLUSTER_ID]);

    // FRR: t3's route via t1 with AS path 65000 (t1's best for it), next hop t1.
    const f1 = await waitFor(async () => (await frr.routes('ipv4')).get(P_T3), { timeoutMs: 15_000, what: `FRR to learn ${P_T3}` });
    expect(f1.asPath).to.equal(String(IBGP_AS));
    expect(f1.nextHops).to.deep.equal([h1.ipv4]);
    // FRR's own P_ASPATH stays its best; tortie's (reflected to eBGP as 65000) is a candidate.
    const paths = await frr.json<{ paths?: { aspath?: { string?: string }; bestpath?: { overall?: boolean } }[] }>(`show bgp ipv4 unicast ${P_ASPATH}`);
    expect((paths.paths ?? []).map((p) => p.aspath?.string ?? '')).to.include(String(IBGP_AS));
    // Reflection never sends a route back towards where it came from: t1 does not offer FRR its own prefix P_FRR.
    expect((await frr.routes('ipv4')).get(P_FRR)?.asPath).to.equal('');
  });

  it('a withdrawn route disappears everywhere, and the next best path takes over', async () => {
    await best(t3, P_T3);
    await waitFor(async () => (await frr.routes('ipv4')).has(P_T3), { timeoutMs: 15_000, what: `FRR to have ${P_T3}` });
    const w = await tortie(['bgp', 'withdraw', P_T3, '--socket', t3.socket]);
    expect(w.exitCode, w.stderr).to.equal(0);
    await waitFor(async () => (await t1.routes({ prefix: P_T3 })).length === 0 && (await t2.routes({ prefix: P_T3 })).length === 0, {
      timeoutMs: 15_000,
      what: `${P_T3} gone from t1 and t2`,
    });
    await waitFor(async () => !(await frr.routes('ipv4')).has(P_T3), { timeoutMs: 15_000, what: `FRR to drop ${P_T3}` });

    // t2 withdraws its LOCAL_PREF 200 route: FRR's path becomes best at t1 and is reflected to t3.
    const w2 = await tortie(['bgp', 'withdraw', P_LOCALPREF, '--socket', t2.socket]);
    expect(w2.exitCode, w2.stderr).to.equal(0);
    const r1 = await best(t1, P_LOCALPREF, (r) => r.peer === hf.ipv4, 'from FRR');
    expect(r1.asPath).to.equal(String(FRR_AS));
    const r3 = await best(t3, P_LOCALPREF, (r) => r.nextHop === hf.ipv4, 'via FRR');
    expect(r3).to.include({ asPath: String(FRR_AS), localPref: 100 });
    expect(r3.originatorId).to.equal(undefined);
    expect((await t1.routes({ prefix: P_LOCALPREF })).length).to.equal(1);
  });
});
