import { expect } from 'chai';
import { parse } from 'yaml';
import { compileCalicoBgpFilter, compileCalicoBgpFilterChain, type RoutePolicy } from '../../../../src/bgp/policy/index.js';
import { accepted, acceptedBy, BASE_ATTRS, comm, deepFreeze, errorOf, route, seq } from './helpers.js';

/** The sample from Calico's BGPFilter reference page. */
const SAMPLE = parse(`
exportV4:
  - action: Accept
    matchOperator: In
    cidr: 77.0.0.0/16
    source: RemotePeers
  - action: Reject
    interface: '*.calico'
importV4:
  - action: Accept
    matchOperator: In
    cidr: 55.0.0.0/16
    prefixLength:
      min: 30
  - action: Reject
    matchOperator: NotIn
    cidr: 44.0.0.0/16
exportV6:
  - action: Reject
    source: RemotePeers
  - action: Reject
    interface: '*.calico'
importV6:
  - action: Accept
    matchOperator: Equal
    cidr: 5000::0/64
  - action: Reject
`) as unknown;

function filter(rulesYaml: string, family: 'v4' | 'v6' = 'v4', direction: 'import' | 'export' = 'import'): RoutePolicy {
  return compileCalicoBgpFilter({ [`${direction}${family === 'v4' ? 'V4' : 'V6'}`]: parse(rulesYaml) }, family, direction);
}

