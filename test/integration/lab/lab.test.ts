/**
 * tortie lab, end to end, through the built CLI as a user runs it: labs come up from their
 * containerlab files, workloads reach exactly whom the policies let them reach, FRR ToRs
 * carry the /32s between racks, and `lab down` leaves no namespace, link, process, mount or
 * file behind, also after `lab up` itself was killed half-way (only the state file knows).
 *
 * Each run names its labs uniquely (--name), so it never meets another run's labs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { readState, statePath, type LabState } from '../../../src/lab/state.js';
import { processStartTime } from '../../../src/lab/state.js';
import { vtysh } from '../../../src/lab/frr.js';
import { waitFor } from '../../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'tortie.js');
const FABRIC3 = join(ROOT, 'labs/containerlab/fabric3/fabric3.clab.yml');
const TOR_FRR = join(ROOT, 'labs/containerlab/tor-frr/tor-frr.clab.yml');
const FRR_PAIR = join(ROOT, 'test/integration/lab/fixtures/frr-pair/frr-pair.clab.yml');
const RUN = `t${Math.random().toString(36).slice(2, 6)}`;

interface Cli {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function tortie(args: string[], env: Record<string, string> = {}): Promise<Cli> {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, timeout: 180_000, env: { TORTIE_LOG_LEVEL: 'warn', ...env } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await tortie(args, env);
  if (r.exitCode !== 0) throw new Error(`tortie ${args.join(' ')}: exit ${r.exitCode}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function rootLinks(): Set<string> {
  return new Set((JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map((l) => l.ifname));
}

/** Everything of lab `name` (per its recorded state) still on the machine; empty when clean. */
function leftovers(name: string, state: LabState, linksBefore: Set<string>, endpointNames: string[]): string[] {
  const out: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const ns of netns) if (ns.startsWith(`tl-${name}-`) || ns.startsWith(`tw-${name}-`) || state.namespaces.includes(ns)) out.push(`netns ${ns}`);
  for (const p of state.processes) if (processStartTime(p.pid) === p.startTime) out.push(`process ${p.pid} (${p.what})`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  for (const m of mounts) if (m.includes(`tl-${name}-`) || m.includes(`tw-${name}-`) || m.includes(state.dir) || (state.frrDir && m.includes(state.frrDir))) out.push(`mount ${m}`);
  if (existsSync(statePath(name))) out.push(`state file ${statePath(name)}`);
  if (existsSync(state.dir)) out.push(`folder ${state.dir}`);
  if (state.frrDir && existsSync(state.frrDir)) out.push(`folder ${state.frrDir}`);
  const now = rootLinks();
  for (const n of endpointNames) if (now.has(n) && !linksBefore.has(n)) out.push(`link ${n} in the root namespace`);
  return out;
}

function endpointNamesOf(state: LabState): string[] {
  const text = readFileSync(state.file, 'utf8');
  return [...text.matchAll(/"[\w.-]+:([\w.-]+)"/g)].map((m) => m[1]!);
}

async function downAndCheck(file: string, name: string, linksBefore: Set<string>): Promise<void> {
  const state = readState(name);
  expect(state, `state of lab ${name}`).to.not.equal(null);
  await ok(['lab', 'down', file, '--name', name]);
  expect(leftovers(name, state!, linksBefore, endpointNamesOf(state!))).to.deep.equal([]);
}

const made: { file: string; name: string }[] = [];

function labName(base: string): string {
  const name = `${base}-${RUN}`;
  made.push({ file: '', name });
  return name;
}

