/**
 * Kernel routes from `tortie bgp run` (fib.install): best paths land in the namespace's
 * routing table with protocol 200, ECMP as one multipath route, withdrawals remove them,
 * routes deleted by hand come back with the repair loop, and GET /fib tells what it did.
 *
 *   s   AS 65001, multipath 4, fib.install, the speaker under test
 *   p1  AS 65002 (tortie), announces ECMP and ONE
 *   p2  AS 65002 (tortie), announces ECMP
 */
import { expect } from 'chai';
import { run } from '../../../src/kernel/index.js';
import { callControl } from '../../../src/common/control-socket.js';
import type { FibStatus } from '../../../src/bgp/speaker/speaker.js';
import { makeHosts, useNetnsScope, type Host } from '../../helpers/netns.js';
import { startTortieSpeaker, type TortieSpeaker } from '../../helpers/peers/tortie-speaker.js';
import { tortie } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';

const ECMP = '10.80.0.0/24';
const ONE = '10.81.0.0/24';

/** Our route for `prefix` as `ip -o route show` prints it in `netns` (lines with proto 200 only; '' for none). */
async function kernelRoute(netns: string, prefix: string): Promise<string> {
  const out = await run('ip', ['-n', netns, '-o', 'route', 'show', prefix]);
  return out.split('\n').filter((l) => / proto 200 /.test(l)).join('\n').replace(/\\/g, ' ').replace(/\s+/g, ' ').trim();
}

describe('BGP kernel routes from the speaker: ECMP, withdrawals, repair', function () {
  this.timeout(90_000);
  const scope = useNetnsScope();
  let hs: Host;
  let h1: Host;
  let h2: Host;
  let s: TortieSpeaker;
  let p1: TortieSpeaker;
  let p2: TortieSpeaker;

  const ebgp = (address: string, asn: number) => ({ address, asn, holdTime: 9, connectRetryTime: 1, import: 'accept-all', export: 'accept-all' });

  before(async function () {
    this.timeout(60_000);
    const seg = await makeHosts(scope(), 3, { subnet: '10.213.0.0/24' });
    [hs, h1, h2] = seg.hosts as [Host, Host, Host];
    [s, p1, p2] = await Promise.all([
      startTortieSpeaker(scope(), hs.netns, {
        asn: 65001,
        routerId: hs.ipv4,
        multipath: 4,
        fib: { install: true, repairIntervalMs: 300 },
        peers: [ebgp(h1.ipv4, 65002), ebgp(h2.ipv4, 65002)],
      }),
      startTortieSpeaker(scope(), h1.netns, { asn: 65002, routerId: h1.ipv4, peers: [ebgp(hs.ipv4, 65001)], originate: [ECMP, ONE] }),
      startTortieSpeaker(scope(), h2.netns, { asn: 65002, routerId: h2.ipv4, peers: [ebgp(hs.ipv4, 65001)], originate: [ECMP] }),
    ]);
    await Promise.all([s.waitForState(h1.ipv4, 'Established'), s.waitForState(h2.ipv4, 'Established')]);
  });

  after(async () => {
    await Promise.all([s, p1, p2].filter(Boolean).map((x) => x.stop()));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && s) process.stderr.write(`--- speaker log tail:\n${s.process.output().slice(-4000)}\n`);
  });

  it('two eBGP peers with equal paths give one multipath kernel route, proto 200', async () => {
    const line = await waitFor(async () => {
      const l = await kernelRoute(hs.netns, ECMP);
      return (l.match(/nexthop via/g) ?? []).length === 2 ? l : undefined;
    }, { timeoutMs: 15_000, what: `${ECMP} as a two-way multipath route` });
    expect(line).to.match(/^10\.80\.0\.0\/24 proto 200 metric 32 nexthop/);
    expect(line).to.contain(`nexthop via ${h1.ipv4} dev eth0`);
    expect(line).to.contain(`nexthop via ${h2.ipv4} dev eth0`);
    const one = await waitFor(() => kernelRoute(hs.netns, ONE), { timeoutMs: 10_000, what: `${ONE} in the kernel` });
    expect(one).to.equal(`${ONE} via ${h1.ipv4} dev eth0 proto 200 metric 32`);
    // The RIB agrees: both paths are in the multipath set.
    const paths = await s.routes({ prefix: ECMP });
    expect(paths.filter((r) => r.ecmp).map((r) => r.nextHop).sort()).to.deep.equal([h1.ipv4, h2.ipv4].sort());
    const fib = await callControl<FibStatus>(s.socket, 'GET', '/fib');
    expect(fib).to.include({ install: true, installed: 2, failures: 0, restarting: false });
  });

  it('a withdrawal shrinks the multipath route, and the last one removes it', async () => {
    expect((await tortie(['bgp', 'withdraw', ECMP, '--socket', p2.socket])).exitCode).to.equal(0);
    await waitFor(async () => (await kernelRoute(hs.netns, ECMP)) === `${ECMP} via ${h1.ipv4} dev eth0 proto 200 metric 32`, {
      timeoutMs: 10_000,
      what: `${ECMP} via p1 only`,
    });
    expect((await tortie(['bgp', 'withdraw', ECMP, '--socket', p1.socket])).exitCode).to.equal(0);
    await waitFor(async () => (await kernelRoute(hs.netns, ECMP)) === '', { timeoutMs: 10_000, what: `${ECMP} gone from the kernel` });
    // Back again from both.
    expect((await tortie(['bgp', 'announce', ECMP, '--socket', p1.socket])).exitCode).to.equal(0);
    expect((await tortie(['bgp', 'announce', ECMP, '--socket', p2.socket])).exitCode).to.equal(0);
    await waitFor(async () => ((await kernelRoute(hs.netns, ECMP)).match(/nexthop via/g) ?? []).length === 2, { timeoutMs: 10_000, what: 'multipath again' });
  });

  it('repairs drift: a route of ours deleted by hand comes back, a stray of ours goes, others stay', async () => {
    await waitFor(() => kernelRoute(hs.netns, ONE), { timeoutMs: 10_000, what: `${ONE} in the kernel` });
    await run('ip', ['-n', hs.netns, 'route', 'del', ONE, 'proto', '200']);
    await run('ip', ['-n', hs.netns, 'route', 'add', '10.89.0.0/24', 'via', h2.ipv4, 'proto', '200', 'metric', '32']);
    await run('ip', ['-n', hs.netns, 'route', 'add', '10.88.0.0/24', 'via', h2.ipv4, 'proto', 'static']);
    await waitFor(async () => (await kernelRoute(hs.netns, ONE)) !== '' && (await kernelRoute(hs.netns, '10.89.0.0/24')) === '', {
      timeoutMs: 10_000,
      what: 'the repair loop to restore our route and remove the stray',
    });
    expect((await run('ip', ['-n', hs.netns, '-o', 'route', 'show', '10.88.0.0/24'])).trim()).to.contain('proto static');
    const fib = await callControl<FibStatus>(s.socket, 'GET', '/fib');
    expect(fib.lastRepair).to.not.equal(null);
  });

  it('a peer that goes away takes its next hop out of the kernel', async () => {
    await p2.stop();
    await waitFor(async () => (await kernelRoute(hs.netns, ECMP)) === `${ECMP} via ${h1.ipv4} dev eth0 proto 200 metric 32`, {
      timeoutMs: 15_000,
      what: `${ECMP} via p1 only after p2 stopped`,
    });
  });
});
