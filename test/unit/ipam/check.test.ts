import { expect } from 'chai';
import { checkIpam, fixFromReport } from '../../../src/ipam/check.js';
import { showAddress, showIpam } from '../../../src/ipam/show.js';
import { affinityKey, handleKey } from '../../../src/ipam/keys.js';
import { pool, setup } from './helpers.js';

describe('ipam: check and release from a report', () => {
  it('reports nothing for a consistent store', async () => {
    const { kv, source, ipam } = setup([pool('p', '10.0.0.0/24', 26)]);
    source.nodeMap.set('n1', {});
    const r = await ipam.assign({ node: 'n1', handle: 'h', attrs: { workload: 'w' } });
    source.endpoints = [{ name: 'w', namespace: 'default', node: 'n1', ips: [`${r.ips[0]!.ip}/32`] }];
    await ipam.assign({ node: 'n1', handle: 'script', attrs: { purpose: 'script' } });
    const report = await checkIpam(kv, source);
    expect(report.problems).to.deep.equal([]);
    expect(report.summary).to.deep.equal({ blocks: 1, allocations: 2, handles: 2, endpoints: 1 });
  });

  it('finds every kind of problem, and release --from-report fixes what it can', async () => {
    const { kv, source, ipam } = setup([pool('p', '10.0.0.0/24', 26), pool('old', '10.9.0.0/24', 26)]);
    source.anyNodeExists = false;
    source.nodeMap.set('n1', {});
    source.nodeMap.set('gone', {});
    const leak = await ipam.assign({ node: 'n1', handle: 'leak' });
    const kept = await ipam.assign({ node: 'n1', handle: 'kept' });
    const orphan = await ipam.assign({ node: 'n1', handle: 'orphan' });
    const outside = await ipam.assign({ node: 'n1', handle: 'outside', pool: 'old' });
    await ipam.assign({ node: 'gone', handle: 'gone-script', attrs: { purpose: 'script' } });
    source.endpoints = [
      { name: 'w1', namespace: 'ns', node: 'n1', ips: [kept.ips[0]!.ip] },
      { name: 'w2', namespace: 'ns', node: 'n1', ips: ['10.0.0.250'] },
    ];
    source.poolList = source.poolList.filter((p) => p.name !== 'old');
    ipam.invalidateConfig();
    source.nodeMap.delete('gone');
    await kv.delete(handleKey('orphan'));
    await kv.put(handleKey('empty'), JSON.stringify({ handle: 'empty', attrs: {}, blocks: {} }));
    await kv.put(affinityKey('n1', '10.0.0.128/26'), JSON.stringify({ node: 'n1', cidr: '10.0.0.128/26', state: 'pending' }));

    const report = await checkIpam(kv, source);
    const kinds = report.problems.map((p) => p.kind).sort();
    expect(kinds).to.deep.equal([
      'address-outside-pools',
      'address-without-handle',
      'block-of-deleted-node',
      'endpoint-without-allocation',
      'handle-without-addresses',
      'leaked-allocation', // leak
      'leaked-allocation', // orphan (also handle-less)
      'leaked-allocation', // gone-script: its node is gone
      'stale-affinity',
    ]);
    const byKind = (k: string) => report.problems.filter((p) => p.kind === k);
    expect(byKind('leaked-allocation').map((p) => p.ip).sort()).to.include(leak.ips[0]!.ip);
    expect(byKind('address-outside-pools')[0]!.ip).to.equal(outside.ips[0]!.ip);
    expect(byKind('address-without-handle')[0]!.message).to.equal(`${orphan.ips[0]!.ip} is held by handle "orphan", which has no handle record`);

    // Meanwhile the leaked address is released and given to someone else: the fix must not touch it.
    await ipam.releaseByHandle('leak');
    await ipam.assignIp({ ip: leak.ips[0]!.ip, node: 'n1', handle: 'newcomer', attrs: { purpose: 'script' } });

    const outcomes = await fixFromReport(ipam, report);
    if (process.env.DEBUG_IPAM) console.log(outcomes.map((o) => `${o.problem.kind} ${o.action} ${o.detail}`));
    const action = (k: string, ip?: string) => outcomes.filter((o) => o.problem.kind === k && (ip === undefined || o.problem.ip === ip)).map((o) => o.action);
    expect(action('leaked-allocation', leak.ips[0]!.ip)).to.deep.equal(['already-gone']);
    expect(action('endpoint-without-allocation')).to.deep.equal(['skipped']);
    expect(action('address-outside-pools')).to.deep.equal(['fixed']);
    expect(action('handle-without-addresses')).to.deep.equal(['fixed']);
    expect(action('stale-affinity')).to.deep.equal(['fixed']);
    expect((await showAddress(kv, source, leak.ips[0]!.ip)).handle).to.equal('newcomer');

    source.endpoints = [{ name: 'w1', namespace: 'ns', node: 'n1', ips: [kept.ips[0]!.ip] }];
    const after = await checkIpam(kv, source);
    expect(after.problems.map((p) => p.message)).to.deep.equal([]);
  });

  it('show counts per pool, blocks with their host, borrowed addresses and one address', async () => {
    const { kv, source, ipam } = setup([pool('p', '10.0.0.0/25', 26), pool('v6', 'fd00::/64', 122)]);
    await ipam.assign({ node: 'a', handle: 'ha', count: 64 });
    await ipam.assign({ node: 'b', handle: 'hb', count: 2 });
    const lent = await ipam.assign({ node: 'a', handle: 'ha2' });
    await ipam.assign({ node: 'a', handle: 'h6', family: 6 });
    const s = await showIpam(kv, source);
    expect(s.pools).to.deep.equal([
      { name: 'p', cidr: '10.0.0.0/25', disabled: false, total: '128', used: '67', free: '61', blocks: 2 },
      { name: 'v6', cidr: 'fd00::/64', disabled: false, total: String(2n ** 64n), used: '1', free: String(2n ** 64n - 1n), blocks: 1 },
    ]);
    expect(s.borrowed).to.deep.equal([{ ip: lent.ips[0]!.ip, block: lent.ips[0]!.block, blockHost: 'b', node: 'a', handle: 'ha2' }]);
    expect(s.blocks.find((b) => b.host === 'b')).to.include({ used: 3, free: 61, borrowed: 1 });
    const info = await showAddress(kv, source, lent.ips[0]!.ip);
    expect(info).to.deep.include({ pool: 'p', blockHost: 'b', allocated: true, handle: 'ha2' });
    expect(info.attrs).to.deep.equal({ purpose: 'workload', node: 'a' });
    expect(await showAddress(kv, source, '10.0.0.127')).to.deep.include({ allocated: false, block: lent.ips[0]!.block });
  });
});
