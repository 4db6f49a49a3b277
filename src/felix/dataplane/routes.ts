/**
 * felix's routes: a /32 (/128) `dev <host veth> scope link` per local workload address and a
 * blackhole per local IPAM block, all tagged `proto FELIX_ROUTE_PROTOCOL`. Read back with
 * `ip route show proto N`, written with one `ip -batch`; routes of any other protocol (the
 * BGP speaker's, the kernel's, the admin's) are never read or touched.
 *
 * A route whose interface does not exist yet is pending, not an error: the periodic refresh
 * tries it again.
 */
import { CommandError } from '../../kernel/exec.js';
import type { DesiredRoute } from '../calc/model.js';
import { routeKey } from '../calc/model.js';
import { FELIX_ROUTE_PROTOCOL, type Family } from '../calc/names.js';
import type { HostExec } from './exec.js';

interface KernelRoute {
  family: Family;
  dst: string;
  type: string;
  dev?: string;
}

export class Routes {
  private kernel: Map<string, KernelRoute> | undefined;
  /** Routes that could not be added on the last apply (their interface is missing). */
  pending = 0;

  constructor(
    private readonly exec: HostExec,
    private readonly families: readonly Family[],
    private readonly protocol = FELIX_ROUTE_PROTOCOL,
  ) {}

  invalidate(): void {
    this.kernel = undefined;
  }

  async read(): Promise<Map<string, KernelRoute>> {
    const out = new Map<string, KernelRoute>();
    for (const family of this.families) {
      const json = await this.exec.ip([`-${family}`, '-j', 'route', 'show', 'table', 'main', 'proto', String(this.protocol)]);
      for (const r of JSON.parse(json || '[]') as { dst: string; dev?: string; type?: string }[]) {
        const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`;
        out.set(routeKey(family, dst), { family, dst, type: r.type ?? 'unicast', ...(r.dev ? { dev: r.dev } : {}) });
      }
    }
    return out;
  }

  async apply(desired: Map<string, DesiredRoute>): Promise<number> {
    const kernel = this.kernel ?? (await this.read());
    this.kernel = undefined;
    const lines: string[] = [];
    const proto = `proto ${this.protocol}`;
    for (const [key, r] of kernel) {
      const want = desired.get(key);
      if (!want || want.type !== r.type) lines.push(`route del ${r.type === 'blackhole' ? 'blackhole ' : ''}${r.dst} ${proto}`);
    }
    for (const [key, r] of desired) {
      const have = kernel.get(key);
      if (have && have.type === r.type && have.dev === r.dev) continue;
      lines.push(r.type === 'blackhole' ? `route replace blackhole ${r.dst} ${proto}` : `route replace ${r.dst} dev ${r.dev} scope link ${proto}`);
    }
    this.pending = 0;
    if (lines.length > 0) {
      try {
        await this.exec.ip(['-force', '-batch', '-'], lines.join('\n') + '\n');
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        const failures = err.stderr.split('\n').filter((l) => l.trim() !== '' && !/^Command failed/.test(l));
        if (failures.length === 0 || !failures.every((l) => /Cannot find device|No such device/.test(l))) throw err;
        this.pending = failures.length;
        return lines.length; // read back next time: which of them went in is not known here
      }
    }
    const after = new Map<string, KernelRoute>();
    for (const [key, r] of desired) after.set(key, { family: r.family, dst: r.dst, type: r.type, ...(r.dev ? { dev: r.dev } : {}) });
    this.kernel = after;
    return lines.length;
  }
}
