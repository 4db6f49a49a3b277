/** The reachability matrix of a running lab: its workloads, its policies, pings between them. */
import { UserError } from '../common/errors.js';
import { expectedMatrix, labPolicies, observe, type Endpoint, type MatrixCell } from './reach.js';
import type { LabState } from './state.js';

export interface LabMatrix {
  names: string[];
  cells: MatrixCell[];
  /** Cells where the kernel disagreed with the policies after the wait. */
  mismatches: MatrixCell[];
}

export async function labMatrix(state: LabState, waitMs = 20_000): Promise<LabMatrix> {
  if (!state.datastore) throw new UserError(`lab ${state.lab} has no datastore (no tortie hosts)`);
  const endpoints: Endpoint[] = state.workloads
    .filter((w) => w.ips.length > 0)
    .map((w) => ({ name: w.short, namespace: 'default', labels: w.labels, ip: w.ips.find((ip) => !ip.includes(':')) ?? w.ips[0]! }));
  if (endpoints.length === 0) throw new UserError(`lab ${state.lab} has no workloads with addresses`);
  const cells = expectedMatrix(await labPolicies(state.datastore.url), endpoints);
  const byName = new Map(state.workloads.map((w) => [w.short, w]));
  const ipOf = new Map(endpoints.map((e) => [e.name, e.ip]));
  const mismatches = await observe(cells, (n) => byName.get(n)!.netns, (n) => ipOf.get(n)!, waitMs);
  return { names: endpoints.map((e) => e.name), cells, mismatches };
}
