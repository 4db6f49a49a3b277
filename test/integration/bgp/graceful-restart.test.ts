/**
 * Graceful restart (RFC 4724) in both roles, with kernel routes, in network namespaces:
 *
 *   a  AS 65001, fib.install: killed with SIGKILL and started again (the restarting speaker)
 *   b  AS 65002, fib.install: its peer (the helper)
 *
 * While a is gone, b keeps forwarding along a's routes: its kernel routes stay, checked by
 * polling them and by `ip monitor route` catching any delete. The restarted a finds its own
 * kernel routes, keeps them (stale), says R and F in its OPEN, learns again, and after
 * End-of-RIB sweeps what nobody announces any more. b sweeps the route a no longer announces.
 */
import { expect } from 'chai';
import { run } from '../../../src/kernel/index.js';
import { callControl } from '../../../src/common/control-socket.js';
import type { FibStatus } from '../../../src/bgp/speaker/speaker.js';
import type { NetnsProcess } from '../../../src/kernel/index.js';
import { makeHosts, useNetnsScope, type Host } from '../../helpers/netns.js';
import { startTortieSpeaker, type TortieSpeaker } from '../../helpers/peers/tortie-speaker.js';
import { tortie } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';

/** a announces both before the restart, only KEEP after it. */
const KEEP = '10.90.1.0/24';
const DROP = '10.90.2.0/24';
/** b announces B_KEEP throughout, B_GONE until a is down. */
const B_KEEP = '10.91.0.0/24';
const B_GONE = '10.92.0.0/24';

async function ourRoutes(netns: string): Promise<Map<string, string>> {
  const out = await run('ip', ['-n', netns, '-o', '-4', 'route', 'show', 'proto', '200']);
  const m = new Map<string, string>();
  for (const l of out.split('\n')) if (l.trim() !== '') m.set(l.split(' ')[0]!, l.trim());
  return m;
}