describe('Calico BGPFilter', () => {
  describe("the reference page's sample", () => {
    it('importV4: In with prefixLength.min, then NotIn, then the default Accept', () => {
      const p = compileCalicoBgpFilter(SAMPLE, 'v4', 'import');
      expect(acceptedBy(p, route('55.0.1.4/30'))).to.equal(true); // rule 1
      expect(acceptedBy(p, route('55.0.1.0/24'))).to.equal(false); // too short for rule 1; not in 44/16: rule 2 rejects
      expect(acceptedBy(p, route('44.0.1.0/24'))).to.equal(true); // in 44/16: no rule matches, default Accept
      expect(acceptedBy(p, route('2001:db8::/48'))).to.equal(true); // a V4 filter does not apply to IPv6
    });

    it('importV6: Equal, then a catch-all Reject', () => {
      const p = compileCalicoBgpFilter(SAMPLE, 'v6', 'import');
      expect(acceptedBy(p, route('5000::/64'))).to.equal(true);
      expect(acceptedBy(p, route('5000::/65'))).to.equal(false);
      expect(acceptedBy(p, route('5000::/48'))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
      expect(p.rejectAll).to.equal(false); // IPv4 routes still pass
    });

    it('exportV4: source RemotePeers and an interface glob', () => {
      const p = compileCalicoBgpFilter(SAMPLE, 'v4', 'export');
      expect(acceptedBy(p, route('77.0.1.0/24'))).to.equal(true); // learned from a peer
      expect(acceptedBy(p, route('77.0.1.0/24', { originated: true, interface: 'eth0' }))).to.equal(true); // default Accept
      expect(acceptedBy(p, route('77.0.1.0/24', { originated: true, interface: 'cali12.calico' }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { interface: 'vxlan.calico' }))).to.equal(false);
      expect(acceptedBy(p, route('10.0.0.0/8', { interface: 'x.calicoo' }))).to.equal(true); // glob is anchored
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true); // no interface: the glob cannot match
    });

    it('exportV6: source RemotePeers rejects what was learned, keeps what we originate', () => {
      const p = compileCalicoBgpFilter(SAMPLE, 'v6', 'export');
      expect(acceptedBy(p, route('2001:db8::/64'))).to.equal(false);
      expect(acceptedBy(p, route('2001:db8::/64', { originated: true }))).to.equal(true);
    });
  });

  it('no rules, or no spec for this direction, accepts everything unchanged', () => {
    const p = compileCalicoBgpFilter({ importV4: [] }, 'v4', 'export');
    expect(p.acceptAllUnchanged).to.equal(true);
    const input = route('10.0.0.0/8');
    expect(accepted(p.evaluate(input))).to.equal(input.attrs);
  });

  it('In without prefixLength takes the cidr and everything inside; max narrows it', () => {
    const p = filter('[{ action: Reject, matchOperator: In, cidr: 10.0.0.0/8 }, { action: Accept, cidr: 0.0.0.0/0, matchOperator: In, prefixLength: { max: 24 } }, { action: Reject }]');
    expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
    expect(acceptedBy(p, route('10.1.2.3/32'))).to.equal(false);
    expect(acceptedBy(p, route('11.1.2.0/24'))).to.equal(true);
    expect(acceptedBy(p, route('11.1.2.0/25'))).to.equal(false);
  });

  it('prefixLength.min below the cidr length is raised to it, as confd does', () => {
    const p = filter('[{ action: Reject, matchOperator: In, cidr: 10.1.0.0/16, prefixLength: { min: 8, max: 20 } }]');
    expect(acceptedBy(p, route('10.1.0.0/16'))).to.equal(false);
    expect(acceptedBy(p, route('10.1.0.0/20'))).to.equal(false);
    expect(acceptedBy(p, route('10.1.0.0/21'))).to.equal(true);
    expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
  });

  it('NotEqual and NotIn negate', () => {
    const ne = filter('[{ action: Reject, matchOperator: NotEqual, cidr: 10.0.0.0/8 }]');
    expect(acceptedBy(ne, route('10.0.0.0/8'))).to.equal(true);
    expect(acceptedBy(ne, route('10.0.0.0/9'))).to.equal(false);
    const ni = filter('[{ action: Accept, matchOperator: NotIn, cidr: 10.0.0.0/8 }, { action: Reject }]');
    expect(acceptedBy(ni, route('11.0.0.0/8'))).to.equal(true);
    expect(acceptedBy(ni, route('10.3.0.0/16'))).to.equal(false);
  });

  it('a cidr with host bits is taken as its network, like Go’s net.ParseCIDR', () => {
    const p = filter('[{ action: Reject, matchOperator: Equal, cidr: 77.0.0.1/16 }]');
    expect(acceptedBy(p, route('77.0.0.0/16'))).to.equal(false);
  });

  it('peerType, communities and asPathPrefix', () => {
    const ibgp = { address: '10.0.0.9', asn: 65000, ibgp: true };
    const p = filter('[{ action: Reject, peerType: iBGP }]');
    expect(acceptedBy(p, route('10.0.0.0/8', { peer: ibgp }))).to.equal(false);
    expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(true);
    const c = filter('[{ action: Reject, communities: { values: ["65000:2"] } }]');
    expect(acceptedBy(c, route('10.0.0.0/8'))).to.equal(false);
    expect(acceptedBy(c, route('10.0.0.0/8', { attrs: { ...BASE_ATTRS, communities: [comm('65000:3')] } }))).to.equal(true);
    const lc = filter('[{ action: Reject, communities: { values: ["1:2:3"] } }]');
    expect(acceptedBy(lc, route('10.0.0.0/8', { attrs: { ...BASE_ATTRS, largeCommunities: [{ globalAdmin: 1, localData1: 2, localData2: 3 }] } }))).to.equal(false);
    expect(acceptedBy(lc, route('10.0.0.0/8'))).to.equal(true);
    const a = filter('[{ action: Reject, asPathPrefix: [65001, "65002"] }]');
    expect(acceptedBy(a, route('10.0.0.0/8'))).to.equal(false);
    expect(acceptedBy(a, route('10.0.0.0/8', { attrs: { ...BASE_ATTRS, asPath: [seq(65002, 65001)] } }))).to.equal(true);
  });

  it('operations addCommunity (standard and large) and prependASPath, without touching the input', () => {
    const attrs = deepFreeze(structuredClone(BASE_ATTRS));
    const p = filter(`
- action: Accept
  matchOperator: In
  cidr: 10.0.0.0/8
  operations:
    - addCommunity: { value: "65000:100" }
    - addCommunity: { value: "65000:1:2" }
    - prependASPath: { prefix: [65000, 65010] }
`, 'v4', 'export');
    const out = accepted(p.evaluate(route('10.1.0.0/16', { attrs })));
    expect(out.communities).to.deep.equal([comm('65000:1'), comm('65000:2'), comm('65000:100')]);
    expect(out.largeCommunities).to.deep.equal([{ globalAdmin: 65000, localData1: 1, localData2: 2 }]);
    expect(out.asPath).to.deep.equal([seq(65000, 65010, 65001, 65002)]);
    expect(attrs).to.deep.equal(BASE_ATTRS);
    // A route outside the cidr falls through to the default Accept, unchanged.
    expect(accepted(p.evaluate(route('11.0.0.0/8', { attrs })))).to.equal(attrs);
  });

  it("a peer's filters run in order: a filter that falls through hands over to the next", () => {
    const chain = compileCalicoBgpFilterChain([
      { name: 'a', spec: { importV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.0.0.0/8' }] } },
      { name: 'b', spec: { importV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8' }, { action: 'Reject' }], importV6: [{ action: 'Reject', matchOperator: 'In', cidr: '2001:db8::/32' }] } },
    ], 'import');
    expect(chain.name).to.equal('a+b');
    expect(acceptedBy(chain, route('10.1.0.0/16'))).to.equal(false); // a rejects first
    expect(acceptedBy(chain, route('11.1.0.0/16'))).to.equal(false); // a falls through, b's catch-all rejects
    expect(acceptedBy(chain, route('2001:db8:1::/48'))).to.equal(false); // b's V6 rule
    expect(acceptedBy(chain, route('2001:db9::/48'))).to.equal(true); // nothing matches: Accept
  });

  describe('validation, with field paths', () => {
    const cases: [unknown, 'import' | 'export', string][] = [
      [{ importV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] }, 'import', 'spec.importV4[0].matchOperator: cidr and matchOperator must both be set or both be empty'],
      [{ importV4: [{ action: 'Accept', matchOperator: 'In' }] }, 'import', 'spec.importV4[0].cidr: cidr and matchOperator must both be set or both be empty'],
      [{ importV4: [{ action: 'Accept', prefixLength: { min: 24 } }] }, 'import', 'spec.importV4[0].prefixLength: cidr is required when prefixLength is set'],
      [{ importV4: [{ action: 'Accept', matchOperator: 'In', cidr: '2001:db8::/32' }] }, 'import', 'spec.importV4[0].cidr: "2001:db8::/32" is not an IPv4 CIDR'],
      [{ importV4: [{ action: 'Accept', matchOperator: 'Within', cidr: '10.0.0.0/8' }] }, 'import', 'spec.importV4[0].matchOperator: "Within" is not one of Equal, NotEqual, In, NotIn'],
      [{ importV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8', prefixLength: { max: 33 } }] }, 'import', 'spec.importV4[0].prefixLength.max: 33 is out of range 0-32'],
      [{ importV4: [{ action: 'Accept', source: 'RemotePeers' }] }, 'import', 'spec.importV4[0].source: is not applicable to import rules: every imported route comes from a peer'],
      [{ exportV4: [{ action: 'Reject', operations: [{ prependASPath: { prefix: [1] } }] }] }, 'export', 'spec.exportV4[0].operations: may only be used with action Accept'],
      [{ exportV4: [{ action: 'Accept', operations: [{ addCommunity: { value: '1:1' }, prependASPath: { prefix: [1] } }] }] }, 'export', 'spec.exportV4[0].operations[0]: must set exactly one of addCommunity, prependASPath, setPriority (not addCommunity and prependASPath)'],
      [{ exportV4: [{ action: 'Accept', operations: [{ setPriority: { value: 512 } }] }] }, 'export', 'spec.exportV4[0].operations[0].setPriority: is not supported by tortie: route priority is a kernel metric, not a BGP attribute'],
      [{ exportV4: [{ action: 'Accept', priority: 512 }] }, 'export', 'spec.exportV4[0].priority: is not supported by tortie: route priority is a kernel metric, not a BGP attribute'],
      [{ exportV4: [{ action: 'Drop' }] }, 'export', 'spec.exportV4[0].action: "Drop" is not one of Accept, Reject'],
      [{ exportV4: [{ matchOperator: 'In', cidr: '10.0.0.0/8' }] }, 'export', 'spec.exportV4[0].action: is required'],
      [{ exportV4: [{ action: 'Accept', communities: { values: ['65000:65536'] } }] }, 'export', 'spec.exportV4[0].communities.values[0]: "65000:65536" is not a community (A:B with A and B 0-65535, or no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown)'],
      [{ exportV4: [{ action: 'Accept', asPathPrefix: ['AS65000'] }] }, 'export', 'spec.exportV4[0].asPathPrefix[0]: "AS65000" is not an AS number'],
      [{ exportv4: [] }, 'export', 'spec.exportv4: unknown field (did you mean exportV4?)'],
    ];
    for (const [spec, direction, message] of cases) {
      it(`refuses: ${message.split(':')[0]}${message.includes('operations') ? ' (operations)' : ''} ${message.slice(message.indexOf(':') + 2, message.indexOf(':') + 40)}`, () => {
        expect(errorOf(() => compileCalicoBgpFilter(spec, 'v4', direction))).to.equal(message);
      });
    }

    it('uses the given path and names the filter in a chain', () => {
      expect(errorOf(() => compileCalicoBgpFilter({ importV6: [{ action: 'x' }] }, 'v6', 'import', { path: 'my-filter.spec' })))
        .to.equal('my-filter.spec.importV6[0].action: "x" is not one of Accept, Reject');
      expect(errorOf(() => compileCalicoBgpFilterChain([{ name: 'f1', spec: { exportV6: [{ action: 'x' }] } }], 'export')))
        .to.equal('BGPFilter "f1": spec.exportV6[0].action: "x" is not one of Accept, Reject');
    });

    it('accepts lower-case actions as older Calico examples write them, and asdot ASNs', () => {
      const p = filter('[{ action: reject, asPathPrefix: ["0.65001"] }]');
      expect(acceptedBy(p, route('10.0.0.0/8'))).to.equal(false);
    });
  });
});
