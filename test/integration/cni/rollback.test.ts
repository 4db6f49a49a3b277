/**
 * ADD undoes every step when any step fails (a failure injected after each step through
 * the test hook, and real failures: a host interface of the same name already there), and
 * GC deletes what the runtime no longer knows. The library runs in this process against
 * MemoryKV; the kernel parts are real, in test namespaces.
 */
import { expect } from 'chai';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../../src/ipam/resource-source.js';
import { handleKey } from '../../../src/ipam/keys.js';
import { ADD_STEPS, cniAdd, CniError, cniGc, endpointName, handleId, hostVethName, parseInvocation, type CniDeps } from '../../../src/cni/index.js';
import { execInNetns, listLinks, netnsPath } from '../../../src/kernel/index.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { addPool } from './harness.js';

const NODE = 'node-r';
const NET = 'rnet';

describe('CNI ADD rollback and GC (library, real namespaces)', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let kv: MemoryKV;
  let store: ResourceStore;
  let ipam: Ipam;
  let host: string;
  let n = 0;

  before(async () => {
    kv = new MemoryKV();
    store = new ResourceStore(kv);
    ipam = new Ipam(kv, new ResourceConfigSource(store));
    await addPool(kv, 'pool-r', '10.234.0.0/24');
    host = await scope().netns('host');
  });

  const deps = (extra: Partial<CniDeps> = {}): CniDeps => ({ ipam, store, nodeName: NODE, hostNetns: host, ...extra });
  const request = (command: string, id: string, netns: string, config: Record<string, unknown> = {}) =>
    parseInvocation(
      { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netnsPath(netns), CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'tortie', ...config }),
    );

  async function assertNothingLeft(id: string, netns: string): Promise<void> {
    expect((await listLinks(host)).map((l) => l.name).filter((x) => x.startsWith('tortie')), 'host veths').to.deep.equal([]);
    expect((await listLinks(netns)).map((l) => l.name), 'container links').to.deep.equal(['lo']);
    expect(await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', id, 'eth0'), { namespace: 'default' }), 'endpoint').to.equal(null);
    expect(await kv.get(handleKey(handleId(NET, id))), 'IPAM handle').to.equal(null);
    const used = (await ipam.blocksOfHost(NODE)).reduce((s, b) => s + b.used, 0);
    expect(used, 'addresses in use').to.equal(0);
  }

  for (const step of ADD_STEPS) {
    it(`a failure after the "${step}" step undoes everything`, async () => {
      const netns = await scope().netns(`c${++n}`);
      const id = `rb-${step}`;
      const failing = deps({
        hooks: {
          afterAddStep: (s) => {
            if (s === step) throw new Error(`injected failure after ${s}`);
          },
        },
      });
      let caught: unknown;
      try {
        await cniAdd(request('ADD', id, netns), failing);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(CniError);
      expect((caught as CniError).message).to.include(`injected failure after ${step}`);
      await assertNothingLeft(id, netns);
      // And the same container can be added cleanly afterwards.
      const ok = await cniAdd(request('ADD', id, netns), deps());
      expect(ok.ips).to.have.length(1);
      await execInNetns(host, 'ip', ['link', 'del', hostVethName(id)]);
      await store.delete({ kind: 'WorkloadEndpoint', name: endpointName(NODE, 'cni', id, 'eth0'), namespace: 'default' });
      await ipam.releaseByHandle(handleId(NET, id));
    });
  }

  it('a host interface of the same name is reported and left alone; the address goes back', async () => {
    const netns = await scope().netns(`c${++n}`);
    const id = 'rb-clash';
    const hv = hostVethName(id);
    await execInNetns(host, 'ip', ['link', 'add', hv, 'type', 'veth', 'peer', 'name', 'someone']);
    let caught: unknown;
    try {
      await cniAdd(request('ADD', id, netns), deps());
    } catch (err) {
      caught = err;
    }
    expect((caught as CniError).code).to.equal(103);
    expect((caught as CniError).message).to.include(`host interface ${hv}`);
    expect((await listLinks(host)).map((l) => l.name)).to.include.members([hv, 'someone']);
    expect(await kv.get(handleKey(handleId(NET, id)))).to.equal(null);
    await execInNetns(host, 'ip', ['link', 'del', hv]);
  });

  it('ADD with an exhausted pool fails with code 101 and leaves nothing', async () => {
    const netns = await scope().netns(`c${++n}`);
    let caught: unknown;
    try {
      await cniAdd(request('ADD', 'rb-nopool', netns, { ipam: { ipv4_pools: ['no-such-pool'] } }), deps());
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(CniError);
    expect([101, 104]).to.include((caught as CniError).code);
    await assertNothingLeft('rb-nopool', netns);
  });

  it('GC deletes attachments the runtime no longer lists, and keeps the others', async () => {
    const keep = await scope().netns(`c${++n}`);
    const drop = await scope().netns(`c${++n}`);
    await cniAdd(request('ADD', 'gc-keep', keep), deps());
    await cniAdd(request('ADD', 'gc-drop', drop), deps());
    const gc = parseInvocation(
      { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify({ cniVersion: '1.1.0', name: NET, type: 'tortie', 'cni.dev/valid-attachments': [{ containerID: 'gc-keep', ifname: 'eth0' }] }),
    );
    const out = await cniGc(gc, deps());
    expect(out.deleted).to.deep.equal([`default/${endpointName(NODE, 'cni', 'gc-drop', 'eth0')}`]);
    expect((await listLinks(drop)).map((l) => l.name)).to.deep.equal(['lo']);
    expect(await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', 'gc-drop', 'eth0'), { namespace: 'default' })).to.equal(null);
    expect(await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', 'gc-keep', 'eth0'), { namespace: 'default' })).to.not.equal(null);
    expect((await listLinks(host)).map((l) => l.name)).to.deep.equal(['lo', hostVethName('gc-keep')]);
    expect(await kv.get(handleKey(handleId(NET, 'gc-drop')))).to.equal(null);
    expect(await kv.get(handleKey(handleId(NET, 'gc-keep')))).to.not.equal(null);
  });
});
