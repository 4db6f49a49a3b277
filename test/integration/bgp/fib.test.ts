// KernelFib against the real kernel, inside namespaces this file makes: A holds the FIB,
// B and C are neighbours on veths, so their addresses are on-link next hops for A.
import { expect } from 'chai';
import { ipBatch, run } from '../../../src/kernel/index.js';
import { KernelFib, TORTIE_ROUTE_PROTOCOL, type NextHopsInput } from '../../../src/bgp/fib/index.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';

const B4 = '10.210.1.2';
const C4 = '10.210.2.2';
const B6 = 'fd21:1::2';
const B_LL = 'fe80::b';

/** The kernel's own view, not through KernelFib: `ip -o route show ...` lines of A. */
async function kernelLines(netns: string, args: string[], family: 4 | 6 = 4): Promise<string[]> {
  const out = await run('ip', ['-n', netns, '-o', `-${family}`, 'route', 'show', ...args]);
  return out.split('\n').filter((l) => l.trim() !== '');
}

function v4(i: number): string {
  return `10.230.${(i >> 8) & 255}.${i & 255}/32`;
}

describe('bgp/fib: KernelFib in a network namespace', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let a = '';
  const fibs: KernelFib[] = [];
  const fib = (options: ConstructorParameters<typeof KernelFib>[0] = {}): KernelFib => {
    const f = new KernelFib({ netns: a, ...options });
    fibs.push(f);
    return f;
  };

  before(async () => {
    a = await scope().netns('fa');
    const b = await scope().netns('fb');
    const c = await scope().netns('fc');
    await scope().veth({ netns: a, name: 'to-b', addresses: ['10.210.1.1/24', 'fd21:1::1/64'] }, { netns: b, name: 'to-a', addresses: [`${B4}/24`, `${B6}/64`] });
    await scope().veth({ netns: a, name: 'to-c', addresses: ['10.210.2.1/24'] }, { netns: c, name: 'to-a', addresses: [`${C4}/24`] });
    await ipBatch([`addr add ${B_LL}/64 dev to-a nodad`], { netns: b });
  });

  afterEach(async () => {
    await Promise.all(fibs.splice(0).map((f) => f.stop()));
    // Each test starts from an empty table of ours (only routes inside our own namespace).
    await run('ip', ['-n', a, '-4', 'route', 'flush', 'proto', '200']);
    await run('ip', ['-n', a, '-6', 'route', 'flush', 'proto', '200']);
  });

  it('installs 1,000 /32s in one flush, with our protocol and next hop, and reads them back', async () => {
    const f = fib();
    const via: NextHopsInput = [B4];
    for (let i = 0; i < 1000; i++) f.replace(v4(i), via);
    expect(f.pending).to.equal(1000);
    const report = await f.flushWithReport();
    expect(report).to.include({ added: 1000, failed: 0 });
    expect(f.pending).to.equal(0);

    const lines = await kernelLines(a, ['proto', String(TORTIE_ROUTE_PROTOCOL)]);
    expect(lines).to.have.length(1000);
    expect(lines[0]).to.match(/^10\.230\.0\.0 via 10\.210\.1\.2 dev to-b metric 32\s*$/);
    expect(lines.every((l) => l.includes(`via ${B4} dev to-b`))).to.equal(true);

    const back = await f.readBack();
    expect(back.size).to.equal(1000);
    expect(back.get('10.230.3.231/32')).to.deep.equal({
      prefix: '10.230.3.231/32',
      family: 4,
      type: 'unicast',
      metric: 32,
      nextHops: [{ via: B4, dev: 'to-b', weight: 1 }],
    });
    // Flushing the same again writes nothing.
    for (let i = 0; i < 1000; i++) f.replace(v4(i), via);
    expect(await f.flushWithReport()).to.include({ added: 0, replaced: 0, unchanged: 1000 });
  });

  it('writes ECMP as one multipath route, and IPv6 with global and link-local next hops', async () => {
    const f = fib();
    f.replace('10.231.0.0/24', [{ via: B4 }, { via: C4, weight: 3 }]);
    f.replace('fd21:99::/64', [{ via: B_LL, dev: 'to-b' }]);
    f.replace('FD21:98:0::1', [B6]); // a /128, in any spelling
    await f.flush();
    expect(f.failures.size).to.equal(0);

    const ecmp = (await kernelLines(a, ['10.231.0.0/24', 'proto', '200']))[0]!;
    expect(ecmp).to.match(/nexthop via 10\.210\.1\.2 dev to-b weight 1 .*nexthop via 10\.210\.2\.2 dev to-c weight 3/);
    const v6 = await kernelLines(a, ['proto', '200'], 6);
    expect(v6.find((l) => l.startsWith('fd21:99::/64'))).to.match(/via fe80::b dev to-b metric 32/);
    expect(v6.find((l) => l.startsWith('fd21:98::1 '))).to.match(/via fd21:1::2 dev to-b metric 32/);

    const back = await f.readBack();
    expect(back.get('10.231.0.0/24')!.nextHops).to.deep.equal([
      { via: B4, dev: 'to-b', weight: 1 },
      { via: C4, dev: 'to-c', weight: 3 },
    ]);
    expect(back.get('fd21:98::1/128')!.nextHops).to.deep.equal([{ via: B6, dev: 'to-b', weight: 1 }]);

    // A path goes: ECMP becomes a single next hop, by replace (no delete in between).
    f.replace('10.231.0.0/24', [C4]);
    expect(await f.flushWithReport()).to.include({ replaced: 1 });
    expect(await kernelLines(a, ['10.231.0.0/24', 'proto', '200'])).to.deep.equal([
      '10.231.0.0/24 via 10.210.2.2 dev to-c metric 32 ',
    ]);
  });

  it('removes routes, and only ours', async () => {
    const f = fib();
    // Someone else's route for the same prefix, at another metric, and one at our prefix+metric elsewhere.
    await ipBatch(['route add 10.232.0.1/32 via 10.210.2.2 proto static metric 5'], { netns: a });
    f.replace('10.232.0.1/32', [B4]);
    f.replace('10.232.0.2/32', [B4]);
    await f.flush();
    expect(await kernelLines(a, ['10.232.0.1/32'])).to.have.length(2);
    f.remove('10.232.0.1/32');
    f.remove('10.232.0.2/32');
    expect(await f.flushWithReport()).to.include({ removed: 2, failed: 0 });
    expect(await kernelLines(a, ['proto', '200'])).to.deep.equal([]);
    expect(await kernelLines(a, ['10.232.0.1/32'])).to.deep.equal(['10.232.0.1 via 10.210.2.2 dev to-c proto static metric 5 ']);
    await ipBatch(['route del 10.232.0.1/32 proto static metric 5'], { netns: a });
  });

  it('coalesces changes to one prefix between flushes: only the last state is written', async () => {
    const f = fib();
    f.replace('10.233.0.1/32', [B4]);
    f.replace('10.233.0.1/32', [C4]);
    f.remove('10.233.0.1/32');
    f.replace('10.233.0.1/32', [B4, C4]);
    expect(f.pending).to.equal(1);
    const report = await f.flushWithReport();
    expect(report).to.deep.equal({ added: 1, replaced: 0, removed: 0, unchanged: 0, failed: 0, keptStale: 0 });
    const back = await f.readBack();
    expect([...back.keys()]).to.deep.equal(['10.233.0.1/32']);
    expect(back.get('10.233.0.1/32')!.nextHops.map((h) => h.via)).to.deep.equal([B4, C4]);
  });

  it('repairs drift: ours deleted by hand come back, strays of ours go, other protocols stay', async () => {
    const f = fib();
    const desired = new Map<string, NextHopsInput>();
    for (let i = 0; i < 50; i++) desired.set(`10.234.0.${i}/32`, [B4]);
    desired.set('10.234.1.0/24', [B4, C4]);
    expect(await f.reconcile(desired)).to.include({ added: 51, removed: 0, failed: 0 });

    await ipBatch(
      [
        'route del 10.234.0.7/32 proto 200', // ours, deleted by hand
        'route replace 10.234.1.0/24 via 10.210.2.2 proto 200 metric 32', // ours, changed by hand
        'route add 10.234.9.9/32 via 10.210.1.2 proto 200 metric 32', // a stray of ours
        'route add 10.234.9.10/32 via 10.210.1.2 proto 200 metric 77', // a stray of ours at another metric
        'route add 10.234.8.8/32 via 10.210.2.2 proto static', // someone else's
        'route add 10.234.0.9/32 via 10.210.2.2 proto static metric 3', // someone else's, on one of our prefixes
      ],
      { netns: a },
    );
    const report = await f.reconcile(desired);
    expect(report).to.include({ added: 1, replaced: 1, removed: 2, unchanged: 49, failed: 0 });

    const back = await f.readBack();
    expect([...back.keys()].sort()).to.deep.equal([...desired.keys()].sort());
    expect(back.get('10.234.0.7/32')!.nextHops[0]!.via).to.equal(B4);
    expect(back.get('10.234.1.0/24')!.nextHops.map((h) => h.via)).to.deep.equal([B4, C4]);
    expect(await kernelLines(a, ['10.234.8.8/32'])).to.deep.equal(['10.234.8.8 via 10.210.2.2 dev to-c proto static ']);
    expect(await kernelLines(a, ['10.234.0.9/32', 'proto', 'static'])).to.have.length(1);
    // Nothing left to do.
    expect(await f.reconcile(desired)).to.include({ added: 0, replaced: 0, removed: 0, unchanged: 51 });
    await ipBatch(['route del 10.234.8.8/32 proto static', 'route del 10.234.0.9/32 proto static metric 3'], { netns: a });
  });

  it('repairs on a timer with the repair loop', async () => {
    const f = fib();
    const desired = new Map<string, NextHopsInput>([['10.235.0.1/32', [B4]]]);
    f.startRepairLoop(50, () => desired);
    await waitUntil(async () => (await kernelLines(a, ['proto', '200'])).length === 1, 'the first repair');
    await ipBatch(['route del 10.235.0.1/32 proto 200'], { netns: a });
    await waitUntil(async () => (await kernelLines(a, ['10.235.0.1', 'proto', '200'])).length === 1, 'the route to come back');
    desired.clear();
    await waitUntil(async () => (await kernelLines(a, ['proto', '200'])).length === 0, 'the route to go');
    await f.stop();
  });

  it('graceful restart: a new FIB keeps the routes of the old run until sweepStale removes the unrefreshed ones', async () => {
    const old = fib();
    for (let i = 0; i < 10; i++) old.replace(`10.236.0.${i}/32`, [B4]);
    old.replace('fd21:36::/64', [B6]);
    await old.flush();
    await old.stop(); // "killed": its routes stay

    const f = fib();
    expect(await f.markAllStale()).to.equal(11);
    expect(f.restarting).to.equal(true);
    // Nothing was removed by starting up, and a reconcile during the stale period keeps them too.
    expect(await kernelLines(a, ['proto', '200'])).to.have.length(10);
    const relearned = new Map<string, NextHopsInput>();
    for (let i = 0; i < 5; i++) relearned.set(`10.236.0.${i}/32`, [B4]);
    relearned.set('10.236.0.3/32', [C4]); // changed while we were down
    expect(await f.reconcile(relearned)).to.include({ replaced: 1, unchanged: 4, removed: 0, keptStale: 6 });
    expect(await kernelLines(a, ['proto', '200'])).to.have.length(10);

    // The RIB learns again: refreshed prefixes are not written again unless they changed.
    for (const [p, h] of relearned) f.replace(p, h);
    f.replace('10.236.0.20/32', [B4]); // new
    const report = await f.sweepStale();
    expect(report).to.include({ added: 1, unchanged: 5, removed: 6 }); // 5 v4 + the v6 one
    expect(f.restarting).to.equal(false);
    const left = (await kernelLines(a, ['proto', '200'])).map((l) => l.split(' ')[0]);
    expect(left.sort()).to.deep.equal(['10.236.0.0', '10.236.0.1', '10.236.0.2', '10.236.0.20', '10.236.0.3', '10.236.0.4']);
    expect(await kernelLines(a, ['proto', '200'], 6)).to.deep.equal([]);
    expect((await f.readBack()).get('10.236.0.3/32')!.nextHops[0]!.via).to.equal(C4);
  });

  it('resolves a next hop behind another gateway (recursive), and installs via that gateway', async () => {
    await ipBatch(['route add 10.240.0.0/16 via 10.210.2.2 proto static'], { netns: a });
    try {
      const f = fib();
      f.replace('10.237.0.1/32', ['10.240.5.5']); // an iBGP next hop: a loopback behind C
      f.replace('10.237.0.2/32', ['10.240.5.5', B4]); // ECMP with one recursive and one on-link
      await f.flush();
      expect(f.failures.size).to.equal(0);
      expect(await kernelLines(a, ['10.237.0.1', 'proto', '200'])).to.deep.equal(['10.237.0.1 via 10.210.2.2 dev to-c metric 32 ']);
      const back = await f.readBack();
      expect(back.get('10.237.0.2/32')!.nextHops.map((h) => h.via)).to.deep.equal([B4, C4]);
      // Without resolution the kernel itself refuses such a gateway: the case is real.
      const err = await ipBatch(['route add 10.237.0.3/32 via 10.240.5.5'], { netns: a }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.match(/invalid gateway|unreachable/i);
    } finally {
      await ipBatch(['route del 10.240.0.0/16 proto static'], { netns: a });
    }
  });

  it('reports an unresolvable next hop, installs nothing for it, and installs it once it resolves', async () => {
    const f = fib();
    f.replace('10.238.0.1/32', ['10.241.0.1']);
    f.replace('10.238.0.2/32', [B4]);
    const report = await f.flushWithReport();
    expect(report).to.include({ added: 1, failed: 1 });
    const failure = f.failures.get('10.238.0.1/32');
    expect(failure).to.include({ reason: 'unresolved' });
    expect(failure!.message).to.contain('10.241.0.1');
    expect(await kernelLines(a, ['10.238.0.1', 'proto', '200'])).to.deep.equal([]);

    const desired = new Map<string, NextHopsInput>([
      ['10.238.0.1/32', ['10.241.0.1']],
      ['10.238.0.2/32', [B4]],
    ]);
    // Still unresolvable: still reported, nothing else changes.
    expect(await f.reconcile(desired)).to.include({ failed: 1, unchanged: 1 });
    await ipBatch(['route add 10.241.0.0/16 via 10.210.1.2 proto static'], { netns: a });
    try {
      expect(await f.reconcile(desired)).to.include({ added: 1, failed: 0 });
      expect(f.failures.size).to.equal(0);
      expect(await kernelLines(a, ['10.238.0.1', 'proto', '200'])).to.deep.equal(['10.238.0.1 via 10.210.1.2 dev to-b metric 32 ']);
      // The covering route goes again: the route of ours that depended on it goes too.
      await ipBatch(['route del 10.241.0.0/16 proto static'], { netns: a });
      expect(await f.reconcile(desired)).to.include({ removed: 1, failed: 1 });
      expect(await kernelLines(a, ['10.238.0.1', 'proto', '200'])).to.deep.equal([]);
    } finally {
      await ipBatch(['route flush 10.241.0.0/16 proto static'], { netns: a });
    }
  });

  it('never replaces a route of another protocol at our prefix and metric: reports a conflict', async () => {
    await ipBatch(['route add 10.239.0.1/32 via 10.210.2.2 proto static metric 32'], { netns: a });
    try {
      const f = fib();
      f.replace('10.239.0.1/32', [B4]);
      f.replace('10.239.0.2/32', [B4]);
      expect(await f.flushWithReport()).to.include({ added: 1, failed: 1 });
      expect(f.failures.get('10.239.0.1/32')).to.include({ reason: 'conflict' });
      expect(await kernelLines(a, ['10.239.0.1/32'])).to.deep.equal(['10.239.0.1 via 10.210.2.2 dev to-c proto static metric 32 ']);
    } finally {
      await ipBatch(['route del 10.239.0.1/32 proto static metric 32'], { netns: a });
    }
  });

  it('adopts a route of ours left by an earlier run without markAllStale (add meets it, replace wins)', async () => {
    await ipBatch(['route add 10.239.1.1/32 via 10.210.2.2 proto 200 metric 32'], { netns: a });
    const f = fib();
    f.replace('10.239.1.1/32', [B4]);
    expect(await f.flushWithReport()).to.include({ replaced: 1, failed: 0 });
    expect(await kernelLines(a, ['10.239.1.1', 'proto', '200'])).to.deep.equal(['10.239.1.1 via 10.210.1.2 dev to-b metric 32 ']);
  });

  it('refuses bad input at once, before anything reaches ip', () => {
    const f = fib();
    expect(() => f.replace('10.0.0.1/24', [B4])).to.throw(/host bits/);
    expect(() => f.replace('10.0.0.0/33', [B4])).to.throw(/prefix length/);
    expect(() => f.replace('10.0.0.0/24', [])).to.throw(/no next hop/);
    expect(() => f.replace('10.0.0.0/24', ['10.0.0.300'])).to.throw(/not an IP address/);
    expect(() => f.replace('fd00::/64', ['fe80::1'])).to.throw(/link-local .* needs an interface/);
    expect(() => f.replace('10.0.0.0/24', [{ via: B4, dev: 'bad dev' }])).to.throw(/interface name/);
    expect(f.pending).to.equal(0);
  });
});

async function waitUntil(cond: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(cond, { what, timeoutMs: 5000, intervalMs: 20 });
}
