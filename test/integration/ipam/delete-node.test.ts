/** `tortie delete node X` gives the node's blocks and addresses back, as calicoctl's does. */
import { expect } from 'chai';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { tortie } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';

describe('tortie delete node: IPAM cleanup (integration)', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let kv: KV;
  const run = (...args: string[]) => tortie([...args, '--datastore', etcd.url]);

  before(async () => {
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    await new ResourceStore(kv).applyAll(
      [
        { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.82.0.0/24' } },
        { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'gone' }, spec: {} },
        { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'stays' }, spec: {} },
      ],
      'apply',
    );
  });
  after(async () => {
    await kv?.close();
    await etcd?.stop();
  });

  it('releases the deleted node\'s affinities and addresses, and nothing of the other node', async () => {
    expect((await run('ipam', 'assign', '--node', 'gone', '--handle', 'a', '--count', '3')).exitCode).to.equal(0);
    expect((await run('ipam', 'assign', '--node', 'stays', '--handle', 'b', '--count', '2')).exitCode).to.equal(0);

    const del = await run('delete', 'node', 'gone');
    expect(del.exitCode, del.stderr).to.equal(0);
    expect(del.stdout).to.include('Released 1 block affinities and 3 addresses of node "gone"');

    const blocks = await run('ipam', 'show', '--show-blocks');
    expect(blocks.stdout).to.not.match(/\bgone\b/);
    expect(blocks.stdout).to.match(/\bstays\b/);
    expect((await run('ipam', 'release', '--handle', 'a')).stdout).to.equal('handle "a" holds no address; nothing to release');
    expect((await run('ipam', 'check')).stdout.trimEnd().split('\n').at(-1)).to.equal('Found 0 problems.');
  });
});
