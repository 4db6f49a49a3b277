/** `tortie ipam ...` as a user runs it, against a throwaway etcd (needs `npm run build`). */
import { expect } from 'chai';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { IPAM_PREFIX } from '../../../src/ipam/keys.js';
import { tortie } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';

describe('tortie ipam (integration)', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let kv: KV;
  const run = (...args: string[]) => tortie(['ipam', ...args, '--datastore', etcd.url]);

  before(async () => {
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    await new ResourceStore(kv).applyAll(
      [
        { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'on' }, spec: { cidr: '10.80.0.0/24' } },
        { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'off' }, spec: { cidr: '10.81.0.0/24', disabled: true } },
        { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'h1' }, spec: {} },
      ],
      'apply',
    );
  });
  after(async () => {
    await kv?.close();
    await etcd?.stop();
  });

  it('assigns, shows who holds an address, and releases by address and handle', async () => {
    const a = await run('assign', '--node', 'h1', '--handle', 'script-1', '--count', '2', '-o', 'json');
    expect(a.exitCode, a.stderr).to.equal(0);
    const ips = (JSON.parse(a.stdout) as { ips: { ip: string; seq: number }[] }).ips;
    expect(ips).to.have.length(2);
    const show = await run('show', '--ip', ips[0]!.ip);
    expect(show.stdout).to.match(new RegExp(`^${ips[0]!.ip.replace(/\./g, '\\.')} is held by handle "script-1" \\(purpose=script, node=h1\\); sequence ${ips[0]!.seq}; block 10\\.80\\.0\\.\\d+/26 of h1, pool "on"$`));
    const table = await run('show', '--show-blocks');
    expect(table.stdout).to.match(/^on\s+10\.80\.0\.0\/24\s+256\s+2\s+254\s+0\.8\s+1$/m);
    expect((await run('release', '--ip', ips[0]!.ip, '--seq', String(ips[0]!.seq + 100))).stderr).to.equal(`tortie: release: ${ips[0]!.ip} was re-allocated since (now handle "script-1", sequence ${ips[0]!.seq}); not released`);
    expect((await run('release', '--ip', ips[0]!.ip)).stdout).to.equal(`released ${ips[0]!.ip} (handle "script-1")`);
    expect((await run('release', '--handle', 'script-1')).stdout).to.equal(`released ${ips[1]!.ip} (handle "script-1")`);
    expect((await run('release', '--handle', 'script-1')).stdout).to.equal('handle "script-1" holds no address; nothing to release');
    expect((await run('check')).stdout.trimEnd().split('\n').at(-1)).to.equal('Found 0 problems.');
  });

  it('bad input: one line naming what is wrong, exit 1 (2 for usage), and no address held afterwards', async () => {
    const cases: [string[], number, string][] = [
      [['assign', '--node', 'h1', '--handle', 'x', '--pool', 'off'], 1, 'tortie: IP pool "off" (10.81.0.0/24) is disabled; nothing assigned'],
      [['assign', '--node', 'h1', '--handle', 'x', '--ip', '10.81.0.5'], 1, 'tortie: assign: 10.81.0.5 is in IP pool "off" (10.81.0.0/24), which is disabled; nothing assigned'],
      [['assign', '--node', 'h1', '--handle', 'x', '--ip', '10.99.0.1'], 1, 'tortie: assign: 10.99.0.1 is not inside any IP pool'],
      [['assign', '--node', 'h1', '--handle', 'x', '--count', '300'], 1, 'tortie: no free IPv4 address for node "h1" in 10.80.0.0/24: its blocks are full and no free block is left, and no other block has a free address (wanted 300, found 256; nothing assigned)'],
      [['assign', '--node', 'h1', '--handle', 'x', '--ip', 'nope'], 2, 'tortie: --ip: "nope" is not an IP address'],
      [['assign', '--node', 'h1', '--handle', 'x', '--count', '0'], 2, 'tortie: --count: "0" is not a whole number above 0'],
      [['release'], 2, 'tortie: release: give exactly one of --handle, --ip, --from-report, --node'],
      [['release', '--node', 'h1'], 1, 'tortie: release --node: node "h1" still exists; delete it first (its blocks are in use)'],
      [['release', '--from-report', '/nonexistent/r.json'], 1, 'tortie: --from-report /nonexistent/r.json: cannot read it (ENOENT)'],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await run(...args);
      expect({ args, code: r.exitCode, stderr: r.stderr }).to.deep.equal({ args, code, stderr });
    }
    // The exhausted assignment claimed blocks on its way and gave every address back.
    const check = await run('check');
    expect(check.stdout.trimEnd().split('\n').at(-1)).to.equal('Found 0 problems.');
    const handles = (await kv.list(`${IPAM_PREFIX}handles/`)).items;
    expect(handles).to.deep.equal([]);
  });
});
