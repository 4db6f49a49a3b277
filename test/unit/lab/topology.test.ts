/**
 * Every topology file under labs/containerlab validates against containerlab's JSON schema
 * (the shared copy, and the one tortie ships), reads into the lab model with the roles and
 * links intended, and its workload file names only tortie hosts.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { schemaErrors, schemaPath } from '../../../src/lab/schema.js';
import { mapBinds, readTopologyFile, topologyFromDocument } from '../../../src/lab/topology.js';
import { readWorkloads } from '../../../src/lab/workloads.js';
import { hostDaemonCommand, shellWords } from '../../../src/lab/lab.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LABS = join(ROOT, 'labs', 'containerlab');
const SHARED_SCHEMA = join(ROOT, '..', 'shared', 'containerlab', 'clab.schema.json');
const FIXTURES = join(ROOT, 'test', 'integration', 'lab', 'fixtures');

function topologyFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return topologyFiles(p);
    return f.endsWith('.clab.yml') || f.endsWith('.clab.yaml') ? [p] : [];
  });
}

describe('lab topology files', () => {
  const files = [...topologyFiles(LABS), ...topologyFiles(FIXTURES)];
  const schemas = [schemaPath(), ...(existsSync(SHARED_SCHEMA) ? [SHARED_SCHEMA] : [])];

  it('finds the three labs the issue asks for', () => {
    const names = files.map((f) => readTopologyFile(f).topology.name);
    expect(names).to.include.members(['fabric3', 'tor-frr', 'rr']);
  });

  it('ships the same schema as ../shared', function () {
    if (!existsSync(SHARED_SCHEMA)) this.skip();
    expect(readFileSync(schemaPath(), 'utf8')).to.equal(readFileSync(SHARED_SCHEMA, 'utf8'));
  });

  for (const file of topologyFiles(LABS).concat(topologyFiles(FIXTURES))) {
    const rel = file.slice(ROOT.length);
    it(`${rel} is valid against containerlab's schema`, () => {
      const doc = parseYaml(readFileSync(file, 'utf8'));
      for (const s of schemas) expect(schemaErrors(doc, s), s).to.deep.equal([]);
    });
    it(`${rel} reads into a lab: binds exist, links join known nodes, workloads sit on tortie hosts`, () => {
      const { topology } = readTopologyFile(file);
      for (const n of topology.nodes) for (const b of n.binds) expect(existsSync(b.source), `${n.name}: ${b.source}`).to.equal(true);
      for (const n of topology.nodes.filter((x) => x.role === 'host')) {
        const cmd = hostDaemonCommand(n, '/s', 'etcd+unix:///x/etcd.sock:1');
        expect(cmd.words.slice(0, 3)).to.deep.equal(['tortie', 'node', 'run']);
        expect(cmd.tortieName).to.equal(n.name);
      }
      expect(() => readWorkloads(topology)).not.to.throw();
    });
  }

  it('the schema catches a bad file (so the checks above can fail)', () => {
    const bad = { name: 'x', topology: { nodes: { a: { kind: 'no-such-kind' } }, links: [{ endpoints: ['a:eth1', 'b:eth1'], colour: 'red' }] } };
    const errors = schemaErrors(bad);
    expect(errors.join('\n')).to.match(/kind/);
    expect(errors.join('\n')).to.match(/colour/);
  });

  it('fabric3: three tortie hosts on one bridge, etcd replaced, two workloads each', () => {
    const { topology } = readTopologyFile(join(LABS, 'fabric3', 'fabric3.clab.yml'));
    expect(topology.nodes.filter((n) => n.role === 'host').map((n) => n.name)).to.deep.equal(['host1', 'host2', 'host3']);
    expect(topology.nodes.find((n) => n.name === 'etcd')!.role).to.equal('etcd');
    expect(topology.nodes.find((n) => n.kind === 'bridge')!.role).to.equal('bridge');
    expect(topology.links).to.have.length(3);
    const perHost = new Map<string, number>();
    for (const w of readWorkloads(topology)) perHost.set(w.node, (perHost.get(w.node) ?? 0) + 1);
    expect([...perHost.values()]).to.deep.equal([2, 2, 2]);
  });

  it('tor-frr: two FRR ToRs with bound frr.conf, four hosts, ToR-to-ToR link', () => {
    const { topology } = readTopologyFile(join(LABS, 'tor-frr', 'tor-frr.clab.yml'));
    const tors = topology.nodes.filter((n) => n.role === 'frr');
    expect(tors.map((n) => n.name)).to.deep.equal(['tor1', 'tor2']);
    for (const t of tors) expect(t.binds.map((b) => b.target)).to.include('/etc/frr/frr.conf');
    expect(topology.links.some((l) => l.a.node === 'tor1' && l.b.node === 'tor2')).to.equal(true);
  });
});

describe('lab topology model', () => {
  it('merges kinds defaults into nodes, and node values win', () => {
    const t = topologyFromDocument({ name: 'm', topology: { kinds: { linux: { image: 'tortie/node:dev', env: { A: '1', B: '2' } } }, nodes: { h: { kind: 'linux', env: { B: '3' }, cmd: 'tortie node run --name h' }, f: { kind: 'linux', image: 'quay.io/frrouting/frr:8.4.4' } } } }, '/x/m.clab.yml');
    const h = t.nodes.find((n) => n.name === 'h')!;
    expect(h.role).to.equal('host');
    expect(h.env).to.deep.equal({ A: '1', B: '3' });
    expect(t.nodes.find((n) => n.name === 'f')!.role).to.equal('frr');
  });

  it('rejects kinds that need Docker, links to unknown nodes and endpoints used twice', () => {
    expect(() => topologyFromDocument({ name: 'm', topology: { nodes: { a: { kind: 'nokia_srlinux' } } } }, 'f')).to.throw(/kind "nokia_srlinux"/);
    expect(() => topologyFromDocument({ name: 'm', topology: { nodes: { a: { kind: 'linux' } }, links: [{ endpoints: ['a:eth1', 'b:eth1'] }] } }, 'f')).to.throw(/no node b/);
    expect(() => topologyFromDocument({ name: 'm', topology: { nodes: { a: { kind: 'linux' }, b: { kind: 'linux' } }, links: [{ endpoints: ['a:eth1', 'b:eth1'] }, { endpoints: ['a:eth1', 'b:eth2'] }] } }, 'f')).to.throw(/used by two links/);
    expect(() => topologyFromDocument({ name: 'm', topology: { nodes: { a: { kind: 'linux' }, b: { kind: 'linux' } }, links: [{ endpoints: ['a:eth-much-too-long-name', 'b:eth1'] }] } }, 'f')).to.throw(/15/);
  });

  it('maps container paths of binds to the bound files, whole paths only', () => {
    const binds = [{ source: '/labs/x/resources.yaml', target: '/etc/tortie/resources.yaml', readOnly: true }, { source: '/labs/x/conf', target: '/etc/tortie', readOnly: true }];
    expect(mapBinds('tortie apply -f /etc/tortie/resources.yaml', binds)).to.equal('tortie apply -f /labs/x/resources.yaml');
    expect(mapBinds('cat /etc/tortie/other.yaml', binds)).to.equal('cat /labs/x/conf/other.yaml');
    expect(mapBinds('cat /etc/tortie-not', binds)).to.equal('cat /etc/tortie-not');
    expect(mapBinds('x --file=/etc/tortie/resources.yaml', binds)).to.equal('x --file=/labs/x/resources.yaml');
  });

  it('fits a host daemon command to the lab: its socket, the lab datastore', () => {
    const node = { name: 'h1', kind: 'linux', role: 'host' as const, binds: [], exec: [], env: {}, labels: {}, sysctls: {}, cmd: 'tortie node run --name n1 --datastore etcd://1.2.3.4:2379 --ip 10.0.0.1/24' };
    const r = hostDaemonCommand(node, '/run/s.sock', 'etcd+unix:///d/etcd.sock:1');
    expect(r.words).to.deep.equal(['tortie', 'node', 'run', '--name', 'n1', '--ip', '10.0.0.1/24', '--datastore', 'etcd+unix:///d/etcd.sock:1', '--socket', '/run/s.sock']);
    expect(r.tortieName).to.equal('n1');
    expect(r.ip).to.equal('10.0.0.1/24');
    expect(() => hostDaemonCommand({ ...node, cmd: 'sleep 1' }, '/s', 'x')).to.throw(/tortie node run/);
    expect(shellWords(`a "b c" 'd e' f\\ g`)).to.deep.equal(['a', 'b c', 'd e', 'f g']);
  });
});
