/**
 * `tortie ipam assign|release|show|check`: IPAM for scripts, labs and operators. Thin: parse,
 * call src/ipam, print. Addresses assigned here carry purpose "script" (unless --purpose), so
 * that `ipam check` does not call them leaks for want of a workload endpoint.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UsageError, UserError } from '../../common/errors.js';
import type { ResourceStore } from '../../datastore/resources/store.js';
import { canonicalIp } from '../../ipam/addr.js';
import { checkIpam, fixFromReport, parseReport } from '../../ipam/check.js';
import { Ipam } from '../../ipam/ipam.js';
import type { AssignResult, ReleaseOutcome } from '../../ipam/ipam.js';
import { ResourceConfigSource } from '../../ipam/resource-source.js';
import { showAddress, showIpam } from '../../ipam/show.js';
import { addDatastoreOptions, examples, renderTable, toJson, withResourceStore } from './common.js';

class ReportFileError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ReportFileError';
  }
}

function ipamOf(store: ResourceStore): Ipam {
  return new Ipam(store.kv, new ResourceConfigSource(store));
}

function ipArg(flag: string, text: string): string {
  const ip = canonicalIp(text);
  if (!ip) throw new UsageError(`${flag}: "${text}" is not an IP address`);
  return ip;
}

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: "${v}" is not a whole number above 0`);
    return n;
  };
}

const formatOption = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');

export function registerIpamCommands(program: Command): void {
  addDatastoreOptions(program);
  const ipam = program.command('ipam').description('IP address management: assign, release, show, check');
  examples(ipam, ['tortie ipam show --show-blocks', 'tortie ipam assign --node host-1 --handle lab-gw', 'tortie ipam check']);
  registerAssign(ipam);
  registerRelease(ipam);
  registerShow(ipam);
  registerCheck(ipam);
}

function registerAssign(ipam: Command): void {
  const cmd = ipam
    .command('assign')
    .description('assign addresses to a handle on a node (from the node\'s blocks, or one named --ip)')
    .requiredOption('--node <name>', 'node the addresses are for')
    .requiredOption('--handle <id>', 'handle that owns them (release with --handle)')
    .option('--count <n>', 'how many addresses', positiveInt('--count'), 1)
    .option('--ip <address>', 'assign this address')
    .addOption(new Option('--family <4|6>', 'address family').choices(['4', '6']).default('4'))
    .option('--pool <name>', 'take them from this pool (name or CIDR)')
    .option('--purpose <purpose>', 'what they are for ("workload" ones must have a workload endpoint)', 'script')
    .addOption(formatOption())
    .action(async (opts: { node: string; handle: string; count: number; ip?: string; family: string; pool?: string; purpose: string; output: string }, command: Command) => {
      if (opts.ip !== undefined && (opts.count !== 1 || opts.pool !== undefined)) throw new UsageError('assign: --ip names one address; it does not go with --count or --pool');
      const attrs = { purpose: opts.purpose, node: opts.node };
      const result: AssignResult = await withResourceStore(command, async (store) => {
        const lib = ipamOf(store);
        if (opts.ip !== undefined) {
          const one = await lib.assignIp({ ip: ipArg('--ip', opts.ip), node: opts.node, handle: opts.handle, attrs });
          return { handle: opts.handle, ips: [one] };
        }
        return lib.assign({ node: opts.node, handle: opts.handle, count: opts.count, family: opts.family === '6' ? 6 : 4, pool: opts.pool, attrs });
      });
      if (opts.output === 'json') process.stdout.write(toJson(result));
      else process.stdout.write(renderTable(['ADDRESS', 'BLOCK', 'POOL', 'SEQ'], result.ips.map((x) => [x.ip, x.block, x.pool, String(x.seq)])));
    });
  examples(cmd, ['tortie ipam assign --node host-1 --handle lab-gw --ip 10.65.0.1', 'tortie ipam assign --node host-1 --handle batch-7 --count 4 -o json']);
}

function registerRelease(ipam: Command): void {
  const cmd = ipam
    .command('release')
    .description('release addresses: by handle, by address, a deleted node\'s, or what a check report lists')
    .option('--handle <id>', 'every address this handle holds')
    .option('--ip <address>', 'one address')
    .option('--seq <n>', 'with --ip: only if it still carries this allocation (sequence number from assign)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seq: "${v}" is not a whole number`);
      return n;
    })
    .option('--from-report <file>', 'what `tortie ipam check -o FILE` found, each item re-checked first')
    .option('--node <name>', 'a deleted node\'s affinities, and its addresses no live workload uses')
    .action(async (opts: { handle?: string; ip?: string; seq?: number; fromReport?: string; node?: string }, command: Command) => {
      const given = [opts.handle, opts.ip, opts.fromReport, opts.node].filter((x) => x !== undefined).length;
      if (given !== 1) throw new UsageError('release: give exactly one of --handle, --ip, --from-report, --node');
      if (opts.seq !== undefined && opts.ip === undefined) throw new UsageError('release: --seq goes with --ip');
      if (opts.fromReport !== undefined) return releaseFromReport(command, opts.fromReport);
      await withResourceStore(command, async (store) => {
        const lib = ipamOf(store);
        if (opts.handle !== undefined) {
          const ips = await lib.releaseByHandle(opts.handle);
          process.stdout.write(ips.length ? `released ${ips.join(', ')} (handle "${opts.handle}")\n` : `handle "${opts.handle}" holds no address; nothing to release\n`);
        } else if (opts.ip !== undefined) {
          const [r] = await lib.releaseIps([{ ip: ipArg('--ip', opts.ip), seq: opts.seq }]);
          printRelease(r!);
        } else {
          const node = opts.node!;
          if (await store.get('Node', node)) throw new UserError(`release --node: node "${node}" still exists; delete it first (its blocks are in use)`);
          const s = await lib.releaseNode(node);
          process.stdout.write(
            `node "${node}": released ${s.affinitiesReleased.length} block affinities, deleted ${s.blocksDeleted.length} empty blocks, released ${s.addressesReleased.length} addresses, kept ${s.addressesKept.length} still used by workload endpoints\n`,
          );
        }
      });
    });
  examples(cmd, ['tortie ipam release --handle batch-7', 'tortie ipam release --ip 10.65.0.9 --seq 41', 'tortie ipam check -o report.json && tortie ipam release --from-report report.json']);
}

function printRelease(r: ReleaseOutcome): void {
  switch (r.status) {
    case 'released':
      process.stdout.write(`released ${r.ip} (handle "${r.handle}")\n`);
      return;
    case 'not-allocated':
      process.stdout.write(`${r.ip} is not allocated; nothing to release\n`);
      return;
    default:
      throw new UserError(`release: ${r.ip} was re-allocated since (now handle "${r.handle}", sequence ${r.seq}); not released`);
  }
}

async function releaseFromReport(command: Command, file: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ReportFileError(`--from-report ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const report = parseReport(text, file, (msg) => new ReportFileError(msg));
  const outcomes = await withResourceStore(command, (store) => fixFromReport(ipamOf(store), report));
  for (const o of outcomes) process.stdout.write(`${o.action}: ${o.detail}\n`);
  const n = (a: string) => outcomes.filter((o) => o.action === a).length;
  process.stdout.write(`Fixed ${n('fixed')} of ${outcomes.length} problems (${n('already-gone')} no longer problems, ${n('skipped')} need a person).\n`);
}

function registerShow(ipam: Command): void {
  const cmd = ipam
    .command('show')
    .description('per pool: total, used and free addresses; with flags: blocks and their hosts, borrowed addresses, who holds an address')
    .option('--show-blocks', 'list every block with its host')
    .option('--show-borrowed', 'list addresses used by another node than their block\'s host')
    .option('--ip <address>', 'who holds this address')
    .addOption(formatOption())
    .action(async (opts: { showBlocks?: boolean; showBorrowed?: boolean; ip?: string; output: string }, command: Command) => {
      if (opts.ip !== undefined) {
        const ip = ipArg('--ip', opts.ip);
        const info = await withResourceStore(command, (store) => showAddress(store.kv, new ResourceConfigSource(store), ip));
        if (opts.output === 'json') return void process.stdout.write(toJson(info));
        if (!info.allocated) {
          process.stdout.write(`${ip} is not allocated${info.pool ? ` (pool "${info.pool}"${info.block ? `, block ${info.block} of ${info.blockHost ?? 'no host'}` : ''})` : ' and is outside every pool'}\n`);
          return;
        }
        const a = info.attrs ?? {};
        const rest = Object.entries(a).map(([k, v]) => `${k}=${v}`).join(', ');
        process.stdout.write(`${ip} is held by handle "${info.handle}" (${rest}); sequence ${info.seq}; block ${info.block} of ${info.blockHost ?? 'no host'}, pool "${info.pool ?? 'none'}"\n`);
        return;
      }
      const s = await withResourceStore(command, (store) => showIpam(store.kv, new ResourceConfigSource(store)));
      if (opts.output === 'json') {
        process.stdout.write(toJson({ pools: s.pools, ...(opts.showBlocks ? { blocks: s.blocks } : {}), ...(opts.showBorrowed ? { borrowed: s.borrowed } : {}) }));
        return;
      }
      const pct = (used: string, total: string) => (total === '0' ? '0' : ((Number(used) / Number(total)) * 100).toFixed(1));
      process.stdout.write(renderTable(['POOL', 'CIDR', 'TOTAL', 'USED', 'FREE', 'USED%', 'BLOCKS'], s.pools.map((p) => [p.name + (p.disabled ? ' (disabled)' : ''), p.cidr, p.total, p.used, p.free, pct(p.used, p.total), String(p.blocks)])));
      if (opts.showBlocks) {
        process.stdout.write('\n');
        process.stdout.write(renderTable(['BLOCK', 'POOL', 'HOST', 'USED', 'FREE', 'BORROWED'], s.blocks.map((b) => [b.cidr, b.pool ?? '-', b.host ?? '-', String(b.used), String(b.free), String(b.borrowed)])));
      }
      if (opts.showBorrowed) {
        process.stdout.write('\n');
        process.stdout.write(renderTable(['ADDRESS', 'BLOCK', 'BLOCK HOST', 'USED BY NODE', 'HANDLE'], s.borrowed.map((b) => [b.ip, b.block, b.blockHost ?? '-', b.node ?? '-', b.handle])));
      }
    });
  examples(cmd, ['tortie ipam show', 'tortie ipam show --show-blocks --show-borrowed', 'tortie ipam show --ip 10.65.0.9']);
}

function registerCheck(ipam: Command): void {
  const cmd = ipam
    .command('check')
    .description('find leaked addresses, endpoints without addresses, orphaned handles and blocks of deleted nodes; the last line counts them')
    .option('-o, --output <file>', 'write the report as JSON (for `ipam release --from-report`)')
    .action(async (opts: { output?: string }, command: Command) => {
      const report = await withResourceStore(command, (store) => checkIpam(store.kv, new ResourceConfigSource(store)));
      const s = report.summary;
      process.stdout.write(`Checked ${s.blocks} blocks, ${s.allocations} allocations, ${s.handles} handles, ${s.endpoints} workload endpoints.\n`);
      for (const p of report.problems) process.stdout.write(`  ${p.kind}: ${p.message}\n`);
      if (opts.output !== undefined) {
        try {
          await writeFile(opts.output, toJson(report));
        } catch (err) {
          throw new ReportFileError(`-o ${opts.output}: cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        process.stdout.write(`Report written to ${opts.output}.\n`);
      }
      const n = report.problems.length;
      process.stdout.write(`Found ${n} problem${n === 1 ? '' : 's'}.\n`);
    });
  examples(cmd, ['tortie ipam check', 'tortie ipam check -o report.json']);
}
