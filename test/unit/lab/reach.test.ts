/** The policy verdicts behind the reachability matrix, against Calico's semantics. */
import { expect } from 'chai';
import { explain, inNet, renderMatrix, type Endpoint, type Policy } from '../../../src/lab/reach.js';

const ep = (name: string, app: string, ip: string): Endpoint => ({ name, namespace: 'default', labels: { app }, ip });
const web = ep('web-1', 'web', '10.65.0.1');
const db = ep('db-1', 'db', '10.65.0.2');
const client = ep('client-1', 'client', '10.65.1.1');
const dbFromWeb: Policy = { kind: 'NetworkPolicy', name: 'db-from-web', namespace: 'default', selector: "app == 'db'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] };

describe('lab reachability verdicts', () => {
  it('no policy: everyone reaches everyone', () => {
    expect(explain([], client, db).allowed).to.equal(true);
  });

  it('a policy selecting the destination for ingress allows what its rules allow and denies the rest, naming itself', () => {
    expect(explain([dbFromWeb], web, db).allowed).to.equal(true);
    const v = explain([dbFromWeb], client, db);
    expect(v.allowed).to.equal(false);
    expect(v.by).to.equal('default/db-from-web');
    expect(v.why).to.match(/no rule allows from client-1/);
    expect(explain([dbFromWeb], db, web).allowed).to.equal(true); // web is not selected
  });

  it('a NetworkPolicy applies only in its namespace; a GlobalNetworkPolicy everywhere', () => {
    const other: Policy = { ...dbFromWeb, namespace: 'prod' };
    expect(explain([other], client, db).allowed).to.equal(true);
    const global: Policy = { ...dbFromWeb, kind: 'GlobalNetworkPolicy', namespace: undefined, name: 'g' };
    expect(explain([global], client, db).by).to.equal('global/g');
  });

  it('egress is checked first, rules in policy order; Deny names the rule; TCP-only rules do not match a ping', () => {
    const noEgress: Policy = { kind: 'GlobalNetworkPolicy', name: 'client-out', order: 10, selector: "app == 'client'", types: ['Egress'], egress: [{ action: 'Deny', destination: { nets: ['10.65.0.0/24'] } }] };
    const v = explain([noEgress, dbFromWeb], client, db);
    expect(v).to.deep.include({ allowed: false, by: 'global/client-out' });
    expect(v.why).to.match(/egress rule 1 denies/);
    // Selected for egress and no rule decides: denied all the same (Calico's default deny).
    expect(explain([noEgress], client, ep('x', 'x', '10.66.0.1')).why).to.match(/no rule allows to x/);
    const tcpOnly: Policy = { ...dbFromWeb, ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'web'" } }] };
    expect(explain([tcpOnly], web, db).allowed).to.equal(false);
    const icmp: Policy = { ...dbFromWeb, ingress: [{ action: 'Allow', protocol: 'ICMP' }] };
    expect(explain([icmp], client, db).allowed).to.equal(true);
  });

  it('nets', () => {
    expect(inNet('10.65.1.7', '10.65.0.0/16')).to.equal(true);
    expect(inNet('10.66.1.7', '10.65.0.0/16')).to.equal(false);
    expect(inNet('1.2.3.4', '0.0.0.0/0')).to.equal(true);
  });

  it('renders the matrix with the denying policy, and marks disagreements', () => {
    const cells = [
      { from: 'a', to: 'a', expected: { allowed: true }, observed: true },
      { from: 'a', to: 'b', expected: { allowed: false, by: 'default/p', why: 'w' }, observed: false },
      { from: 'b', to: 'a', expected: { allowed: true }, observed: false },
      { from: 'b', to: 'b', expected: { allowed: true }, observed: true },
    ];
    const text = renderMatrix(cells, ['a', 'b']);
    expect(text).to.match(/a\s+-\s+✗/);
    expect(text).to.match(/b\s+✗!\s+-/);
    expect(text).to.include('a -> b: default/p: w');
    expect(text).to.include('b -> a: NOT expected');
  });
});
