/**
 * One iptables table of one family, kept the way Felix's `Table` keeps it:
 * - every rule we write carries the comment `tortie:<hash>` (a hash of its chain and text);
 * - the kernel is read back with `iptables-save -t TABLE`, and of it only our chains
 *   (prefix `tortie-`) and our hash comments are looked at;
 * - one `iptables-restore --noflush` per apply writes the minimal delta: a chain whose hashes
 *   differ is rewritten whole (declaring it flushes it), chains nothing wants any more are
 *   flushed and deleted, and our jump rules are kept first in the kernel's chains. Nothing
 *   else is touched. The restore is one transaction: if it fails, the old ruleset stays.
 * What was written is remembered; the kernel is read again only after a failure or when the
 * caller asks (the periodic refresh that repairs drift).
 */
import { hashText } from '../calc/hash.js';
import type { DesiredTable, TableName } from '../calc/model.js';
import { CHAIN_PREFIX, COMMENT_PREFIX, type Family } from '../calc/names.js';
import type { HostExec } from './exec.js';

export interface TableHooks {
  /** Test hook: sees (and may change) each restore input before it is applied. */
  beforeRestore?(info: { family: Family; table: TableName; input: string }): string;
}

interface KernelTable {
  /** Our chains: the hash of each rule ('' for a rule without our comment). */
  ours: Map<string, string[]>;
  /** Other chains (the kernel's, other tools'): per rule our hash, or null if not ours. */
  others: Map<string, (string | null)[]>;
}

const HASH_RE = /--comment "?tortie:([a-z0-9]+)"?/;

export interface TableStats {
  chains: number;
  rules: number;
}

export class IptablesTable {
  private kernel: KernelTable | undefined;
  /** The rendered lines of each chain as last planned: unchanged chains are not hashed again. */
  private readonly rendered = new Map<string, { specs: string[]; lines: RuleLine[] }>();

  constructor(
    private readonly exec: HostExec,
    readonly family: Family,
    readonly table: TableName,
    private readonly hooks: TableHooks = {},
  ) {}

  /** The next apply reads the kernel first. */
  invalidate(): void {
    this.kernel = undefined;
  }

  async read(): Promise<KernelTable> {
    const out = await this.exec.run(this.family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', this.table]);
    return parseSave(out);
  }

  /** Our chains and the hash of every rule in them, as the kernel has them now. */
  async readHashes(): Promise<Map<string, string[]>> {
    return (await this.read()).ours;
  }

  /** Makes the kernel match `desired`. Returns true if anything had to be written. */
  async apply(desired: DesiredTable): Promise<boolean> {
    const kernel = this.kernel ?? (await this.read());
    this.kernel = undefined; // until this apply is known to have worked
    const { input, after } = plan(kernel, desired, (chain, specs) => this.render(chain, specs));
    for (const chain of this.rendered.keys()) if (!desired.chains.has(chain)) this.rendered.delete(chain);
    if (input === null) {
      this.kernel = kernel;
      return false;
    }
    const text = this.hooks.beforeRestore ? this.hooks.beforeRestore({ family: this.family, table: this.table, input }) : input;
    await this.exec.run(this.family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '-w', '5'], text);
    this.kernel = after;
    return true;
  }

  private render(chain: string, specs: string[]): RuleLine[] {
    const cached = this.rendered.get(chain);
    if (cached && (cached.specs === specs || (cached.specs.length === specs.length && cached.specs.every((s, i) => s === specs[i])))) return cached.lines;
    const lines = specs.map((s) => ruleLine(chain, s));
    this.rendered.set(chain, { specs, lines });
    return lines;
  }
}

type RuleLine = { hash: string; line: string };

/** A rule's hash: of its chain and its text, so the same text in two chains differs. */
export function ruleHash(chain: string, spec: string): string {
  return hashText(`${chain}\0${spec}`);
}