/** Polls `netns` for `prefixes` until stopped; records every moment one was missing. */
function watchPresent(netns: string, prefixes: string[]): { stop(): Promise<{ polls: number; missing: string[] }> } {
  let running = true;
  let polls = 0;
  const missing: string[] = [];
  const loop = (async () => {
    while (running) {
      const have = await ourRoutes(netns);
      polls++;
      for (const p of prefixes) if (!have.has(p)) missing.push(`${p} missing at poll ${polls}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, missing };
    },
  };
}

describe('BGP graceful restart with kernel routes: kill -9 and restart', function () {
  this.timeout(120_000);
  const scope = useNetnsScope();
  let ha: Host;
  let hb: Host;
  let b: TortieSpeaker;
  const speakers: TortieSpeaker[] = [];
  const monitors: NetnsProcess[] = [];

  const peerOf = (address: string, asn: number) => ({
    address,
    asn,
    holdTime: 9,
    connectRetryTime: 1,
    import: 'accept-all',
    export: 'accept-all',
    gracefulRestart: { restartTime: 60 },
  });
  const aConfig = (originate: string[]) => ({
    asn: 65001,
    routerId: ha.ipv4,
    fib: { install: true, repairIntervalMs: 500 },
    gracefulRestart: { selectionDeferralTime: 60 },
    peers: [peerOf(hb.ipv4, 65002)],
    originate,
  });

  before(async () => {
    const seg = await makeHosts(scope(), 2, { subnet: '10.214.0.0/24' });
    [ha, hb] = seg.hosts as [Host, Host];
  });

  after(async () => {
    await Promise.all([...speakers.splice(0).map((s) => s.stop()), ...monitors.splice(0).map((m) => m.stop())]);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const s of speakers) process.stderr.write(`--- ${s.netns} log tail:\n${s.process.output().slice(-4000)}\n`);
  });

  it('the helper keeps forwarding while the speaker is down, and both sweep only what is stale', async () => {
    let a = await startTortieSpeaker(scope(), ha.netns, aConfig([KEEP, DROP]));
    speakers.push(a);
    b = await startTortieSpeaker(scope(), hb.netns, {
      asn: 65002,
      routerId: hb.ipv4,
      fib: { install: true, repairIntervalMs: 500 },
      peers: [peerOf(ha.ipv4, 65001)],
      originate: [B_KEEP, B_GONE],
    });
    speakers.push(b);
    await b.waitForState(ha.ipv4, 'Established');
    const bPeer = await b.peer(ha.ipv4);
    expect(bPeer.capabilities).to.include('graceful-restart(60s)');
    // Both kernels have each other's routes.
    await waitFor(async () => {
      const rb = await ourRoutes(hb.netns);
      const ra = await ourRoutes(ha.netns);
      return rb.has(KEEP) && rb.has(DROP) && ra.has(B_KEEP) && ra.has(B_GONE);
    }, { timeoutMs: 15_000, what: 'kernel routes on both sides' });
    expect((await ourRoutes(hb.netns)).get(KEEP)).to.equal(`${KEEP} via ${ha.ipv4} dev eth0 metric 32`);

    // Watch b's kernel: polled presence, and every route delete the kernel reports.
    const monitor = await scope().spawn(hb.netns, 'ip', ['-o', 'monitor', 'route']);
    monitors.push(monitor);
    const watchB = watchPresent(hb.netns, [KEEP, DROP]);
    const watchA = watchPresent(ha.netns, [B_KEEP]);

    // kill -9: no NOTIFICATION, the TCP connection just ends.
    process.kill(a.process.pid, 'SIGKILL');
    await a.process.exited;
    await waitFor(async () => (await b.peer(ha.ipv4)).state !== 'Established', { timeoutMs: 15_000, what: 'b to see a gone' });
    // b keeps a's routes, marked stale.
    const staleRoutes = await b.routes({ peer: ha.ipv4 });
    expect(staleRoutes.map((r) => [r.prefix, r.stale]).sort()).to.deep.equal([[KEEP, true], [DROP, true]]);
    // Meanwhile b stops announcing B_GONE: the restarted a will not learn it again.
    expect((await tortie(['bgp', 'withdraw', B_GONE, '--socket', b.socket])).exitCode).to.equal(0);

    // a comes back without DROP. It finds its kernel routes and keeps them while it learns.
    const old = a;
    a = await startTortieSpeaker(scope(), ha.netns, aConfig([KEEP]));
    speakers.push(a);
    await old.stop();
    speakers.splice(speakers.indexOf(old), 1);
    // The control socket answers before the speaker's start-up scan of the kernel is done.
    const fibA = await waitFor(async () => {
      const f = await callControl<FibStatus>(a.socket, 'GET', '/fib');
      return f.foundAtStart > 0 ? f : undefined;
    }, { timeoutMs: 10_000, what: 'the restarted speaker to find its kernel routes' });
    expect(fibA.foundAtStart).to.equal(2);
    await b.waitForState(ha.ipv4, 'Established');
    // b saw a's OPEN with R and F... and then End-of-RIB: DROP goes from b's RIB and kernel.
    await waitFor(async () => !(await ourRoutes(hb.netns)).has(DROP), { timeoutMs: 20_000, what: `b to sweep ${DROP}` });
    expect((await b.routes({ peer: ha.ipv4 })).map((r) => [r.prefix, r.stale])).to.deep.equal([[KEEP, false]]);
    // a swept its stale B_GONE after b's End-of-RIB, and kept B_KEEP.
    await waitFor(async () => !(await ourRoutes(ha.netns)).has(B_GONE), { timeoutMs: 20_000, what: `a to sweep ${B_GONE}` });
    await waitFor(async () => !(await callControl<FibStatus>(a.socket, 'GET', '/fib')).restarting, { timeoutMs: 5000, what: 'a to end its restart' });

    const b1 = await watchB.stop();
    const a1 = await watchA.stop();
    expect(b1.polls).to.be.greaterThan(10);
    expect(b1.missing.filter((m) => m.startsWith(KEEP))).to.deep.equal([]);
    expect(a1.missing).to.deep.equal([]);
    expect((await ourRoutes(hb.netns)).get(KEEP)).to.equal(`${KEEP} via ${ha.ipv4} dev eth0 metric 32`);
    expect((await ourRoutes(ha.netns)).has(B_KEEP)).to.equal(true);
    // The kernel itself reported no delete of KEEP on b, ever; DROP's delete came after the restart.
    const events = monitor.output().split('\n').filter((l) => l.startsWith('Deleted'));
    expect(events.filter((l) => l.includes(KEEP))).to.deep.equal([]);
    expect(events.filter((l) => l.includes(DROP))).to.have.length(1);
  });
});
