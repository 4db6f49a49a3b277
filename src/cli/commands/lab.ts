/**
 * `tortie lab up|down|status|exec|graph|list FILE.clab.yml`: containerlab topologies without
 * Docker (see src/lab/). Like containerlab, a lab is named by its file's `name` (or --name),
 * and every command after `up` finds the running lab by that name.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { execa } from 'execa';
import { UsageError, UserError } from '../../common/errors.js';
import {
  down,
  execIn,
  labMatrix,
  labStatus,
  renderMatrix,
  listLabs,
  readState,
  readTopologyFile,
  renderSvg,
  up,
  type LabState,
  type LabStatus,
} from '../../lab/index.js';
import { examples, renderTable, toJson } from './common.js';

function labName(file: string, name?: string): string {
  if (name) return name;
  if (!existsSync(file)) throw new UserError(`${file}: no such topology file (or give the lab's --name)`);
  return readTopologyFile(file).topology.name;
}

function runningLab(file: string, name?: string): LabState {
  const lab = labName(file, name);
  const state = readState(lab);
  if (!state) throw new UserError(`lab ${lab} is not up (no state file); start it with tortie lab up ${file}`);
  return state;
}

export function renderStatus(s: LabStatus): string {
  const out: string[] = [];
  out.push(`lab ${s.lab} (${s.file}), ${s.phase}${s.datastore ? `, datastore ${s.datastore}` : ''}\n\n`);
  out.push(
    renderTable(
      ['NODE', 'ROLE', 'NETNS', 'PROCESSES', 'ADDRESSES'],
      s.nodes.map((n) => [
        n.name,
        n.role,
        n.netns ? (n.present ? n.netns : `${n.netns} (missing)`) : '-',
        n.processes.map((p) => `${p.what}:${p.pid}${p.alive ? '' : ' DEAD'}`).join(' ') || '-',
        n.addresses.join(', ') || '-',
      ]),
    ),
  );
  if (s.sessions.length) {
    out.push('\nBGP sessions\n');
    out.push(renderTable(['NODE', 'PEER', 'PEER AS', 'STATE', 'INFO'], s.sessions.map((x) => [x.node, x.peer, x.peerAs === undefined ? '-' : String(x.peerAs), x.state, x.info ?? ''])));
  }
  if (s.workloads.length) {
    out.push('\nWorkloads\n');
    out.push(
      renderTable(
        ['WORKLOAD', 'NODE', 'ADDRESSES', 'LABELS', 'NETNS'],
        s.workloads.map((w) => [w.name, w.node, w.ips.join(',') || '-', Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', w.present ? w.netns : `${w.netns} (missing)`]),
      ),
    );
  }
  return out.join('');
}

async function hasCommand(cmd: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
  return r.exitCode === 0;
}

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('containerlab topologies (FILE.clab.yml) with network namespaces, no Docker needed');
  examples(lab, ['tortie lab up labs/containerlab/fabric3/fabric3.clab.yml', 'tortie lab list', 'tortie lab down labs/containerlab/fabric3/fabric3.clab.yml']);
  const nameOption = () => new Option('--name <lab>', 'lab name (default: the file\'s name)');

  examples(
    lab
      .command('up')
      .description('bring a lab up: namespaces, links, FRR, etcd, tortie nodes, workloads')
      .argument('<file>', 'topology file (FILE.clab.yml)')
      .addOption(nameOption())
      .option('--no-wait', 'do not wait for the BGP sessions to be Established')
      .option('--wait-timeout <seconds>', 'how long to wait for the BGP sessions', (v) => {
        const n = Number(v);
        if (!(n > 0)) throw new UsageError(`--wait-timeout: "${v}" is not a positive number of seconds`);
        return n;
      }, 90)
      .action(async (file: string, opts: { name?: string; wait: boolean; waitTimeout: number }) => {
        const state = await up(file, { name: opts.name, waitSessionsMs: opts.wait ? opts.waitTimeout * 1000 : 0 });
        process.stdout.write(renderStatus(await labStatus(state)));
        process.stdout.write(`\nLook around: tortie lab status ${file} | tortie lab exec ${file} NODE -- CMD | tortie lab graph ${file}\nTear down:   tortie lab down ${file}${opts.name ? ` --name ${opts.name}` : ''}\n`);
      }),
    ['tortie lab up labs/containerlab/fabric3/fabric3.clab.yml', 'tortie lab up labs/containerlab/tor-frr/tor-frr.clab.yml --name my-tor'],
  );

  examples(
    lab
      .command('down')
      .alias('destroy')
      .description('remove everything the lab made (works from its state file, also after a crash)')
      .argument('<file>', 'topology file')
      .addOption(nameOption())
      .action(async (file: string, opts: { name?: string }) => {
        const name = labName(file, opts.name);
        const report = await down(name);
        if (!report) {
          process.stdout.write(`lab ${name} is not up; nothing to remove\n`);
          return;
        }
        if (report.leftovers.length) throw new UserError(`lab ${name}: could not remove ${report.leftovers.length} thing(s): ${report.leftovers.join('; ')} (the state file is kept: run down again)`);
        process.stdout.write(`lab ${name} removed: ${report.namespaces.length} network namespaces, ${report.processes} processes\n`);
      }),
    ['tortie lab down labs/containerlab/fabric3/fabric3.clab.yml'],
  );

  examples(
    lab
      .command('status')
      .alias('inspect')
      .description('nodes, BGP sessions and workloads of a running lab')
      .argument('<file>', 'topology file')
      .addOption(nameOption())
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
      .action(async (file: string, opts: { name?: string; output: string }) => {
        const s = await labStatus(runningLab(file, opts.name));
        process.stdout.write(opts.output === 'json' ? toJson(s) : renderStatus(s));
      }),
    ['tortie lab status labs/containerlab/tor-frr/tor-frr.clab.yml', 'tortie lab status tor-frr.clab.yml -o json'],
  );

  examples(
    lab
      .command('exec')
      .description('run a command inside a node or a workload of a running lab')
      .argument('<file>', 'topology file')
      .argument('<node>', 'node or workload name')
      .argument('[command...]', 'the command (after --)')
      .addOption(nameOption())
      .option('--cmd <command>', 'the command as one string (containerlab style)')
      .action(async (file: string, node: string, command: string[], opts: { name?: string; cmd?: string }) => {
        const text = opts.cmd ?? command.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
        if (!text) throw new UsageError('lab exec: no command given (tortie lab exec FILE NODE -- CMD ARGS, or --cmd "CMD")');
        const code = await execIn(runningLab(file, opts.name), node, text);
        // The command's own exit status, as docker exec and containerlab exec give it (its
        // output went straight to our terminal, so nothing is left to flush).
        if (code !== 0) process.exit(code);
      }),
    ['tortie lab exec tor-frr.clab.yml tor1 -- vtysh -c "show bgp summary"', 'tortie lab exec fabric3.clab.yml web-1 -- ping -c 1 10.65.0.2', 'tortie lab exec fabric3.clab.yml host1 -- tortie node status'],
  );

  examples(
    lab
      .command('graph')
      .description('draw the lab (nodes, links, BGP session states, workloads) as SVG, and PNG where a converter exists')
      .argument('<file>', 'topology file')
      .addOption(nameOption())
      .option('--out <file>', 'where to write the SVG (default: LAB.svg in this folder)')
      .option('--png', 'also write a PNG (needs rsvg-convert or ImageMagick convert)')
      .action(async (file: string, opts: { name?: string; out?: string; png?: boolean }) => {
        const { topology } = readTopologyFile(file);
        if (opts.name) topology.name = opts.name;
        const state = readState(topology.name);
        const status = state ? await labStatus(state) : undefined;
        const out = opts.out ?? `${topology.name}.svg`;
        writeFileSync(out, renderSvg({ topology, status }));
        process.stdout.write(`wrote ${out}${state ? '' : ' (the lab is not up: no session states)'}\n`);
        if (opts.png) {
          const png = out.replace(/\.svg$/, '') + '.png';
          const converter = (await hasCommand('rsvg-convert')) ? ['rsvg-convert', '-o', png, out] : (await hasCommand('convert')) ? ['convert', out, png] : undefined;
          if (!converter) throw new UserError('--png: neither rsvg-convert nor convert is installed (apt-get install librsvg2-bin); the SVG is written');
          const r = await execa(converter[0]!, converter.slice(1), { reject: false });
          if (r.exitCode !== 0) throw new UserError(`--png: ${converter[0]} failed: ${String(r.stderr).trim().split('\n')[0]} (the SVG is written)`);
          process.stdout.write(`wrote ${png}\n`);
        }
      }),
    ['tortie lab graph labs/containerlab/tor-frr/tor-frr.clab.yml --png'],
  );

  examples(
    lab
      .command('reach')
      .alias('matrix')
      .description('ping from every workload to every other; print who reaches whom, and which policy denies each denied pair')
      .argument('<file>', 'topology file')
      .addOption(nameOption())
      .option('--wait <seconds>', 'how long to let policy reach the kernel before a disagreement counts', (v) => Number(v), 20)
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
      .action(async (file: string, opts: { name?: string; wait: number; output: string }) => {
        const m = await labMatrix(runningLab(file, opts.name), opts.wait * 1000);
        process.stdout.write(opts.output === 'json' ? toJson(m) : renderMatrix(m.cells, m.names));
        if (m.mismatches.length) throw new UserError(`${m.mismatches.length} pair(s) disagree with the policies (marked !)`);
      }),
    ['tortie lab reach labs/containerlab/tor-frr/tor-frr.clab.yml'],
  );

  examples(lab.command('list'), ['tortie lab list'])
    .description('labs that are up on this machine')
    .action(() => {
      const rows = listLabs().map((name) => {
        const s = readState(name);
        return [name, s?.phase ?? '?', String(s?.namespaces.length ?? 0), String(s?.workloads.length ?? 0), s?.file ?? '?'];
      });
      process.stdout.write(renderTable(['LAB', 'PHASE', 'NAMESPACES', 'WORKLOADS', 'FILE'], rows));
    });

}
