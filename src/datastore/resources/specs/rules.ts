/**
 * Policy rules (NetworkPolicy, GlobalNetworkPolicy, Profile): action, protocol, ICMP match,
 * source and destination. Rules of Calico's validator that catch real mistakes are kept:
 * ports only with TCP/UDP/SCTP, ICMP fields only with ICMP/ICMPv6, an ICMP code needs a type,
 * ipVersion must agree with the nets and ICMP version given.
 */
import { checkLabelKey, checkLabelValue, checkNet, checkPort, checkProtocol, checkSelector, protocolHasPorts } from '../checks.js';
import { checkList, checkString, dropUndefined, fail, Fields } from '../../../common/fields.js';
import { parseNet } from '../net.js';
import type { EntityRule, ICMPFields, Protocol, Rule, RuleAction } from '../types.js';

const ACTIONS: readonly RuleAction[] = ['Allow', 'Deny', 'Log', 'Pass'];

export function checkRules(value: unknown, path: string): Rule[] {
  return checkList(value, path, checkRule);
}

export function checkRule(value: unknown, path: string): Rule {
  const f = Fields.of(value, path, ['action', 'protocol', 'notProtocol', 'icmp', 'notICMP', 'ipVersion', 'source', 'destination', 'http', 'metadata']);
  const action = f.oneOf('action', ACTIONS);
  if (!action) fail(f.at('action'), `is required (one of ${ACTIONS.join(', ')})`);
  const protocol = f.object('protocol', checkProtocol);
  const notProtocol = f.object('notProtocol', checkProtocol);
  const ipVersion = f.object('ipVersion', (v, p) => {
    if (v !== 4 && v !== 6) fail(p, `${JSON.stringify(v)} is not 4 or 6`);
    return v;
  });
  const icmp = f.object('icmp', checkICMP);
  const notICMP = f.object('notICMP', checkICMP);
  for (const [key, fields] of [['icmp', icmp], ['notICMP', notICMP]] as const) {
    if (fields && !isICMP(protocol)) fail(f.at(key), 'needs protocol ICMP or ICMPv6');
  }
  if (ipVersion !== undefined && (protocol === 'ICMP' || protocol === 1) && ipVersion !== 4) fail(f.at('ipVersion'), 'ICMP is IPv4; use ICMPv6 with ipVersion 6');
  if (ipVersion !== undefined && (protocol === 'ICMPv6' || protocol === 58) && ipVersion !== 6) fail(f.at('ipVersion'), 'ICMPv6 is IPv6; use ICMP with ipVersion 4');
  const rule: Rule = {
    action,
    protocol,
    notProtocol,
    icmp,
    notICMP,
    ipVersion,
    source: f.object('source', (v, p) => checkEntityRule(v, p, protocol, ipVersion, 'source')),
    destination: f.object('destination', (v, p) => checkEntityRule(v, p, protocol, ipVersion, 'destination')),
    http: f.object('http', (v, p) => {
      const g = Fields.of(v, p, ['methods', 'paths']);
      return dropUndefined({
        methods: g.list('methods', (m, q) => checkString(m, q)),
        paths: g.list('paths', (m, q) => {
          const h = Fields.of(m, q, ['exact', 'prefix']);
          if (h.has('exact') === h.has('prefix')) fail(q, 'needs exactly one of exact or prefix');
          return dropUndefined({ exact: h.string('exact'), prefix: h.string('prefix') });
        }),
      });
    }),
    metadata: f.object('metadata', (v, p) => {
      const g = Fields.of(v, p, ['annotations']);
      return dropUndefined({ annotations: g.stringMap('annotations') });
    }),
  };
  return dropUndefined(rule);
}

function isICMP(protocol: Protocol | undefined): boolean {
  return protocol === 'ICMP' || protocol === 'ICMPv6' || protocol === 1 || protocol === 58;
}

function checkICMP(value: unknown, path: string): ICMPFields {
  const g = Fields.of(value, path, ['type', 'code']);
  // 255 is reserved in both ICMP and ICMPv6 (and iptables uses it as "any").
  const type = g.int('type', 0, 254);
  const code = g.int('code', 0, 255);
  if (code !== undefined && type === undefined) fail(g.at('code'), 'needs a type as well');
  return dropUndefined({ type, code });
}

function checkEntityRule(value: unknown, path: string, protocol: Protocol | undefined, ipVersion: 4 | 6 | undefined, side: string): EntityRule {
  const f = Fields.of(value, path, [
    'nets', 'notNets', 'net', 'notNet', 'selector', 'notSelector', 'namespaceSelector', 'ports', 'notPorts', 'serviceAccounts', 'services',
  ]);
  const netList = (key: string) => {
    const list = f.list(key, (v, p) => {
      const text = checkString(v, p, checkNet);
      if (ipVersion !== undefined && parseNet(text)!.version !== ipVersion) fail(p, `${JSON.stringify(v)} is not IPv${ipVersion} as the rule's ipVersion says`);
      return text;
    });
    return list;
  };
  // Old single-valued `net`/`notNet` are folded into the lists, as Calico does.
  const single = (key: string) => {
    const s = f.string(key, checkNet);
    return s === undefined ? undefined : [s];
  };
  const nets = mergeLists(netList('nets'), single('net'));
  const notNets = mergeLists(netList('notNets'), single('notNet'));
  const ports = f.list('ports', checkPort);
  const notPorts = f.list('notPorts', checkPort);
  for (const key of ['ports', 'notPorts'] as const) {
    if (f.has(key) && !protocolHasPorts(protocol)) fail(f.at(key), `needs protocol TCP, UDP or SCTP in the ${side}'s rule`);
  }
  return dropUndefined({
    nets,
    notNets,
    selector: f.string('selector', checkSelector),
    notSelector: f.string('notSelector', checkSelector),
    namespaceSelector: f.string('namespaceSelector', checkSelector),
    ports,
    notPorts,
    serviceAccounts: f.object('serviceAccounts', (v, p) => {
      const g = Fields.of(v, p, ['names', 'selector']);
      return dropUndefined({ names: g.list('names', (n, q) => checkString(n, q)), selector: g.string('selector', checkSelector) });
    }),
    services: f.object('services', (v, p) => {
      const g = Fields.of(v, p, ['name', 'namespace']);
      return dropUndefined({ name: g.requiredString('name'), namespace: g.string('namespace') });
    }),
  });
}

function mergeLists(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a) return b;
  if (!b) return a;
  return [...a, ...b];
}

/** `labelsToApply` and similar label maps. */
export function checkLabels(f: Fields, key: string): Record<string, string> | undefined {
  return f.stringMap(key, checkLabelKey, checkLabelValue);
}
