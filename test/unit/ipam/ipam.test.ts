import { expect } from 'chai';
import { mustParseCidr, contains, parseIp } from '../../../src/ipam/addr.js';
import { AddressInUseError, ExhaustedError, PoolRefusedError } from '../../../src/ipam/errors.js';
import { affinityKey, blockKey, handleKey, AFFINITIES_PREFIX, BLOCKS_PREFIX } from '../../../src/ipam/keys.js';
import { pool, setup } from './helpers.js';

function inside(cidr: string, ip: string): boolean {
  const p = parseIp(ip)!;
  return contains(mustParseCidr(cidr), p.family, p.value);
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('ipam: allocation from per-host blocks', () => {
  it('claims a block for a host, writes block, affinity and handle, and allocates inside it', async () => {
    const { kv, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const r = await ipam.assign({ node: 'n1', handle: 'h1' });
    expect(r.ips).to.have.length(1);
    const block = r.ips[0]!.block;
    expect(inside(block, r.ips[0]!.ip)).to.equal(true);
    expect(await kv.get(blockKey(block))).to.not.equal(null);
    expect(JSON.parse((await kv.get(affinityKey('n1', block)))!.value)).to.deep.equal({ node: 'n1', cidr: block, state: 'confirmed' });
    expect(JSON.parse((await kv.get(handleKey('h1')))!.value).blocks).to.deep.equal({ [block]: 1 });
    expect(await ipam.blocksOfHost('n1')).to.deep.equal([{ cidr: block, used: 1, free: 63, emptySince: null }]);
  });

  it('uses one transaction per allocation while the host allocates from its own block', async () => {
    const { kv, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    await ipam.assign({ node: 'n1', handle: 'first' });
    const before = kv.txns;
    for (let i = 0; i < 50; i++) await ipam.assign({ node: 'n1', handle: `h${i}` });
    expect(kv.txns - before).to.equal(50);
    for (let i = 0; i < 50; i++) await ipam.releaseByHandle(`h${i}`);
    expect(kv.txns - before).to.equal(100);
  });

  it('gives different hosts different blocks, and addresses are never handed out twice', async () => {
    const { make } = setup([pool('p', '10.0.0.0/22', 26)]);
    // Two "processes" per host, four hosts, all at once.
    const ipams = Array.from({ length: 8 }, () => make());
    const results = await Promise.all(
      ipams.map((ipam, i) => Promise.all(Array.from({ length: 40 }, (_, j) => ipam.assign({ node: `n${i % 4}`, handle: `h${i}-${j}` })))),
    );
    const ips = results.flat().flatMap((r) => r.ips.map((x) => x.ip));
    expect(ips).to.have.length(320);
    expect(new Set(ips).size).to.equal(320);
    const owners = new Map<string, Set<string>>();
    results.forEach((rs, i) => rs.forEach((r) => r.ips.forEach((x) => owners.set(x.block, (owners.get(x.block) ?? new Set()).add(`n${i % 4}`)))));
    // With plenty of free blocks nobody borrows: every block serves exactly one host.
    for (const hosts of owners.values()) expect(hosts.size).to.equal(1);
  });

  it('borrows from another host\'s block when its own are full and no block is free', async () => {
    const { ipam } = setup([pool('p', '10.0.0.0/25', 26)]);
    const a = await ipam.assign({ node: 'a', handle: 'ha', count: 64 });
    const b = await ipam.assign({ node: 'b', handle: 'hb', count: 60 });
    expect(a.ips[0]!.block).to.not.equal(b.ips[0]!.block);
    const borrowed = await ipam.assign({ node: 'a', handle: 'ha2' });
    expect(borrowed.ips[0]!.block).to.equal(b.ips[0]!.block);
    expect((await ipam.blocksOfHost('a')).map((x) => x.cidr)).to.deep.equal([a.ips[0]!.block]);
  });

  it('with strictAffinity, refuses to borrow and writes nothing', async () => {
    const { kv, ipam } = setup([pool('p', '10.0.0.0/25', 26)], { strictAffinity: true });
    await ipam.assign({ node: 'a', handle: 'ha', count: 64 });
    await ipam.assign({ node: 'b', handle: 'hb', count: 60 });
    const rev = await kv.revision();
    const err = await rejects(ipam.assign({ node: 'a', handle: 'ha2' }));
    expect(err).to.be.instanceOf(ExhaustedError);
    expect(err.message).to.match(/node "a".*strictAffinity forbids borrowing/);
    expect(await kv.revision()).to.equal(rev);
  });

  it('maxBlocksPerHost stops claims; the host borrows instead', async () => {
    const { ipam } = setup([pool('p', '10.0.0.0/24', 26)], { maxBlocksPerHost: 1 });
    const b = await ipam.assign({ node: 'b', handle: 'hb' });
    const a = await ipam.assign({ node: 'a', handle: 'ha', count: 70 });
    const blocks = new Set(a.ips.map((x) => x.block));
    expect(blocks.size).to.equal(2);
    expect(blocks.has(b.ips[0]!.block)).to.equal(true);
    expect(await ipam.blocksOfHost('a')).to.have.length(1);
  });

  it('an exhausted pool gives a clear error and leaves no address held (all or nothing)', async () => {
    const { kv, ipam } = setup([pool('p', '10.0.0.0/26', 26)]);
    const err = await rejects(ipam.assign({ node: 'a', handle: 'big', count: 65 }));
    expect(err).to.be.instanceOf(ExhaustedError);
    expect(err.message).to.match(/no free IPv4 address for node "a" in 10\.0\.0\.0\/26.*wanted 65, found 64; nothing assigned/);
    expect(await kv.get(handleKey('big'))).to.equal(null);
    expect((await ipam.blocksOfHost('a'))[0]!.used).to.equal(0);
    await ipam.assign({ node: 'a', handle: 'all', count: 64 });
    const rev = await kv.revision();
    expect(await rejects(ipam.assign({ node: 'b', handle: 'one' }))).to.be.instanceOf(ExhaustedError);
    expect(await kv.revision()).to.equal(rev);
  });

  it('refuses a disabled pool, a pool whose nodeSelector does not match, and writes nothing', async () => {
    const { kv, source, ipam } = setup([pool('off', '10.0.0.0/24', 26, { disabled: true }), pool('gpu', '10.1.0.0/24', 26, { nodeSelector: "type == 'gpu'" })]);
    source.nodeMap.set('n1', { type: 'cpu' });
    source.nodeMap.set('g1', { type: 'gpu' });
    const rev = await kv.revision();
    const e1 = await rejects(ipam.assign({ node: 'n1', handle: 'h', pool: 'off' }));
    expect(e1).to.be.instanceOf(PoolRefusedError);
    expect(e1.message).to.equal('IP pool "off" (10.0.0.0/24) is disabled; nothing assigned');
    const e2 = await rejects(ipam.assign({ node: 'n1', handle: 'h' }));
    expect(e2.message).to.match(/no IPv4 pool can serve node "n1": pool "off" is disabled; pool "gpu" has nodeSelector "type == 'gpu'", which node "n1" does not match/);
    const e3 = await rejects(ipam.assign({ node: 'n1', handle: 'h', family: 6 }));
    expect(e3.message).to.match(/there is no IPv6 pool/);
    expect(await kv.revision()).to.equal(rev);
    const ok = await ipam.assign({ node: 'g1', handle: 'h' });
    expect(inside('10.1.0.0/24', ok.ips[0]!.ip)).to.equal(true);
  });

  it('allocates IPv6 from /122 blocks', async () => {
    const { ipam } = setup([pool('v4', '10.0.0.0/24', 26), pool('v6', 'fd00:1::/120', 122)]);
    const r = await ipam.assign({ node: 'n1', handle: 'h', family: 6, count: 70 });
    expect(r.ips).to.have.length(70);
    for (const x of r.ips) expect(inside('fd00:1::/120', x.ip)).to.equal(true);
    expect(new Set(r.ips.map((x) => x.block)).size).to.equal(2);
    expect(r.ips[0]!.block).to.match(/^fd00:1::[0-9a-f]*\/122$/);
    const out = await ipam.releaseByHandle('h');
    expect(out).to.have.length(70);
  });

  it('assigns a named address, and refuses one that is held', async () => {
    const { ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const r = await ipam.assignIp({ ip: '10.0.0.77', node: 'n1', handle: 'gw' });
    expect(r).to.include({ ip: '10.0.0.77', block: '10.0.0.64/26' });
    const err = await rejects(ipam.assignIp({ ip: '10.0.0.77', node: 'n2', handle: 'other' }));
    expect(err).to.be.instanceOf(AddressInUseError);
    expect(err.message).to.equal('assign: 10.0.0.77 is held already by handle "gw"');
    expect((await rejects(ipam.assignIp({ ip: '192.168.0.1', node: 'n1', handle: 'x' }))).message).to.equal('assign: 192.168.0.1 is not inside any IP pool');
    // The host owns the block it was created in, and allocates next from it.
    const next = await ipam.assign({ node: 'n1', handle: 'h' });
    expect(next.ips[0]!.block).to.equal('10.0.0.64/26');
  });
});

describe('ipam: release', () => {
  it('releases by handle and by address, idempotently', async () => {
    const { kv, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const r = await ipam.assign({ node: 'n1', handle: 'h1', count: 3 });
    const [x, y] = r.ips;
    expect(await ipam.releaseIps([x!.ip])).to.deep.equal([{ ip: x!.ip, status: 'released', handle: 'h1', seq: x!.seq }]);
    expect(await ipam.releaseIps([x!.ip])).to.deep.equal([{ ip: x!.ip, status: 'not-allocated' }]);
    expect(JSON.parse((await kv.get(handleKey('h1')))!.value).blocks).to.deep.equal({ [x!.block]: 2 });
    expect((await ipam.releaseByHandle('h1')).sort()).to.deep.equal([y!.ip, r.ips[2]!.ip].sort());
    expect(await ipam.releaseByHandle('h1')).to.deep.equal([]);
    expect(await kv.get(handleKey('h1'))).to.equal(null);
    expect(await ipam.releaseIps(['10.9.9.9'])).to.deep.equal([{ ip: '10.9.9.9', status: 'not-allocated' }]);
  });

  it('refuses to release an address that was re-allocated since the caller saw it (ABA)', async () => {
    const { ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const first = await ipam.assignIp({ ip: '10.0.0.5', node: 'n1', handle: 'old' });
    await ipam.releaseIps([{ ip: '10.0.0.5', seq: first.seq }]);
    const again = await ipam.assignIp({ ip: '10.0.0.5', node: 'n1', handle: 'new' });
    expect(again.seq).to.not.equal(first.seq);
    const out = await ipam.releaseIps([{ ip: '10.0.0.5', seq: first.seq }]);
    expect(out).to.deep.equal([{ ip: '10.0.0.5', status: 'sequence-mismatch', handle: 'new', seq: again.seq }]);
    expect(await ipam.releaseIps([{ ip: '10.0.0.5', handle: 'old' }])).to.deep.equal([{ ip: '10.0.0.5', status: 'handle-mismatch', handle: 'new', seq: again.seq }]);
    expect((await ipam.releaseIps([{ ip: '10.0.0.5', seq: again.seq }]))[0]!.status).to.equal('released');
  });

  it('does not hand a freed address out again at once', async () => {
    const { ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const a = await ipam.assign({ node: 'n1', handle: 'a' });
    await ipam.releaseByHandle('a');
    const b = await ipam.assign({ node: 'n1', handle: 'b' });
    expect(b.ips[0]!.ip).to.not.equal(a.ips[0]!.ip);
  });

  it('keeps an empty block through the grace period, then releases it with its affinity', async () => {
    const { kv, clock, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const r = await ipam.assign({ node: 'n1', handle: 'h' });
    const block = r.ips[0]!.block;
    await ipam.releaseByHandle('h');
    expect(await ipam.releaseEmptyBlocks('n1')).to.deep.equal([]);
    clock.advance(59_999);
    expect(await ipam.releaseEmptyBlocks()).to.deep.equal([]);
    // Used again within the grace period: the clock starts over once it is empty again.
    await ipam.assign({ node: 'n1', handle: 'h2' });
    await ipam.releaseByHandle('h2');
    clock.advance(30_000);
    expect(await ipam.releaseEmptyBlocks('n1')).to.deep.equal([]);
    clock.advance(30_000);
    expect(await ipam.releaseEmptyBlocks('n1')).to.deep.equal([block]);
    expect(await kv.get(blockKey(block))).to.equal(null);
    expect(await kv.get(affinityKey('n1', block))).to.equal(null);
    expect(await ipam.blocksOfHost('n1')).to.deep.equal([]);
  });

  it('releaseNode drops affinities and addresses of gone workloads, keeps live ones', async () => {
    const { kv, source, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    const keep = await ipam.assign({ node: 'gone', handle: 'live' });
    await ipam.assign({ node: 'gone', handle: 'dead', count: 2 });
    const empty = await ipam.assignIp({ ip: '10.0.0.200', node: 'gone', handle: 'x' });
    await ipam.releaseByHandle('x');
    source.endpoints = [{ name: 'w', node: 'gone', ips: [`${keep.ips[0]!.ip}/32`] }];
    const s = await ipam.releaseNode('gone');
    expect(s.addressesKept).to.deep.equal([keep.ips[0]!.ip]);
    expect(s.addressesReleased).to.have.length(2);
    expect(s.blocksDeleted).to.deep.equal([empty.block]);
    expect(s.affinitiesReleased.sort()).to.deep.equal([keep.ips[0]!.block, empty.block].sort());
    expect((await kv.list(AFFINITIES_PREFIX)).items).to.have.length(0);
    const blocks = (await kv.list(BLOCKS_PREFIX)).items.map((x) => JSON.parse(x.value));
    expect(blocks).to.have.length(1);
    expect(blocks[0].affinity).to.equal(null);
    expect(await kv.get(handleKey('dead'))).to.equal(null);
    expect(await kv.get(handleKey('live'))).to.not.equal(null);
  });
});
