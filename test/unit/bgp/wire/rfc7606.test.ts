/**
 * Each RFC 7606 (and RFC 4271 / 4760 / 6793 / 8092) error case gives its action. Messages
 * are built by hand from attribute bytes so that the encoder cannot hide a mistake.
 */
import { expect } from 'chai';
import { decodeMessage, decodeUpdate, PLAIN_WIRE_FORMAT, wireFormat, type WireAction } from '../../../../src/bgp/wire/index.js';

const AS4 = wireFormat({ as4: true });
const ORIGIN = '40010100';
const AS_PATH4 = '4002060201' + '0000fde9';
const NEXT_HOP = '4003040a000001';
const GOOD = ORIGIN + AS_PATH4 + NEXT_HOP;
const NLRI = '080a'; // 10.0.0.0/8

function update(attrsHex: string, nlriHex = NLRI, withdrawnHex = ''): Buffer {
  const attrs = Buffer.from(attrsHex, 'hex');
  const nlri = Buffer.from(nlriHex, 'hex');
  const wd = Buffer.from(withdrawnHex, 'hex');
  const body = Buffer.concat([u16(wd.length), wd, u16(attrs.length), attrs, nlri]);
  return Buffer.concat([Buffer.alloc(16, 0xff), u16(19 + body.length), Buffer.from([2]), body]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function verdict(msg: Buffer, wire = AS4): { action: WireAction | null; codes: string[] } {
  const r = decodeUpdate(msg, wire);
  return { action: r.action, codes: r.problems.map((p) => `${p.code}/${p.subcode}`) };
}

describe('bgp/wire RFC 7606 error handling', () => {
  it('a clean UPDATE has no problems', () => {
    expect(verdict(update(GOOD))).to.deep.equal({ action: null, codes: [] });
  });

  const cases: [string, string, WireAction, string][] = [
    ['ORIGIN value 3 (§7.1)', '40010103' + AS_PATH4 + NEXT_HOP, 'treat-as-withdraw', '3/6'],
    ['ORIGIN length 2 (§7.1)', '4001020000' + AS_PATH4 + NEXT_HOP, 'treat-as-withdraw', '3/5'],
    ['AS_PATH unknown segment type (§7.2)', ORIGIN + '4002060501' + '0000fde9' + NEXT_HOP, 'treat-as-withdraw', '3/11'],
    ['AS_PATH zero-length segment (§7.2)', ORIGIN + '4002020200' + NEXT_HOP, 'treat-as-withdraw', '3/11'],
    ['AS_PATH overrun (§7.2)', ORIGIN + '4002060202' + '0000fde9' + NEXT_HOP, 'treat-as-withdraw', '3/11'],
    ['AS_PATH one trailing octet (§7.2)', ORIGIN + '400207020100' + '00fde902' + NEXT_HOP, 'treat-as-withdraw', '3/11'],
    ['NEXT_HOP length 5 (§7.3)', GOOD.slice(0, -14) + '4003050a00000100', 'treat-as-withdraw', '3/5'],
    ['MED length 2 (§7.4)', GOOD + '80040200ff', 'treat-as-withdraw', '3/5'],
    ['LOCAL_PREF length 3 (§7.5)', GOOD + '400503000064', 'treat-as-withdraw', '3/5'],
    ['ATOMIC_AGGREGATE length 1 (§7.6)', GOOD + '40060100', 'attribute-discard', '3/5'],
    ['AGGREGATOR length 6 on a 4-octet session (§7.7)', GOOD + 'c00706fde90a000001', 'attribute-discard', '3/5'],
    ['COMMUNITIES length 3 (§7.8)', GOOD + 'c008030000ff', 'treat-as-withdraw', '3/9'],
    ['ORIGINATOR_ID length 0 (§7.9)', GOOD + '800900', 'treat-as-withdraw', '3/5'],
    ['CLUSTER_LIST length 6 (§7.10)', GOOD + '800a06000000010000', 'treat-as-withdraw', '3/5'],
    ['LARGE_COMMUNITY length 8 (RFC 8092 §6)', GOOD + 'c020080000000100000002', 'treat-as-withdraw', '3/9'],
    ['ORIGIN marked optional: flags conflict (§3(c))', '80010100' + AS_PATH4 + NEXT_HOP, 'treat-as-withdraw', '3/4'],
    ['COMMUNITIES marked well-known: flags conflict on an attribute-discard type stays mild', GOOD + '40070800000001' + '0a000001', 'attribute-discard', '3/4'],
    ['duplicate MED: first kept (§3(g))', GOOD + '800404000000018004040000000' + '2', 'attribute-discard', '3/1'],
    ['duplicate MP_UNREACH_NLRI: session reset (§3(g))', GOOD + '800f03000201' + '800f03000201', 'session-reset', '3/1'],
    ['missing ORIGIN with NLRI (§3(d))', AS_PATH4 + NEXT_HOP, 'treat-as-withdraw', '3/3'],
    ['missing NEXT_HOP with NLRI (§3(d))', ORIGIN + AS_PATH4, 'treat-as-withdraw', '3/3'],
    ['unrecognized well-known attribute (RFC 4271 §6.3)', GOOD + '40630100', 'session-reset', '3/2'],
    ['attribute length overruns the section (§4)', GOOD + 'c0080800000001', 'treat-as-withdraw', '3/5'],
    ['two trailing bytes, too few for an attribute (§4)', GOOD + 'c008', 'treat-as-withdraw', '3/1'],
    ['MP_REACH_NLRI cut off by the section (§4): NLRI lost', GOOD + '800e20000201', 'session-reset', '3/1'],
    ['MP_REACH_NLRI next hop length 5 for IPv6 (§7.11)', GOOD + '800e0b000201052001db800000' + '0000', 'afi-safi-disable', '3/9'],
    ['MP_REACH_NLRI bad IPv6 prefix length (§5.3)', GOOD + '800e16000201' + '10' + '20010db8000000000000000000000001' + '00' + '81', 'afi-safi-disable', '3/9'],
    ['MP_UNREACH_NLRI too short for AFI/SAFI', GOOD + '800f020002', 'session-reset', '3/9'],
  ];
  for (const [name, attrs, action, code] of cases) {
    it(`${name} -> ${action}`, () => {
      const v = verdict(update(attrs));
      expect(v.action).to.equal(action);
      expect(v.codes).to.include(code);
    });
  }

  it('malformed AS4_PATH from a 2-octet peer -> attribute-discard (RFC 6793 §6)', () => {
    // AS4_PATH with segment type 5.
    const v = verdict(update(ORIGIN + '4002040201fde9' + NEXT_HOP + 'c0110602050000fde9'), PLAIN_WIRE_FORMAT);
    expect(v).to.deep.equal({ action: 'attribute-discard', codes: ['3/9'] });
    const r = decodeUpdate(update(ORIGIN + '4002040201fde9' + NEXT_HOP + 'c0110602050000fde9'), PLAIN_WIRE_FORMAT);
    expect(r.update!.attributes.asPath).to.deep.equal([{ type: 2, asns: [65001] }]);
  });

  it('keeps the first of a repeated attribute', () => {
    const r = decodeUpdate(update(GOOD + '80040400000001' + '80040400000002'), AS4);
    expect(r.update!.attributes.med).to.equal(1);
  });

  it('the strongest action wins when several problems exist (§3(c))', () => {
    const v = verdict(update('40010103' + AS_PATH4 + NEXT_HOP + '40060100'));
    expect(v.action).to.equal('treat-as-withdraw');
    expect(v.codes).to.have.members(['3/6', '3/5']);
  });

  it('a withdraw-only UPDATE needs no mandatory attributes', () => {
    expect(verdict(update('', '', '080a')).action).to.equal(null);
  });

  it('an NLRI field that cannot be parsed resets the session (§5.3)', () => {
    expect(verdict(update(GOOD, '21' + '0a000001')).codes).to.deep.equal(['3/10']); // /33
    expect(verdict(update(GOOD, '18' + '0a00')).action).to.equal('session-reset'); // /24 cut short
    expect(verdict(update(GOOD, '', '21' + '0a000001')).action).to.equal('session-reset');
  });

  it('lengths that do not add up reset the session with 3/1', () => {
    const m = update(GOOD);
    m.writeUInt16BE(200, 21); // total path attribute length past the end
    expect(verdict(m).codes).to.deep.equal(['3/1']);
    const w = update(GOOD);
    w.writeUInt16BE(200, 19); // withdrawn length past the end
    expect(verdict(w).codes).to.deep.equal(['3/1']);
  });

  it('decodeMessage turns a session-reset UPDATE into an error with the NOTIFICATION to send', () => {
    const r = decodeMessage(update(GOOD + '40630100'), AS4);
    expect(r.type).to.equal('error');
    if (r.type === 'error') {
      expect(r.action).to.equal('session-reset');
      expect([r.problems[0]?.code, r.problems[0]?.subcode]).to.deep.equal([3, 2]);
      expect(r.problems[0]?.data.toString('hex')).to.equal('40630100');
    }
    const t = decodeMessage(update('40010103' + AS_PATH4 + NEXT_HOP), AS4);
    expect(t.type === 'update' && t.action).to.equal('treat-as-withdraw');
  });
});