function ruleLine(chain: string, spec: string): RuleLine {
  const hash = ruleHash(chain, spec);
  return { hash, line: `-m comment --comment "${COMMENT_PREFIX}${hash}" ${spec}` };
}

export function parseSave(out: string): KernelTable {
  const ours = new Map<string, string[]>();
  const others = new Map<string, (string | null)[]>();
  for (const line of out.split('\n')) {
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0]!;
      if (name.startsWith(CHAIN_PREFIX)) ours.set(name, []);
      else others.set(name, []);
    } else if (line.startsWith('-A ')) {
      const chain = line.slice(3, line.indexOf(' ', 3) < 0 ? undefined : line.indexOf(' ', 3));
      const hash = HASH_RE.exec(line)?.[1];
      if (chain.startsWith(CHAIN_PREFIX)) {
        if (!ours.has(chain)) ours.set(chain, []);
        ours.get(chain)!.push(hash ?? '');
      } else {
        if (!others.has(chain)) others.set(chain, []);
        others.get(chain)!.push(hash ?? null);
      }
    }
  }
  return { ours, others };
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The restore input that turns `kernel` into `desired` (null: nothing to do), and the result. */
function plan(kernel: KernelTable, desired: DesiredTable, render: (chain: string, specs: string[]) => RuleLine[]): { input: string | null; after: KernelTable } {
  const declare: string[] = [];
  const hookDeletes: string[] = [];
  const appends: string[] = [];
  const hookInserts: string[] = [];
  const deletes: string[] = [];
  const after: KernelTable = { ours: new Map(), others: new Map(kernel.others) };

  for (const [chain, specs] of desired.chains) {
    const lines = render(chain, specs);
    const hashes = lines.map((l) => l.hash);
    after.ours.set(chain, hashes);
    if (sameList(kernel.ours.get(chain), hashes)) continue;
    declare.push(`:${chain} - [0:0]`); // creates the chain, or flushes it if it exists
    for (const l of lines) appends.push(`-A ${chain} ${l.line}`);
  }
  for (const chain of kernel.ours.keys()) {
    if (desired.chains.has(chain)) continue;
    declare.push(`:${chain} - [0:0]`);
    deletes.push(`-X ${chain}`);
  }
  // Our jumps in the kernel's chains: exactly the wanted ones, first, in order.
  for (const [chain, rules] of kernel.others) {
    const want = (desired.hooks.get(chain) ?? []).map((s) => ruleLine(chain, s));
    const wantHashes = want.map((l) => l.hash);
    const ourPositions = rules.flatMap((h, i) => (h !== null ? [i] : []));
    const inPlace = sameList(rules.slice(0, want.length) as string[], wantHashes) && ourPositions.length === want.length;
    if (inPlace) continue;
    for (const i of ourPositions.reverse()) hookDeletes.push(`-D ${chain} ${i + 1}`);
    want.forEach((l, i) => hookInserts.push(`-I ${chain} ${i + 1} ${l.line}`));
    after.others.set(chain, [...wantHashes, ...rules.filter((h) => h === null)]);
  }
  for (const [chain, rules] of desired.hooks) {
    if (kernel.others.has(chain)) continue;
    // A kernel chain the save did not show (cannot happen for built-in chains): insert anyway.
    rules.map((s) => ruleLine(chain, s)).forEach((l, i) => hookInserts.push(`-I ${chain} ${i + 1} ${l.line}`));
  }
  const body = [...declare, ...hookDeletes, ...appends, ...hookInserts, ...deletes];
  if (body.length === 0) return { input: null, after: kernel };
  return { input: `*${desired.table}\n${body.join('\n')}\nCOMMIT\n`, after };
}

export function tableStats(desired: DesiredTable): TableStats {
  let rules = 0;
  for (const specs of desired.chains.values()) rules += specs.length;
  for (const specs of desired.hooks.values()) rules += specs.length;
  return { chains: desired.chains.size, rules };
}
