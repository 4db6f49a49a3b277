/**
 * felix's ipsets (names `tortie-...` and `tortie6-...`), through `ipset restore`. New and
 * changed sets are written before the iptables rules that use them (`applyUpdates`), sets
 * nothing wants any more are destroyed after (`applyDeletes`). A changed set is rebuilt in a
 * scratch set and swapped in, so a packet sees either the old members or the new, never a
 * mix. Only sets with our prefix are read or touched.
 */
import type { DesiredIpSet, IpSetType } from '../calc/model.js';
import { IPSET_NAME, ipsetName, type Family } from '../calc/names.js';
import type { HostExec } from './exec.js';

interface KernelSet {
  type: string;
  family: Family;
  members: Set<string>;
}

const MAXELEM = 1048576;

export class IpSets {
  private kernel: Map<string, KernelSet> | undefined;

  constructor(private readonly exec: HostExec) {}

  invalidate(): void {
    this.kernel = undefined;
  }

  async read(): Promise<Map<string, KernelSet>> {
    const out = await this.exec.run('ipset', ['save']);
    const sets = new Map<string, KernelSet>();
    for (const line of out.split('\n')) {
      const parts = line.split(' ');
      if (parts[0] === 'create' && IPSET_NAME.test(parts[1]!)) {
        const fi = parts.indexOf('family');
        sets.set(parts[1]!, { type: parts[2]!, family: parts[fi + 1] === 'inet6' ? 6 : 4, members: new Set() });
      } else if (parts[0] === 'add') {
        sets.get(parts[1]!)?.members.add(parts[2]!);
      }
    }
    return sets;
  }

  /** Creates missing sets and brings changed ones up to date. Returns the lines written. */
  async applyUpdates(desired: Map<string, DesiredIpSet>): Promise<number> {
    const kernel = this.kernel ?? (await this.read());
    this.kernel = undefined;
    const lines: string[] = [];
    for (const set of desired.values()) {
      const have = kernel.get(set.name);
      if (have && have.type === set.type && have.family === set.family && sameSet(have.members, set.members)) continue;
      if (!have) {
        lines.push(createLine(set.name, set.type, set.family));
        for (const m of set.members) lines.push(`add ${set.name} ${m}`);
      } else if (have.type !== set.type || have.family !== set.family) {
        // Not ours in this shape (made by hand?): replace it; fails (and retries) while referenced.
        lines.push(`destroy ${set.name}`, createLine(set.name, set.type, set.family));
        for (const m of set.members) lines.push(`add ${set.name} ${m}`);
      } else {
        const tmp = ipsetName.temporary(set.name);
        lines.push(createLine(tmp, set.type, set.family), `flush ${tmp}`);
        for (const m of set.members) lines.push(`add ${tmp} ${m}`);
        lines.push(`swap ${tmp} ${set.name}`, `destroy ${tmp}`);
      }
    }
    const after = new Map(kernel);
    for (const set of desired.values()) after.set(set.name, { type: set.type, family: set.family, members: new Set(set.members) });
    if (lines.length > 0) await this.restore(lines);
    this.kernel = after;
    return lines.length;
  }

  /** Destroys our sets that are not wanted (call after the rules using them are gone). */
  async applyDeletes(desired: Map<string, DesiredIpSet>): Promise<number> {
    const kernel = this.kernel ?? (await this.read());
    this.kernel = undefined;
    const stale = [...kernel.keys()].filter((name) => !desired.has(name));
    if (stale.length > 0) await this.restore(stale.map((name) => `destroy ${name}`));
    for (const name of stale) kernel.delete(name);
    this.kernel = kernel;
    return stale.length;
  }

  private async restore(lines: string[]): Promise<void> {
    await this.exec.run('ipset', ['restore', '-exist'], lines.join('\n') + '\n');
  }
}

function createLine(name: string, type: IpSetType, family: Family): string {
  return `create ${name} ${type} family ${family === 4 ? 'inet' : 'inet6'} maxelem ${MAXELEM}`;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
