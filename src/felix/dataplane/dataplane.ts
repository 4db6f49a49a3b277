/**
 * The dataplane: one reconciler per kernel subsystem, applied in dependency order, as
 * Felix's InternalDataplane does in CompleteDeferredWork:
 *   1. ipsets that rules will use (created / swapped in);
 *   2. iptables, one restore transaction per table and family;
 *   3. ipsets nothing uses any more (destroyed);
 *   4. sysctls, then routes.
 * Every reconciler remembers what it wrote and reads the kernel again only when told to
 * (`markForReadBack`, the periodic refresh) or after it failed. The first apply reads
 * everything, so it is also the start-of-day mark-and-sweep: whatever carries our marks and
 * is not wanted goes.
 */
import type { DesiredState, TableName } from '../calc/model.js';
import type { Family } from '../calc/names.js';
import { HostExec } from './exec.js';
import { IpSets } from './ipsets.js';
import { IptablesTable, tableStats, type TableHooks } from './iptables.js';
import { Routes } from './routes.js';
import { Sysctls } from './sysctls.js';

export interface DataplaneOptions {
  netns?: string;
  families: readonly Family[];
  routeProtocol?: number;
  hooks?: TableHooks;
}

export interface ApplyReport {
  /** Whether anything was written. */
  wrote: boolean;
  rules: number;
  chains: number;
  ipsets: number;
  routes: number;
  /** Routes and sysctls waiting for their interface. */
  pending: number;
  /** Milliseconds per phase, for logs and benchmarks. */
  timings: Record<string, number>;
}

export class Dataplane {
  readonly exec: HostExec;
  readonly tables = new Map<string, IptablesTable>();
  readonly ipsets: IpSets;
  readonly routes: Routes;
  readonly sysctls: Sysctls;

  constructor(options: DataplaneOptions) {
    this.exec = new HostExec(options.netns);
    for (const family of options.families) {
      for (const table of ['filter', 'nat'] as TableName[]) this.tables.set(`${family} ${table}`, new IptablesTable(this.exec, family, table, options.hooks));
    }
    this.ipsets = new IpSets(this.exec);
    this.routes = new Routes(this.exec, options.families, options.routeProtocol);
    this.sysctls = new Sysctls(this.exec);
  }

  table(family: Family, table: TableName): IptablesTable {
    return this.tables.get(`${family} ${table}`)!;
  }

  markForReadBack(): void {
    for (const t of this.tables.values()) t.invalidate();
    this.ipsets.invalidate();
    this.routes.invalidate();
    this.sysctls.invalidate();
  }

  async apply(desired: DesiredState): Promise<ApplyReport> {
    const timings: Record<string, number> = {};
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = Math.round((now - t) * 10) / 10;
      t = now;
    };
    let wrote = (await this.ipsets.applyUpdates(desired.ipsets)) > 0;
    lap('ipsets');
    const results = await Promise.all(desired.tables.map((x) => this.table(x.family, x.table).apply(x)));
    lap('iptables');
    wrote = results.some(Boolean) || wrote;
    wrote = (await this.ipsets.applyDeletes(desired.ipsets)) > 0 || wrote;
    lap('ipsetDeletes');
    wrote = (await this.sysctls.apply(desired.sysctls)) > 0 || wrote;
    lap('sysctls');
    wrote = (await this.routes.apply(desired.routes)) > 0 || wrote;
    lap('routes');
    let rules = 0;
    let chains = 0;
    for (const x of desired.tables) {
      const s = tableStats(x);
      rules += s.rules;
      chains += s.chains;
    }
    return { wrote, rules, chains, ipsets: desired.ipsets.size, routes: desired.routes.size, pending: this.routes.pending + this.sysctls.pending, timings };
  }
}
