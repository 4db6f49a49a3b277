import { EtcdKV } from '../../../src/datastore/etcd.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { kvContract } from './kv-contract.js';

describe('EtcdKV on a real etcd', function () {
  let etcd: EtcdServer;

  before(async function () {
    etcd = await startEtcd();
  });

  after(async function () {
    await etcd?.stop();
  });

  kvContract('EtcdKV', async () => new EtcdKV({ endpoints: etcd.endpoints }), { leaseTtlSeconds: 1, leaseSlackMs: 3000 });
});
