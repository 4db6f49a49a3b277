import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { startEtcd, startEtcdCluster } from '../../helpers/etcd.js';

describe('test helper: throwaway etcd', function () {
  it('starts a healthy etcd, restarts it on the same data, and removes everything on stop', async function () {
    const etcd = await startEtcd();
    const pid = etcd.pid;
    expect(pid).to.be.a('number');
    expect(etcd.url).to.match(/^etcd:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(etcd.dataDir)).to.equal(true);
    await etcd.kill();
    expect(etcd.pid).to.equal(undefined);
    await etcd.restart();
    expect(etcd.pid).to.be.a('number').and.not.equal(pid);
    await etcd.stop();
    expect(etcd.pid).to.equal(undefined);
    expect(existsSync(etcd.dataDir)).to.equal(false);
  });

  it('starts a TLS etcd with a throwaway CA and client certificate', async function () {
    const etcd = await startEtcd({ tls: true });
    try {
      expect(etcd.url).to.match(/^etcds:\/\//);
      for (const file of [etcd.tls!.ca, etcd.tls!.cert, etcd.tls!.key]) expect(existsSync(file), file).to.equal(true);
    } finally {
      await etcd.stop();
    }
  });

  it('starts a three-member cluster', async function () {
    const cluster = await startEtcdCluster(3);
    try {
      expect(cluster.members).to.have.length(3);
      expect(new Set(cluster.members.map((m) => m.pid)).size).to.equal(3);
      expect(cluster.url).to.equal(`etcd://${cluster.endpoints.join(',')}`);
    } finally {
      await cluster.stop();
    }
    expect(cluster.members.every((m) => m.pid === undefined)).to.equal(true);
  });
});