describe('tortie lab (integration)', function () {
  this.timeout(240_000);

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) throw new Error('run `npm run build` first: these tests drive the built CLI');
  });

  after(async () => {
    // A failed test may leave its lab: take every lab of this run down.
    for (const { name } of made) if (readState(name)) await tortie(['lab', 'down', FRR_PAIR, '--name', name]);
  });

  it('FRR and plain nodes: routes between the clients over eBGP; down leaves nothing', async () => {
    const name = labName('fp');
    const before = rootLinks();
    await ok(['lab', 'up', FRR_PAIR, '--name', name]);
    const state = readState(name)!;
    expect(state.phase).to.equal('up');
    expect(state.namespaces).to.have.members([`tl-${name}-r1`, `tl-${name}-r2`, `tl-${name}-c1`, `tl-${name}-c2`]);
    const r1 = state.nodes.find((n) => n.name === 'r1')!;
    await waitFor(async () => (await vtysh(r1.dir, 'show ip route 192.168.2.0/24')).includes('bgp'), { timeoutMs: 20_000, what: 'r1 to have the BGP route to c2' });
    const r = await tortie(['lab', 'exec', FRR_PAIR, 'c1', '--name', name, '--', 'ping', '-c', '1', '-W', '2', '192.168.2.10']);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    // exec's exit status is the command's: a ping to nowhere fails.
    expect((await tortie(['lab', 'exec', FRR_PAIR, 'c1', '--name', name, '--', 'ping', '-c', '1', '-W', '1', '192.168.77.1'])).exitCode).to.not.equal(0);
    const status = JSON.parse(await ok(['lab', 'status', FRR_PAIR, '--name', name, '-o', 'json'])) as { sessions: { node: string; state: string }[] };
    expect(status.sessions.map((s) => `${s.node} ${s.state}`).sort()).to.deep.equal(['r1 Established', 'r2 Established']);
    const svg = join(mkdtempSync(join(tmpdir(), 'tortie-graph-')), 'g.svg');
    await ok(['lab', 'graph', FRR_PAIR, '--name', name, '--out', svg]);
    const picture = readFileSync(svg, 'utf8');
    expect(picture).to.match(/^<svg /).and.to.include('2/2 BGP sessions Established').and.to.include('>r1<').and.to.include('>c2<');
    // One green dashed arc for the r1-r2 session.
    expect(picture.match(/<path [^>]*stroke="#2a9d3a"/g)).to.have.length(1);
    rmSync(svg, { force: true });
    await downAndCheck(FRR_PAIR, name, before);
    expect((await ok(['lab', 'down', FRR_PAIR, '--name', name]))).to.match(/not up/);
  });

  it('down after lab up was killed half-way cleans up from the state file alone', async () => {
    const name = labName('crash');
    const before = rootLinks();
    const upProc: ResultPromise = execa(process.execPath, [BIN, 'lab', 'up', FRR_PAIR, '--name', name], { reject: false, env: { TORTIE_LOG_LEVEL: 'warn' } });
    // Kill it once FRR runs on both routers: namespaces, links and daemons exist by then.
    const state = await waitFor(() => {
      const s = readState(name);
      return s && s.processes.filter((p) => p.what === 'bgpd').length === 2 ? s : null;
    }, { timeoutMs: 60_000, intervalMs: 20, what: 'lab up to start FRR on both routers' });
    upProc.kill('SIGKILL');
    await upProc;
    const crashed = readState(name)!;
    expect(crashed.phase).to.equal('starting');
    // The daemons outlive their parent: only the state file knows about them now.
    expect(crashed.processes.filter((p) => processStartTime(p.pid) === p.startTime).length).to.be.greaterThan(0);
    expect(state.namespaces.length).to.be.greaterThan(0);
    await downAndCheck(FRR_PAIR, name, before);
  });

  it('a failing exec command: up exits 1 naming it, and leaves nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tortie-lab-'));
    const file = join(dir, 'bad.clab.yml');
    writeFileSync(file, 'name: bad\ntopology:\n  nodes:\n    a: { kind: linux, image: alpine:3, exec: ["ip link set nosuchdev up"] }\n    b: { kind: linux, image: alpine:3 }\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n');
    const name = labName('bad');
    const r = await tortie(['lab', 'up', file, '--name', name]);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/node a: exec "ip link set nosuchdev up" failed/);
    expect(readState(name)).to.equal(null);
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`tl-${name}-`))).to.deep.equal([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fabric3: full mesh, every workload reaches every other; with the sample policy exactly the allowed pairs', async () => {
    const name = labName('f3');
    const before = rootLinks();
    await ok(['lab', 'up', FABRIC3, '--name', name]);
    const state = readState(name)!;
    expect(state.workloads).to.have.length(6);
    const status = JSON.parse(await ok(['lab', 'status', FABRIC3, '--name', name, '-o', 'json'])) as { sessions: { node: string; state: string }[] };
    // Full mesh: each of three hosts has two Established sessions.
    expect(status.sessions.filter((s) => s.state === 'Established').map((s) => s.node).sort()).to.deep.equal(['host1', 'host1', 'host2', 'host2', 'host3', 'host3']);
    const open = JSON.parse(await ok(['lab', 'reach', FABRIC3, '--name', name, '-o', 'json'])) as { cells: { from: string; to: string; observed: boolean; expected: { allowed: boolean } }[]; mismatches: unknown[] };
    expect(open.mismatches).to.deep.equal([]);
    expect(open.cells).to.have.length(36);
    expect(open.cells.every((c) => c.observed && c.expected.allowed)).to.equal(true);
    await ok(['apply', '-f', join(ROOT, 'labs/containerlab/fabric3/policy.yaml')], { TORTIE_DATASTORE: state.datastore!.url });
    const r = await tortie(['lab', 'reach', FABRIC3, '--name', name, '-o', 'json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const fenced = JSON.parse(r.stdout) as typeof open;
    const denied = fenced.cells.filter((c) => !c.observed).map((c) => `${c.from}->${c.to}`).sort();
    // db accepts only web; web accepts only client.
    expect(denied).to.deep.equal(
      ['client-3->db-1', 'client-3->db-2', 'db-1->db-2', 'db-1->web-1', 'db-1->web-2', 'db-1->web-3', 'db-2->db-1', 'db-2->web-1', 'db-2->web-2', 'db-2->web-3',
        'web-1->web-2', 'web-1->web-3', 'web-2->web-1', 'web-2->web-3', 'web-3->web-1', 'web-3->web-2'].sort(),
    );
    await downAndCheck(FABRIC3, name, before);
  });

  it('tor-frr: the FRR ToRs carry the workload /32s between racks; every workload reaches every other', async () => {
    const name = labName('tf');
    const before = rootLinks();
    await ok(['lab', 'up', TOR_FRR, '--name', name]);
    const state = readState(name)!;
    const tor = (n: string) => state.nodes.find((x) => x.name === n)!;
    const rack = (n: string) => (['host1', 'host2'].includes(n) ? 1 : 2);
    for (const w of state.workloads) {
      for (const t of ['tor1', 'tor2']) {
        const local = rack(w.node) === Number(t.slice(3));
        const via = local ? `10.${rack(w.node)}.0.1${w.node === 'host1' || w.node === 'host3' ? '1' : '2'}` : t === 'tor1' ? '10.0.12.2' : '10.0.12.1';
        await waitFor(async () => {
          const route = JSON.parse(await vtysh(tor(t).dir, `show ip route ${w.ips[0]}/32 json`)) as Record<string, { protocol: string; nexthops: { ip?: string }[] }[]>;
          const r = route[`${w.ips[0]}/32`]?.[0];
          return r?.protocol === 'bgp' && r.nexthops.some((h) => h.ip === via);
        }, { timeoutMs: 20_000, what: `${t} to route ${w.short} (${w.ips[0]}/32) via ${via}` });
      }
    }
    // The hosts have no session with each other or with the far ToR: no mesh.
    const status = JSON.parse(await ok(['lab', 'status', TOR_FRR, '--name', name, '-o', 'json'])) as { sessions: { node: string; peer: string; state: string }[] };
    expect(status.sessions.filter((s) => s.node.startsWith('host')).map((s) => `${s.node} ${s.peer} ${s.state}`).sort()).to.deep.equal(
      ['host1 10.1.0.1 Established', 'host2 10.1.0.1 Established', 'host3 10.2.0.1 Established', 'host4 10.2.0.1 Established'],
    );
    const m = JSON.parse(await ok(['lab', 'reach', TOR_FRR, '--name', name, '-o', 'json'])) as { cells: { observed: boolean }[]; mismatches: unknown[] };
    expect(m.mismatches).to.deep.equal([]);
    expect(m.cells.every((c) => c.observed)).to.equal(true);
    await downAndCheck(TOR_FRR, name, before);
  });
});
