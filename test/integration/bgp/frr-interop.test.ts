/**
 * tortie's speaker against FRR's bgpd, each in its own network namespace on one segment:
 * sessions both ways (tortie active and passive, iBGP and eBGP), IPv4 and IPv6 routes in
 * both directions with withdrawals, hold timers when either side freezes, TCP MD5, and
 * FRR's NOTIFICATION for a wrong AS as `tortie bgp peers` shows it.
 */
import { expect } from 'chai';
import { makeHosts, useNetnsScope, type Host } from '../../helpers/netns.js';
import { startFrr, type Frr, type FrrOptions } from '../../helpers/peers/frr.js';
import { startTortieSpeaker, type TortieSpeaker } from '../../helpers/peers/tortie-speaker.js';
import { tortie } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';

const TORTIE_AS = 65001;
const FRR_AS = 65002;

describe('BGP interop with FRR', function () {
  this.timeout(120_000);
  const scope = useNetnsScope();
  let t: Host; // tortie's host
  let f: Host; // FRR's host
  const running: { stop(): Promise<void> }[] = [];

  before(async () => {
    const seg = await makeHosts(scope(), 2, { subnet: '10.211.0.0/24', v6Subnet: 'fd00:211::/64' });
    [t, f] = seg.hosts as [Host, Host];
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of running) if ('process' in r) process.stderr.write(`--- ${(r as TortieSpeaker).netns} log tail:\n${(r as TortieSpeaker).process.output().slice(-3000)}\n`);
    }
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  async function frr(options: Partial<FrrOptions> & Pick<FrrOptions, 'neighbors'>): Promise<Frr> {
    const d = await startFrr(scope(), f.netns, { asn: FRR_AS, routerId: f.ipv4, ...options });
    running.push(d);
    return d;
  }

  async function speaker(config: Record<string, unknown>): Promise<TortieSpeaker> {
    const s = await startTortieSpeaker(scope(), t.netns, { asn: TORTIE_AS, routerId: t.ipv4, ...config });
    running.push(s);
    return s;
  }

  const tortiePeer = (address: string, extra: Record<string, unknown> = {}) => ({
    address,
    asn: FRR_AS,
    holdTime: 9,
    connectRetryTime: 1,
    import: 'accept-all',
    export: 'accept-all',
    ...extra,
  });

  it('eBGP, tortie active: IPv4 and IPv6 routes cross both ways and withdrawals follow', async () => {
    const r = await frr({
      neighbors: [
        { address: t.ipv4, asn: TORTIE_AS, passive: true },
        { address: t.ipv6!, asn: TORTIE_AS, passive: true, families: ['ipv6'] },
      ],
      networks: ['10.102.0.0/24', 'fd00:102::/48'],
    });
    const s = await speaker({
      peers: [tortiePeer(f.ipv4), tortiePeer(f.ipv6!, { families: ['ipv6'] })],
      originate: ['10.101.0.0/24', 'fd00:101::/48'],
    });
    await s.waitForState(f.ipv4, 'Established');
    await s.waitForState(f.ipv6!, 'Established');

    // tortie -> FRR
    const v4 = await waitFor(async () => (await r.routes('ipv4')).get('10.101.0.0/24'), { timeoutMs: 10_000, what: 'FRR to learn 10.101.0.0/24' });
    expect(v4.nextHops).to.deep.equal([t.ipv4]);
    expect(v4.asPath).to.equal(String(TORTIE_AS));
    const v6 = await waitFor(async () => (await r.routes('ipv6')).get('fd00:101::/48'), { timeoutMs: 10_000, what: 'FRR to learn fd00:101::/48' });
    expect(v6.nextHops[0]).to.equal(t.ipv6);

    // FRR -> tortie
    const learned = await waitFor(async () => {
      const routes = await s.routes();
      const a = routes.find((x) => x.prefix === '10.102.0.0/24');
      const b = routes.find((x) => x.prefix === 'fd00:102::/48');
      return a && b ? { a, b } : undefined;
    }, { timeoutMs: 10_000, what: 'tortie to learn FRR routes' });
    expect(learned.a.nextHop).to.equal(f.ipv4);
    expect(learned.a.asPath).to.equal(String(FRR_AS));
    expect(learned.b.nextHop).to.equal(f.ipv6);

    // Withdrawals, both ways.
    const w = await tortie(['bgp', 'withdraw', '10.101.0.0/24', '--socket', s.socket]);
    expect(w.exitCode, w.stderr).to.equal(0);
    await waitFor(async () => !(await r.routes('ipv4')).has('10.101.0.0/24'), { timeoutMs: 10_000, what: 'FRR to drop 10.101.0.0/24' });
    await r.vtysh(`configure terminal\nrouter bgp ${FRR_AS}\naddress-family ipv6 unicast\nno network fd00:102::/48`);
    await waitFor(async () => !(await s.routes()).some((x) => x.prefix === 'fd00:102::/48'), { timeoutMs: 10_000, what: 'tortie to drop fd00:102::/48' });
    // The other routes stay.
    expect((await r.routes('ipv6')).has('fd00:101::/48')).to.equal(true);
    expect((await s.routes()).some((x) => x.prefix === '10.102.0.0/24')).to.equal(true);
  });

  for (const type of ['ibgp', 'ebgp'] as const) {
    for (const role of ['active', 'passive'] as const) {
      it(`${type} with tortie ${role}: the session comes up and a route crosses each way`, async () => {
        const tortieAs = type === 'ibgp' ? FRR_AS : TORTIE_AS;
        const r = await frr({ neighbors: [{ address: t.ipv4, asn: tortieAs, passive: role === 'active' }], networks: ['10.122.0.0/24'] });
        const s = await speaker({ asn: tortieAs, peers: [tortiePeer(f.ipv4, { passive: role === 'passive' })], originate: ['10.121.0.0/24'] });
        const p = await s.waitForState(f.ipv4, 'Established');
        expect(p.type).to.equal(type);
        await waitFor(async () => (await r.routes('ipv4')).has('10.121.0.0/24'), { timeoutMs: 10_000, what: 'FRR to learn 10.121.0.0/24' });
        await waitFor(async () => (await s.routes()).some((x) => x.prefix === '10.122.0.0/24'), { timeoutMs: 10_000, what: 'tortie to learn 10.122.0.0/24' });
      });
    }
  }

  it('hold timers: tortie drops a frozen FRR with a NOTIFICATION, and FRR drops a frozen tortie', async () => {
    const r = await frr({ neighbors: [{ address: t.ipv4, asn: TORTIE_AS, timers: { keepalive: 1, hold: 3 } }] });
    const s = await speaker({ peers: [tortiePeer(f.ipv4, { holdTime: 3, passive: true })] });
    await s.waitForState(f.ipv4, 'Established');

    r.freeze();
    const down = await waitFor(async () => {
      const p = await s.peer(f.ipv4);
      return p.state !== 'Established' && p.lastError ? p : undefined;
    }, { timeoutMs: 10_000, what: 'tortie to give up on the frozen FRR' });
    expect(down.lastError).to.match(/sent NOTIFICATION Hold Timer Expired/);
    expect(down.messages.sent.notification).to.be.greaterThan(0);
    r.thaw();
    await s.waitForState(f.ipv4, 'Established', 30_000);

    s.freeze();
    await waitFor(async () => (await r.neighbor(t.ipv4)).state !== 'Established', { timeoutMs: 10_000, what: 'FRR to give up on the frozen tortie' });
    const n = await r.neighbor(t.ipv4);
    expect(String(n.lastNotificationReason ?? n.raw.lastResetDueTo ?? '')).to.match(/Hold Timer Expired/i);
    s.thaw();
    await s.waitForState(f.ipv4, 'Established', 30_000);
  });

  it('TCP MD5: a session with the right password comes up, one with a wrong password stays down', async () => {
    const r = await frr({ neighbors: [{ address: t.ipv4, asn: TORTIE_AS, password: 'right-key' }] });
    const good = await speaker({ peers: [tortiePeer(f.ipv4, { password: 'right-key' })] });
    await good.waitForState(f.ipv4, 'Established');
    await r.waitForState(t.ipv4, 'Established');
    await good.stop();
    running.splice(running.indexOf(good), 1);

    const bad = await speaker({ peers: [tortiePeer(f.ipv4, { password: 'wrong-key' })] });
    // Both sides keep trying (connect retry 1 s); over several attempts neither gets anywhere.
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      expect((await bad.peer(f.ipv4)).state).to.not.be.oneOf(['OpenSent', 'OpenConfirm', 'Established']);
      expect((await r.neighbor(t.ipv4)).state).to.not.equal('Established');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  it("shows FRR's NOTIFICATION for a wrong AS in `tortie bgp peers`", async () => {
    // FRR expects AS 65099 from us; we are 65001.
    await frr({ neighbors: [{ address: t.ipv4, asn: 65099, passive: true }] });
    const s = await speaker({ peers: [tortiePeer(f.ipv4)] });
    const p = await waitFor(async () => {
      const x = await s.peer(f.ipv4);
      return x.lastError?.includes('received NOTIFICATION') ? x : undefined;
    }, { timeoutMs: 15_000, what: "tortie to receive FRR's NOTIFICATION" });
    expect(p.lastError).to.match(/OPEN Message Error \/ Bad Peer AS/);
    const table = await tortie(['bgp', 'peers', '--socket', s.socket]);
    expect(table.exitCode, table.stderr).to.equal(0);
    expect(table.stdout).to.match(new RegExp(`${f.ipv4.replace(/\./g, '\\.')}\\s+${FRR_AS}\\s+ebgp\\s+\\w+`));
    expect(table.stdout).to.match(/received NOTIFICATION OPEN Message Error \/ Bad Peer AS/);
  });
});
