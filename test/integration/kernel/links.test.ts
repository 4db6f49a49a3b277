import { expect } from 'chai';
import {
  CommandError,
  InvalidAddressError,
  InvalidNameError,
  getSysctl,
  ipBatch,
  listAddresses,
  listLinks,
  setSysctl,
} from '../../../src/kernel/index.js';
import { echoRoundTrip, makeHosts, type Host, ping, startEchoServer, tcpConnect, useNetnsScope } from '../../helpers/netns.js';

describe('kernel: veth pairs and bridges in namespaces', function () {
  this.timeout(20_000);
  const scope = useNetnsScope();

  it('joins two namespaces with a veth pair that carries v4 and v6 both ways', async () => {
    const a = await scope().netns('va');
    const b = await scope().netns('vb');
    await scope().veth(
      { netns: a, name: 'to-b', addresses: ['10.201.0.1/30', 'fd20:1::1/64'] },
      { netns: b, name: 'to-a', addresses: ['10.201.0.2/30', 'fd20:1::2/64'] },
      { mtu: 1400 },
    );
    expect(await ping(a, '10.201.0.2')).to.equal(true);
    expect(await ping(b, '10.201.0.1')).to.equal(true);
    expect(await ping(a, 'fd20:1::2')).to.equal(true);
    expect(await ping(b, 'fd20:1::1')).to.equal(true);
    // An address nobody has gets no answer: the probe can say no.
    expect(await ping(a, '10.201.0.3', { timeoutMs: 300 })).to.equal(false);

    const links = await listLinks(a);
    expect(links.map((l) => l.name)).to.deep.equal(['lo', 'to-b']);
    const veth = links.find((l) => l.name === 'to-b')!;
    expect(veth).to.include({ mtu: 1400, up: true, kind: 'veth' });
    expect(await listAddresses(b, 'to-a')).to.include.members(['10.201.0.2/30', 'fd20:1::2/64']);
  });

  it('joins three namespaces through a bridge in a fourth, with TCP and UDP echo across it', async () => {
    const seg = await makeHosts(scope(), 3, { name: 's', subnet: '10.202.0.0/24', v6Subnet: 'fd20:2::/64' });
    expect(seg.hosts.map((h) => h.cidr4)).to.deep.equal(['10.202.0.1/24', '10.202.0.2/24', '10.202.0.3/24']);
    const bridgePorts = (await listLinks(seg.netns)).filter((l) => l.master === seg.bridge).map((l) => l.name);
    expect(bridgePorts.sort()).to.deep.equal(['s1', 's2', 's3']);
    const [h1, h2, h3] = seg.hosts as [(typeof seg.hosts)[0], (typeof seg.hosts)[0], (typeof seg.hosts)[0]];
    expect(await ping(h1.netns, h2.ipv4)).to.equal(true);
    expect(await ping(h1.netns, h3.ipv4)).to.equal(true);
    expect(await ping(h3.netns, h2.ipv6!)).to.equal(true);

    const tcp = await startEchoServer(scope(), h2.netns, { proto: 'tcp' });
    const udp = await startEchoServer(scope(), h3.netns, { proto: 'udp', port: 7007 });
    expect(udp.port).to.equal(7007);
    expect(await tcpConnect(h1.netns, h2.ipv4, tcp.port)).to.equal(true);
    expect(await echoRoundTrip(h1.netns, 'tcp', h2.ipv6!, tcp.port)).to.equal(true);
    expect(await echoRoundTrip(h1.netns, 'udp', h3.ipv4, udp.port)).to.equal(true);
    // Nothing listens on h3's TCP side: refused, not hung.
    expect(await tcpConnect(h1.netns, h3.ipv4, tcp.port)).to.equal(false);
    await tcp.stop();
    expect(tcp.process.exit).to.deep.equal({ code: 0, signal: null });
    expect(await tcpConnect(h1.netns, h2.ipv4, tcp.port)).to.equal(false);
  });

  it('sets and reads sysctls inside one namespace only', async () => {
    const a = await scope().netns('sa');
    const b = await scope().netns('sb');
    await setSysctl(a, 'net.ipv4.ip_forward', 1);
    expect(await getSysctl(a, 'net.ipv4.ip_forward')).to.equal('1');
    expect(await getSysctl(b, 'net.ipv4.ip_forward')).to.equal('0');
    // Our namespaces skip IPv6 DAD unless asked (see createNetns); the root's is untouched.
    expect(await getSysctl(a, 'net.ipv6.conf.default.accept_dad')).to.equal('0');
    const withDad = await scope().netns('sd', { dad: true });
    expect(await getSysctl(withDad, 'net.ipv6.conf.default.accept_dad')).to.equal('1');
    const err = await setSysctl(a, 'net.ipv4.no_such_knob', 1).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/^ip netns exec tt\w+-sa sysctl -q -w net.ipv4.no_such_knob=1: exit status \d+: .*no_such_knob/);
    const bad = await setSysctl(a, 'net.ipv4.ip_forward; reboot', 1).catch((e: unknown) => e);
    expect((bad as Error).message).to.equal('sysctl: "net.ipv4.ip_forward; reboot" is not a sysctl name');
  });

  it('makes routers: hosts with forwarding on route between two segments', async () => {
    const left = await makeHosts(scope(), 2, { name: 'l', subnet: '10.203.1.0/24', v6Subnet: 'fd20:31::/64', forwarding: true });
    const right = await makeHosts(scope(), 1, { name: 'r', subnet: '10.203.2.0/24', v6Subnet: 'fd20:32::/64' });
    const [router, client] = left.hosts as [Host, Host];
    const server = right.hosts[0]!;
    // The router gets a second leg on the right segment; each end host a route through it.
    await scope().veth(
      { netns: router.netns, name: 'eth1', addresses: ['10.203.2.254/24', 'fd20:32::fe/64'] },
      { netns: right.netns, name: 'rtr' },
    );
    await ipBatch(['link set rtr master br0'], { netns: right.netns });
    await ipBatch(['route add 10.203.2.0/24 via 10.203.1.1', 'route add fd20:32::/64 via fd20:31::1'], { netns: client.netns });
    await ipBatch(['route add 10.203.1.0/24 via 10.203.2.254', 'route add fd20:31::/64 via fd20:32::fe'], { netns: server.netns });
    expect(await getSysctl(router.netns, 'net.ipv4.ip_forward')).to.equal('1');
    expect(await ping(client.netns, server.ipv4)).to.equal(true);
    expect(await ping(client.netns, server.ipv6!)).to.equal(true);
    // Without forwarding on the router the same path is dead: the probe above meant something.
    await setSysctl(router.netns, 'net.ipv4.ip_forward', 0);
    expect(await ping(client.netns, server.ipv4, { timeoutMs: 300 })).to.equal(false);
  });

  it('names the failing line of an ip batch', async () => {
    const a = await scope().netns('ba');
    const err = await ipBatch(['link show lo', 'link set nosuch0 up'], { netns: a }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CommandError);
    expect((err as Error).message).to.equal(`ip batch in netns ${a}, line 2 "link set nosuch0 up": Cannot find device "nosuch0"`);
  });

  it('rejects bad names and addresses before touching the kernel', async () => {
    const a = await scope().netns('na');
    const b = await scope().netns('nb');
    const long = 'a-very-long-name0';
    const err = await scope()
      .veth({ netns: a, name: long }, { netns: b, name: 'ok0' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidNameError);
    expect((err as Error).message).to.equal(
      `veth end in netns ${a}: interface name "${long}" is 17 characters long; Linux allows at most 15`,
    );
    const bad = await scope()
      .veth({ netns: a, name: 'x0', addresses: ['10.0.0.300/24'] }, { netns: b, name: 'y0' })
      .catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(InvalidAddressError);
    expect((bad as Error).message).to.match(/^veth x0 in netns tt\w+-na: "10.0.0.300\/24" is not an IP address/);
    // Neither attempt left a link behind.
    expect((await listLinks(a)).map((l) => l.name)).to.deep.equal(['lo']);
    expect((await listLinks(b)).map((l) => l.name)).to.deep.equal(['lo']);
    // 15 characters is the most Linux takes; 16 is refused by us, not by the kernel.
    await scope().bridge(a, 'br-0123456789ab');
    const tooLong = await scope()
      .bridge(a, 'br-0123456789abc')
      .catch((e: unknown) => e);
    expect(tooLong).to.be.instanceOf(InvalidNameError);
    expect((tooLong as Error).message).to.contain('"br-0123456789abc" is 16 characters long');
    expect((await listLinks(a)).map((l) => l.name)).to.deep.equal(['lo', 'br-0123456789ab']);
  });
});
