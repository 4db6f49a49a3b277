import { expect } from 'chai';
import { CalcGraph } from '../../../src/felix/calc/graph.js';
import { chainName, CHAINS, ipsetName } from '../../../src/felix/calc/names.js';
import { renderRule } from '../../../src/felix/calc/rules.js';
import { selectorId } from '../../../src/selector/index.js';
import type { AnyResource, Rule } from '../../../src/datastore/resources/types.js';

const API = 'tortie.dev/v1';

function wep(name: string, ip: string, labels: Record<string, string>, extra: Record<string, unknown> = {}, ns = 'default'): AnyResource {
  return {
    apiVersion: API,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: ns, labels },
    spec: { node: 'n1', interfaceName: `tortie${name}`, ipNetworks: [`${ip}/32`], ...extra },
  } as AnyResource;
}

function np(name: string, spec: Record<string, unknown>, ns = 'default'): AnyResource {
  return { apiVersion: API, kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: { types: ['Ingress'], ...spec } } as AnyResource;
}

function filter(g: CalcGraph) {
  return g.desired().tables.find((t) => t.family === 4 && t.table === 'filter')!;
}

const ctx = { family: 4 as const, logPrefix: 'x:', selectorId };

describe('felix calc', () => {
  it('renders rule fields into iptables matches and ipsets', () => {
    const sets = new Map();
    const rule: Rule = {
      action: 'Allow',
      protocol: 'TCP',
      source: { selector: 'app == "a"', notNets: ['10.1.0.0/16'] },
      destination: { ports: [80, '8000:8010', 'http'] },
    };
    const specs = renderRule(rule, { ...ctx, namespace: 'ns1' }, sets);
    // numbers and the range share one multiport match; the named port is a second alternative
    expect(specs).to.have.length(3);
    expect(specs[0]).to.match(/^-p tcp ! -s 10\.1\.0\.0\/16 -m set --match-set tortie-s-\w+ src -m multiport --dports 80,8000:8010 -j MARK --set-xmark 0x10000\/0x10000$/);
    expect(specs[1]).to.match(/--match-set tortie-n-\w+ dst,dst -j MARK/);
    expect(specs[2]).to.equal('-m mark --mark 0x10000/0x10000 -j RETURN');
    const sel = [...sets.values()].find((s) => s.kind === 'selector');
    // a NetworkPolicy's rule selector is scoped to its namespace
    expect(sel.selector).to.equal('(projectcalico.org/namespace == "ns1") && (app == "a")');
  });

  it('skips a rule of the other family, and renders ICMP type/code and notProtocol', () => {
    const sets = new Map();
    expect(renderRule({ action: 'Deny', ipVersion: 6 }, ctx, sets)).to.deep.equal([]);
    expect(renderRule({ action: 'Deny', source: { nets: ['fd00::/64'] } }, ctx, sets)).to.deep.equal([]);
    expect(renderRule({ action: 'Deny', protocol: 'ICMP', icmp: { type: 8, code: 0 } }, ctx, sets)).to.deep.equal(['-p icmp -m icmp --icmp-type 8/0 -j DROP']);
    expect(renderRule({ action: 'Log', notProtocol: 'UDP' }, ctx, sets)).to.deep.equal(['! -p udp -j LOG --log-prefix x: --log-level 5']);
  });

  it('uses one -s per rule: nets beside a single notNet puts the notNet in a set', () => {
    const sets = new Map();
    const [spec] = renderRule({ action: 'Deny', destination: { nets: ['10.0.0.0/24'], notNets: ['10.0.0.2/32'] } }, ctx, sets);
    expect(spec).to.match(/^-d 10\.0\.0\.0\/24 -m set ! --match-set tortie-net-\w+ dst -j DROP$/);
    expect([...sets.values()][0].nets).to.deep.equal(['10.0.0.2/32']);
  });

  it('open without policy; default deny once a policy selects it; Pass goes to profiles', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    g.onUpdate(wep('a', '10.0.0.1', { app: 'a' }));
    let t = filter(g);
    const tw = chainName.toWorkload('tortiea');
    expect(t.chains.get(tw)!.some((r) => r.includes('DROP') && !r.includes('INVALID'))).to.equal(false);
    expect(t.chains.get(CHAINS.toWorkloadDispatch)).to.deep.equal([`-o tortiea -g ${tw}`, '-j DROP']);

    g.onUpdate(np('p1', { selector: 'app == "a"', ingress: [{ action: 'Pass' }] }));
    t = filter(g);
    const rules = t.chains.get(tw)!;
    expect(rules.at(-1)).to.equal('-j DROP');
    const group = rules.find((r) => r.includes('tortie-gi-'))!.split(' ')[1]!;
    expect(t.chains.get(group)).to.deep.equal([`-j ${chainName.policy('NetworkPolicy/default/p1', 'ingress')}`]);

    g.onUpdate({ apiVersion: API, kind: 'Profile', metadata: { name: 'prof' }, spec: { ingress: [{ action: 'Allow' }] } } as AnyResource);
    g.onUpdate(wep('a', '10.0.0.1', { app: 'a' }, { profiles: ['prof'] }));
    const after = filter(g).chains.get(tw)!;
    expect(after).to.include(`-j ${chainName.profile('prof', 'ingress')}`);
  });

  it('shares one group chain between endpoints with the same policies (rules grow with the sum)', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    for (let i = 0; i < 50; i++) g.onUpdate(wep(`w${i}`, `10.0.0.${i + 1}`, { app: 'x' }));
    const count = () => [...filter(g).chains.values()].reduce((n, c) => n + c.length, 0);
    for (let i = 0; i < 20; i++) g.onUpdate(np(`p${i}`, { selector: 'all()', ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [i + 1] } }] }));
    const with20 = count();
    for (let i = 20; i < 40; i++) g.onUpdate(np(`p${i}`, { selector: 'all()', ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [i + 1] } }] }));
    const with40 = count();
    // 20 more policies of 2 rules each, plus 2 jump rules each in the one shared group chain:
    // no growth per endpoint.
    expect(with40 - with20).to.equal(20 * 2 + 20 * 2);
  });

  it('fails closed: an unparseable policy selector denies the endpoints in its namespace', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    g.onUpdate(wep('a', '10.0.0.1', { app: 'a' }));
    g.onUpdate(wep('b', '10.0.0.2', { app: 'b' }, {}, 'other'));
    g.onUpdate(np('bad', { selector: 'app == ', ingress: [{ action: 'Allow' }] }));
    const d = g.desired();
    const t = d.tables.find((x) => x.table === 'filter')!;
    expect(t.chains.get(chainName.toWorkload('tortiea'))!.at(-1)).to.equal('-j DROP');
    expect(t.chains.get(chainName.toWorkload('tortieb'))!.some((r) => r === '-j DROP')).to.equal(false);
    expect(d.problems.join('\n')).to.match(/position/);
  });

  it('fills selector and named-port ipsets from endpoints on every host', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    g.onUpdate(wep('a', '10.0.0.1', { app: 'a' }));
    g.onUpdate({ ...wep('r', '10.0.9.9', { role: 'db' }, { node: 'n2', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] }) } as AnyResource);
    g.onUpdate(np('p', { selector: 'app == "a"', types: ['Egress'], egress: [{ action: 'Allow', protocol: 'TCP', destination: { selector: 'role == "db"', ports: ['pg'] } }] }));
    const d = g.desired();
    const sets = [...d.ipsets.values()];
    expect(sets.find((s) => s.type === 'hash:net')!.members).to.deep.equal(new Set(['10.0.9.9']));
    expect(sets.find((s) => s.type === 'hash:ip,port')!.members).to.deep.equal(new Set(['10.0.9.9,tcp:5432']));
    expect(d.routes.size).to.equal(1); // only the local workload gets a route
  });

  it('namespaceSelector matches namespace labels from the kns.<ns> profile', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    g.onUpdate({ apiVersion: API, kind: 'Profile', metadata: { name: 'kns.prod' }, spec: { labelsToApply: { env: 'prod' } } } as AnyResource);
    g.onUpdate(wep('x', '10.0.1.1', {}, {}, 'prod'));
    g.onUpdate(wep('y', '10.0.1.2', {}, {}, 'dev'));
    g.onUpdate(wep('target', '10.0.1.3', {}));
    g.onUpdate(np('p', { selector: 'all()', ingress: [{ action: 'Allow', source: { namespaceSelector: 'env == "prod"' } }] }));
    const set = [...g.desired().ipsets.values()].find((s) => s.name.startsWith('tortie-s-'))!;
    expect(set.members).to.deep.equal(new Set(['10.0.1.1']));
  });

  it('masquerades natOutgoing pools and blackholes local blocks', () => {
    const g = new CalcGraph({ nodeName: 'n1', ipv6: false });
    g.onUpdate({ apiVersion: API, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', natOutgoing: true, disabled: false } } as AnyResource);
    g.setLocalBlocks(['10.0.3.0/26']);
    const d = g.desired();
    expect(d.ipsets.get(ipsetName.masqPools(4))!.members).to.deep.equal(new Set(['10.0.0.0/16']));
    expect(d.tables.find((t) => t.table === 'nat')!.hooks.get('POSTROUTING')).to.deep.equal(['-j tortie-POSTROUTING']);
    expect([...d.routes.values()]).to.deep.equal([{ family: 4, dst: '10.0.3.0/26', type: 'blackhole' }]);
  });
});
