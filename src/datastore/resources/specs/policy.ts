/**
 * NetworkPolicy (namespaced) and GlobalNetworkPolicy (cluster-wide). When `types` is not
 * given it is inferred as Calico does: Egress if only egress rules are present, Ingress and
 * Egress if both are, else Ingress.
 */
import { checkName, checkSelector } from '../checks.js';
import { checkString, dropUndefined, fail, Fields } from '../../../common/fields.js';
import type { GlobalNetworkPolicySpec, NetworkPolicySpec, PolicyType } from '../types.js';
import { checkRules } from './rules.js';

const COMMON = ['tier', 'order', 'selector', 'types', 'ingress', 'egress', 'serviceAccountSelector', 'performanceHints'];
const GLOBAL_ONLY = ['namespaceSelector', 'doNotTrack', 'preDNAT', 'applyOnForward'];

function commonSpec(f: Fields): NetworkPolicySpec {
  const ingress = f.object('ingress', checkRules);
  const egress = f.object('egress', checkRules);
  const given = f.list('types', (v, p) => {
    const t = checkString(v, p);
    const match = (['Ingress', 'Egress'] as const).find((x) => x.toLowerCase() === t.toLowerCase());
    if (!match) fail(p, `${JSON.stringify(t)} is not one of Ingress, Egress`);
    return match;
  });
  if (given && new Set(given).size !== given.length) fail(f.at('types'), 'lists a type twice');
  const types: PolicyType[] = given ?? inferTypes(ingress !== undefined && ingress.length > 0, egress !== undefined && egress.length > 0);
  if (ingress?.length && !types.includes('Ingress')) fail(f.at('ingress'), 'has rules but types does not include Ingress');
  if (egress?.length && !types.includes('Egress')) fail(f.at('egress'), 'has rules but types does not include Egress');
  const spec: NetworkPolicySpec = {
    tier: f.string('tier', checkName),
    order: f.number('order'),
    selector: f.string('selector', checkSelector) ?? '',
    types,
    ingress,
    egress,
    serviceAccountSelector: f.string('serviceAccountSelector', checkSelector),
    performanceHints: f.list('performanceHints', (v, p) => {
      const s = checkString(v, p);
      if (s !== 'AssumeNeededOnEveryNode') fail(p, `${JSON.stringify(s)} is not a known hint (AssumeNeededOnEveryNode)`);
      return s;
    }),
  };
  return spec;
}

export function inferTypes(hasIngress: boolean, hasEgress: boolean): PolicyType[] {
  if (hasIngress && hasEgress) return ['Ingress', 'Egress'];
  if (hasEgress) return ['Egress'];
  return ['Ingress'];
}

export function validateNetworkPolicySpec(value: unknown, path: string): NetworkPolicySpec {
  const f = Fields.of(value ?? {}, path, COMMON);
  return dropUndefined(commonSpec(f));
}

export function validateGlobalNetworkPolicySpec(value: unknown, path: string): GlobalNetworkPolicySpec {
  const f = Fields.of(value ?? {}, path, [...COMMON, ...GLOBAL_ONLY]);
  const spec: GlobalNetworkPolicySpec = {
    ...commonSpec(f),
    namespaceSelector: f.string('namespaceSelector', checkSelector),
    doNotTrack: f.bool('doNotTrack'),
    preDNAT: f.bool('preDNAT'),
    applyOnForward: f.bool('applyOnForward'),
  };
  // Calico's rules for the untracked and pre-DNAT policies, which act before conntrack/NAT.
  if (spec.doNotTrack && spec.preDNAT) fail(f.at('preDNAT'), 'cannot be true together with doNotTrack');
  if (spec.doNotTrack && spec.applyOnForward !== true) fail(f.at('applyOnForward'), 'must be true when doNotTrack is true');
  if (spec.preDNAT) {
    if (spec.applyOnForward !== true) fail(f.at('applyOnForward'), 'must be true when preDNAT is true');
    if (spec.egress?.length || spec.types.includes('Egress')) fail(f.at('egress'), 'a preDNAT policy can only have ingress rules');
  }
  return dropUndefined(spec);
}
