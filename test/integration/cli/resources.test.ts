/**
 * The resource verbs end to end: the built `tortie` binary against a real etcd.
 * Needs `npm run build` first (scripts/test.sh does it).
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { tortie, type CliResult } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/calico/${name}`, import.meta.url));

/** One line on stderr, exit 1, no stack trace. */
function failsWithOneLine(r: CliResult, pattern: RegExp): void {
  expect(r.exitCode, r.stderr).to.equal(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).not.to.match(/\n\s+at /);
}

describe('tortie resource verbs against etcd', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  const run = (args: string[], input?: string) => tortie(['--datastore', etcd.url, ...args], { input });

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  it('applies Calico-documented YAML (projectcalico.org/v3) and gets it back', async () => {
    const applied = await run(['apply', '-f', fixture('cluster.yaml')]);
    expect(applied.exitCode, applied.stderr).to.equal(0);
    expect(applied.stdout.trim()).to.equal('Successfully applied 3 resource(s)');

    const pools = await run(['get', 'ippool', '-o', 'json']);
    expect(pools.exitCode, pools.stderr).to.equal(0);
    const list = JSON.parse(pools.stdout) as { kind: string; items: { apiVersion: string; metadata: { name: string; uid: string; resourceVersion: string }; spec: Record<string, unknown> }[] };
    expect(list.kind).to.equal('IPPoolList');
    expect(list.items.map((i) => i.metadata.name)).to.deep.equal(['pool-a']);
    const pool = list.items[0];
    expect(pool.apiVersion).to.equal('tortie.dev/v1');
    expect(pool.spec).to.include({ cidr: '10.244.0.0/16', ipipMode: 'Always', natOutgoing: true, blockSize: 26, vxlanMode: 'Never' });
    expect(pool.metadata.uid).to.match(/^[0-9a-f-]{36}$/);
    expect(Number(pool.metadata.resourceVersion)).to.be.greaterThan(0);

    const peer = await run(['get', 'bgppeer', 'rack1-tor', '-o', 'yaml']);
    expect(peer.exitCode, peer.stderr).to.equal(0);
    expect(peer.stdout).to.match(/kind: BGPPeer/);
    expect(peer.stdout).to.match(/peerIP: 192\.0\.2\.1/);

    const table = await run(['get', 'gnp']);
    expect(table.stdout.split('\n')[0].trim()).to.equal('NAME');
    expect(table.stdout).to.match(/^allow-ping$/m);
    const wide = await run(['get', 'pools', '-o', 'wide']);
    expect(wide.stdout).to.match(/^NAME\s+CIDR\s+SELECTOR\s+BLOCKSIZE\s+NAT\s+IPIPMODE/);
    expect(wide.stdout).to.match(/^pool-a\s+10\.244\.0\.0\/16\s+all\(\)\s+26\s+true\s+Always/m);
  });

  it('round-trips get -o yaml into apply', async () => {
    const yaml = await run(['get', 'ippools', '-o', 'yaml']);
    const again = await run(['apply', '-f', '-'], yaml.stdout);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stdout.trim()).to.equal('Successfully applied 1 resource(s)');
  });

  it('refuses to create an existing name, naming file, document and resource', async () => {
    const r = await run(['create', '-f', fixture('cluster.yaml')]);
    failsWithOneLine(r, /^tortie: .*cluster\.yaml, document 1 \(IPPool "pool-a"\): IPPool "pool-a" already exists$/);
    const skipped = await run(['create', '-f', fixture('cluster.yaml'), '--skip-exists']);
    expect(skipped.exitCode, skipped.stderr).to.equal(0);
    expect(skipped.stdout.trim()).to.equal('Successfully created 0 resource(s) (3 existed already)');
  });

  it('writes none of a multi-document apply when one document is bad', async () => {
    const r = await run(['apply', '-f', fixture('one-bad.yaml')]);
    failsWithOneLine(r, /^tortie: .*one-bad\.yaml, document 2 \(IPPool "pool-b"\): spec\.cidr: "10\.0\.0\.0\/33" is not a CIDR$/);
    const pools = JSON.parse((await run(['get', 'ippool', '-o', 'json'])).stdout) as { items: { metadata: { name: string } }[] };
    expect(pools.items.map((i) => i.metadata.name)).to.deep.equal(['pool-a']);
    const peers = JSON.parse((await run(['get', 'bgppeer', '-o', 'json'])).stdout) as { items: { metadata: { name: string } }[] };
    expect(peers.items.map((i) => i.metadata.name)).to.not.include('peer-good');
    const missing = await run(['get', 'ippool', 'pool-good']);
    failsWithOneLine(missing, /^tortie: IPPool "pool-good" does not exist$/);
  });

  it('refuses malformed YAML and an unknown kind with one line', async () => {
    const bad = await run(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x\nspec: {}\n');
    failsWithOneLine(bad, /^tortie: stdin, line \d+, column \d+: malformed YAML in document 1: /);
    const unknown = await run(['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPoolz\nmetadata:\n  name: x\n');
    failsWithOneLine(unknown, /^tortie: stdin, document 1 \(IPPoolz "x"\): kind: unknown kind "IPPoolz"; valid kinds: Node, IPPool, .*Profile$/);
  });

  it('replaces with a resourceVersion as compare-and-swap, and deletes', async () => {
    const got = JSON.parse((await run(['get', 'bgppeer', 'rack1-tor', '-o', 'json'])).stdout) as Record<string, any>;
    got.spec.asNumber = 65001;
    const ok = await run(['replace', '-f', '-'], JSON.stringify(got));
    expect(ok.exitCode, ok.stderr).to.equal(0);
    // The same (now stale) resourceVersion again loses.
    const stale = await run(['replace', '-f', '-'], JSON.stringify(got));
    failsWithOneLine(stale, /^tortie: stdin, document 1 \(BGPPeer "rack1-tor"\): BGPPeer "rack1-tor" has changed since resourceVersion \d+/);
    const del = await run(['delete', 'bgppeer', 'rack1-tor']);
    expect(del.exitCode, del.stderr).to.equal(0);
    expect(del.stdout.trim()).to.equal('Successfully deleted 1 resource(s)');
    failsWithOneLine(await run(['delete', 'bgppeer', 'rack1-tor']), /^tortie: BGPPeer "rack1-tor" does not exist$/);
    const skipped = await run(['delete', 'bgppeer', 'rack1-tor', '--skip-not-exists']);
    expect(skipped.exitCode).to.equal(0);
  });

  it('keeps namespaced policies per namespace', async () => {
    const np = await run(['apply', '-f', fixture('networkpolicy.yaml')]);
    expect(np.exitCode, np.stderr).to.equal(0);
    expect((await run(['get', 'networkpolicy'])).stdout.trim()).to.equal('NAME');
    expect((await run(['get', 'netpol', '-n', 'production'])).stdout).to.match(/^allow-tcp-6379$/m);
    const all = await run(['get', 'policies', '-A']);
    expect(all.stdout).to.match(/^NAMESPACE\s+NAME\n^production\s+allow-tcp-6379$/m);
  });

  it('fails with one line when etcd cannot be reached', async () => {
    const r = await tortie(['--datastore', 'etcd://127.0.0.1:1', 'apply', '-f', fixture('cluster.yaml')]);
    failsWithOneLine(r, /^tortie: .*127\.0\.0\.1:1.*(unreachable|no answer)/);
  });
});
