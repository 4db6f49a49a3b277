import { expect } from 'chai';
import { makeHosts, useNetnsScope } from '../../helpers/netns.js';
import { startFrr, type Frr } from '../../helpers/peers/frr.js';
import { waitFor } from '../../helpers/wait.js';

// The harness itself: two FRRs in namespaces peer over eBGP and exchange a route. If this
// fails, every interop test that uses FRR would fail for the wrong reason.
describe('FRR peer harness', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  const frrs: Frr[] = [];
  after(async () => {
    await Promise.all(frrs.map((f) => f.stop()));
  });

  it('runs two bgpds that peer and exchange a route', async () => {
    const seg = await makeHosts(scope(), 2, { subnet: '10.201.0.0/24' });
    const [a, b] = seg.hosts as [(typeof seg.hosts)[0], (typeof seg.hosts)[0]];
    frrs.push(
      await startFrr(scope(), a.netns, {
        asn: 65001,
        routerId: a.ipv4,
        neighbors: [{ address: b.ipv4, asn: 65002 }],
        networks: ['10.77.0.0/24'],
      }),
    );
    frrs.push(
      await startFrr(scope(), b.netns, {
        asn: 65002,
        routerId: b.ipv4,
        neighbors: [{ address: a.ipv4, asn: 65001, passive: true }],
      }),
    );
    const [fa, fb] = frrs as [Frr, Frr];
    await fa.waitForState(b.ipv4, 'Established');
    const route = await waitFor(async () => (await fb.routes('ipv4')).get('10.77.0.0/24'), {
      timeoutMs: 10_000,
      what: 'the route at the second FRR',
    });
    expect(route.nextHops).to.deep.equal([a.ipv4]);
    expect(route.asPath).to.equal('65001');
  });
});
