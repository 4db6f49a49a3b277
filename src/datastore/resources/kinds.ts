/**
 * The kinds tortie stores: their canonical names, whether they are namespaced, and the
 * names and plurals the CLI accepts for them (calicoctl's aliases), case-insensitively.
 */
import { UserError } from '../../common/errors.js';
import type { KindName } from './types.js';

export interface KindInfo {
  kind: KindName;
  namespaced: boolean;
  /** Lower-case names the CLI accepts, the canonical lower-case name first. */
  aliases: readonly string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Node', namespaced: false, aliases: ['node', 'nodes', 'no', 'nos'] },
  { kind: 'IPPool', namespaced: false, aliases: ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools'] },
  { kind: 'IPAMConfiguration', namespaced: false, aliases: ['ipamconfiguration', 'ipamconfigurations', 'ipamconfig', 'ipamconfigs'] },
  { kind: 'BGPConfiguration', namespaced: false, aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'] },
  { kind: 'BGPPeer', namespaced: false, aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'] },
  {
    kind: 'NetworkPolicy',
    namespaced: true,
    aliases: ['networkpolicy', 'networkpolicies', 'netpol', 'netpols', 'policy', 'policies', 'np', 'nps'],
  },
  {
    kind: 'GlobalNetworkPolicy',
    namespaced: false,
    aliases: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps', 'globalpolicy', 'globalpolicies'],
  },
  { kind: 'HostEndpoint', namespaced: false, aliases: ['hostendpoint', 'hostendpoints', 'hep', 'heps'] },
  { kind: 'WorkloadEndpoint', namespaced: true, aliases: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'] },
  { kind: 'Profile', namespaced: false, aliases: ['profile', 'profiles', 'pro', 'pros'] },
];

export const KIND_NAMES: readonly KindName[] = KINDS.map((k) => k.kind);

/** Namespaced kinds without a namespace get this one, as in Kubernetes and calicoctl. */
export const DEFAULT_NAMESPACE = 'default';

export class UnknownKindError extends UserError {
  constructor(readonly given: string) {
    super(`unknown kind ${JSON.stringify(given)}; valid kinds: ${KIND_NAMES.join(', ')}`);
    this.name = 'UnknownKindError';
  }
}

export function kindInfo(kind: KindName): KindInfo {
  const info = KINDS.find((k) => k.kind === kind);
  if (!info) throw new UnknownKindError(kind);
  return info;
}

/** The kind a document's `kind:` names (exact Calico spelling, or any case). */
export function kindFromDocument(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind) ?? KINDS.find((k) => k.kind.toLowerCase() === kind.toLowerCase());
}

/** The kind a CLI argument names: any case, plural or alias (`ippools`, `gnp`, `WEP`). */
export function resolveKind(name: string): KindInfo {
  const lower = name.toLowerCase();
  const info = KINDS.find((k) => k.aliases.includes(lower));
  if (!info) throw new UnknownKindError(name);
  return info;
}
