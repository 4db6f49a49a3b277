/**
 * etcd on a unix socket (startEtcd({unixSocket: true}), datastore URL etcd+unix:///...): the
 * datastore that node daemons inside host namespaces reach, where the root namespace's
 * loopback is out of reach.
 */
import { expect } from 'chai';
import { openKV } from '../../../src/datastore/open.js';
import { tortie, TORTIE_BIN } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { execInNetns } from '../../../src/kernel/index.js';

describe('etcd over a unix socket (etcd+unix://)', function () {
  this.timeout(30_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;

  before(async () => {
    etcd = await startEtcd({ unixSocket: true });
  });
  after(async () => {
    await etcd?.stop();
  });

  it('opens with etcd+unix:// and sees what was written over TCP', async () => {
    expect(etcd.unixUrl).to.match(/^etcd\+unix:\/\/\/.*\/etcd\.sock:1$/);
    const overTcp = await openKV(etcd.url);
    const overUnix = await openKV(etcd.unixUrl!);
    try {
      await overTcp.put('/t/unix', 'hello');
      expect((await overUnix.get('/t/unix'))?.value).to.equal('hello');
    } finally {
      await overTcp.close();
      await overUnix.close();
    }
  });

  it('is reachable from inside another network namespace, where 127.0.0.1:PORT is not', async () => {
    const ns = await scope().netns('eu');
    const yaml = 'apiVersion: tortie.dev/v1\nkind: IPPool\nmetadata: {name: from-netns}\nspec: {cidr: 10.251.0.0/16}\n';
    // The built CLI, run inside the namespace: writes over the socket...
    await execInNetns(ns, process.execPath, [TORTIE_BIN, 'apply', '-f', '-', '--datastore', etcd.unixUrl!], { input: yaml, timeoutMs: 20_000 });
    // ...and the root namespace reads it back over TCP.
    const got = await tortie(['get', 'ippool', 'from-netns', '-o', 'json', '--datastore', etcd.url]);
    expect(got.exitCode, got.stderr).to.equal(0);
    expect(got.stdout).to.contain('10.251.0.0/16');
    // Loopback inside the namespace is its own: etcd's TCP listener is not there.
    const failed = await execInNetns(ns, process.execPath, [TORTIE_BIN, 'get', 'ippool', '--datastore', etcd.url], { timeoutMs: 20_000 }).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed?.message).to.match(/unreachable|ECONNREFUSED|UNAVAILABLE/);
  });
});
