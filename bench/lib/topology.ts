/**
 * The benchmark's namespaces, all made through one NetnsScope (unique prefix, cleaned up on
 * failure and Ctrl-C):
 *
 *   target run:  inj (10.0.1.1) --veth-- (10.0.1.2) tgt (10.0.2.1) --veth-- (10.0.2.2) mon
 *   floor run:   inj (10.0.1.1) --veth-- (10.0.1.2) mon
 *
 * Injected prefixes are /32s from 100.64.0.0 (room for 4M); none leaves the namespaces.
 */
import type { NetnsScope } from '../../src/kernel/index.js';

export const ASN = { injector: 65001, target: 65000, monitor: 65002 } as const;
export const PREFIX_BASE = '100.64.0.0';

export const ADDR = {
  injector: '10.0.1.1',
  targetInjSide: '10.0.1.2',
  targetMonSide: '10.0.2.1',
  monitor: '10.0.2.2',
  /** The floor's monitor, straight on the injector's link. */
  floorMonitor: '10.0.1.2',
} as const;

export interface TargetTopology {
  inj: string;
  tgt: string;
  mon: string;
}

export interface FloorTopology {
  inj: string;
  mon: string;
}

export async function targetTopology(scope: NetnsScope): Promise<TargetTopology> {
  const inj = await scope.netns('inj');
  const tgt = await scope.netns('tgt');
  const mon = await scope.netns('mon');
  await scope.veth(
    { netns: inj, name: 'inj0', addresses: [`${ADDR.injector}/24`] },
    { netns: tgt, name: 'tgt-inj', addresses: [`${ADDR.targetInjSide}/24`] },
  );
  await scope.veth(
    { netns: tgt, name: 'tgt-mon', addresses: [`${ADDR.targetMonSide}/24`] },
    { netns: mon, name: 'mon0', addresses: [`${ADDR.monitor}/24`] },
  );
  return { inj, tgt, mon };
}

export async function floorTopology(scope: NetnsScope): Promise<FloorTopology> {
  const inj = await scope.netns('inj');
  const mon = await scope.netns('mon');
  await scope.veth(
    { netns: inj, name: 'inj0', addresses: [`${ADDR.injector}/24`] },
    { netns: mon, name: 'mon0', addresses: [`${ADDR.floorMonitor}/24`] },
  );
  return { inj, mon };
}
