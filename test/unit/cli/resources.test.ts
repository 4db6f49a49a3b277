/**
 * The resource verbs' input handling, through the built binary with the memory: datastore
 * (each run is its own store, so these cover what one command does on its own).
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { tortie, type CliResult } from '../../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/calico/${name}`, import.meta.url));
const mem = (args: string[], input?: string) => tortie(['--datastore', 'memory:', ...args], { input });

function fails(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.exitCode, r.stderr).to.equal(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).not.to.match(/\n\s+at /);
}

describe('tortie resource verbs: input and usage', () => {
  it('applies every Calico documentation example file', async () => {
    for (const file of ['ippool.yaml', 'ippool-v6.yaml', 'bgppeer.yaml', 'bgpconfiguration.yaml', 'node.yaml', 'ipamconfig.yaml', 'globalnetworkpolicy.yaml', 'networkpolicy.yaml', 'hostendpoint.yaml', 'workloadendpoint.yaml', 'profile.yaml']) {
      const r = await mem(['apply', '-f', fixture(file)]);
      expect(r.exitCode, `${file}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/^Successfully applied \d+ resource\(s\)$/);
    }
  });

  it('names file, document, resource and field for an invalid document', async () => {
    const r = await mem(['apply', '-f', fixture('one-bad.yaml')]);
    fails(r, 1, /^tortie: .*one-bad\.yaml, document 2 \(IPPool "pool-b"\): spec\.cidr: "10\.0\.0\.0\/33" is not a CIDR$/);
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
  });

  it('names a typo in a field with its path', async () => {
    const doc = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.0.0.0/16\n  natOutgoin: true\n';
    fails(await mem(['create', '-f', '-'], doc), 1, /^tortie: stdin, document 1 \(IPPool "p"\): spec\.natOutgoin: unknown field \(did you mean natOutgoing\?\)$/);
  });

  it('refuses an unreadable file, an empty file and an unknown kind argument', async () => {
    fails(await mem(['apply', '-f', '/nonexistent/pools.yaml']), 1, /^tortie: \/nonexistent\/pools\.yaml: cannot read it: no such file$/);
    fails(await mem(['apply', '-f', '-'], '# nothing\n'), 1, /^tortie: stdin: no resources in it$/);
    fails(await mem(['get', 'ipool']), 1, /^tortie: unknown kind "ipool"; valid kinds: Node, IPPool, /);
  });

  it('exits 2 for usage errors', async () => {
    fails(await mem(['apply']), 2, /required option '-f, --filename <file>'/);
    fails(await mem(['get', 'ippool', '-n', 'x']), 2, /IPPool is cluster-wide/);
    fails(await mem(['get', 'ippool', '-o', 'xml']), 2, /argument 'xml' is invalid/);
    fails(await mem(['delete']), 2, /give -f FILE, or KIND and NAME/);
    fails(await mem(['get', 'ippool', '--datastore-timeout', '0']), 2, /--datastore-timeout: "0" is not a positive number/);
  });

  it('gets an empty table, and refuses a name that does not exist', async () => {
    const r = await mem(['get', 'bgppeers']);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.match(/^NAME\s+PEERIP\s+NODE\s+ASN$/);
    fails(await mem(['get', 'bgppeer', 'nope']), 1, /^tortie: BGPPeer "nope" does not exist$/);
  });

  it('reads TORTIE_DATASTORE', async () => {
    const r = await tortie(['get', 'ippool'], { env: { TORTIE_DATASTORE: 'memory:' } });
    expect(r.exitCode, r.stderr).to.equal(0);
    const bad = await tortie(['get', 'ippool'], { env: { TORTIE_DATASTORE: 'redis://x' } });
    fails(bad, 1, /datastore URL "redis:\/\/x": unknown scheme/);
  });

  for (const verb of ['apply', 'create', 'replace', 'delete', 'get']) {
    it(`${verb} --help shows an example`, async () => {
      const r = await tortie([verb, '--help']);
      expect(r.exitCode).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`Examples:\\n\\s+tortie .*${verb}`));
    });
  }
});
