import { expect } from 'chai';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { answerMessage, RCODE, type AnswerConfig, type ZoneView } from '../../../src/dns/message.js';
import type { DnsRecord } from '../../../src/dns/records.js';

function zoneOf(records: DnsRecord[], ready = true): ZoneView {
  return {
    ready,
    lookup: (ns, name) => records.filter((r) => r.namespace === ns && r.name === name),
    hasNamespace: (ns) => records.some((r) => r.namespace === ns),
    serial: () => 42,
  };
}

const WEB: DnsRecord = {
  name: 'web',
  namespace: 'prod',
  node: 'host-a',
  addresses: ['10.65.0.7', 'fd00:65::7'],
  ports: [
    { name: 'http', protocol: 'tcp', port: 8080 },
    { name: 'dns', protocol: 'udp', port: 53 },
  ],
};
const WEB_B: DnsRecord = { ...WEB, node: 'host-b', addresses: ['10.65.1.9'], ports: [{ name: 'http', protocol: 'tcp', port: 8080 }] };
const ZONE = zoneOf([WEB, WEB_B]);
const CONFIG: AnswerConfig = { domain: 'tortie.local', ttlSeconds: 5 };

function query(name: string, type: Question['type'], extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 0x1234, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], ...extra });
}

function ask(msg: Buffer, zone: ZoneView = ZONE, transport: 'udp' | 'tcp' = 'udp', config = CONFIG): DecodedPacket & { rcode: string } {
  const out = answerMessage(msg, zone, config, transport);
  expect(out, 'an answer').to.not.equal(null);
  return dnsPacket.decode(out!) as DecodedPacket & { rcode: string };
}

const data = (answers: Answer[] | undefined, type: string) => (answers ?? []).filter((a) => a.type === type).map((a) => (a as { data: unknown }).data);

describe('dns: message handling', function () {
  it('answers A with every host\'s IPv4 addresses, authoritative, RD copied, no RA, TTL as configured', function () {
    const r = ask(query('web.prod.tortie.local', 'A'));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.id).to.equal(0x1234);
    expect(r.flag_qr).to.equal(true);
    expect(r.flag_aa).to.equal(true);
    expect(r.flag_rd).to.equal(true);
    expect(r.flag_ra).to.equal(false);
    expect(r.flag_tc).to.equal(false);
    expect(r.questions).to.deep.equal([{ name: 'web.prod.tortie.local', type: 'A', class: 'IN' }]);
    expect(data(r.answers, 'A')).to.deep.equal(['10.65.0.7', '10.65.1.9']);
    expect(r.answers!.every((a) => (a as { ttl: number }).ttl === 5)).to.equal(true);
    expect(r.authorities).to.deep.equal([]);
  });

  it('answers AAAA with the IPv6 addresses only', function () {
    const r = ask(query('web.prod.tortie.local', 'AAAA'));
    expect(r.rcode).to.equal('NOERROR');
    expect(data(r.answers, 'AAAA')).to.deep.equal(['fd00:65::7']);
    expect(data(r.answers, 'A')).to.deep.equal([]);
  });

  it('is case-insensitive, and echoes the question as asked (0x20)', function () {
    const r = ask(query('WeB.PROD.Tortie.LOCAL', 'A'));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.questions![0]!.name).to.equal('WeB.PROD.Tortie.LOCAL');
    expect(data(r.answers, 'A')).to.deep.equal(['10.65.0.7', '10.65.1.9']);
  });

  it('SRV for a named port: 0 0 PORT NAME.NAMESPACE.zone, with the target\'s A/AAAA as additionals', function () {
    const r = ask(query('_http._tcp.web.prod.tortie.local', 'SRV'));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.flag_aa).to.equal(true);
    expect(data(r.answers, 'SRV')).to.deep.equal([{ priority: 0, weight: 0, port: 8080, target: 'web.prod.tortie.local' }]);
    expect(data(r.additionals, 'A')).to.deep.equal(['10.65.0.7', '10.65.1.9']);
    expect(data(r.additionals, 'AAAA')).to.deep.equal(['fd00:65::7']);
    expect(r.additionals!.every((a) => a.name === 'web.prod.tortie.local')).to.equal(true);
    const udp = ask(query('_dns._udp.web.prod.tortie.local', 'SRV'));
    expect(data(udp.answers, 'SRV')).to.deep.equal([{ priority: 0, weight: 0, port: 53, target: 'web.prod.tortie.local' }]);
  });

  it('NXDOMAIN with the zone\'s SOA in authority for unknown names, ports and protocols in the zone', function () {
    for (const name of ['nope.prod.tortie.local', 'web.staging.tortie.local', '_ftp._tcp.web.prod.tortie.local', '_http._udp.web.prod.tortie.local', 'a.b.c.d.e.tortie.local', 'staging.tortie.local', 'x.web.prod.tortie.local']) {
      const r = ask(query(name, 'A'));
      expect(r.rcode, name).to.equal('NXDOMAIN');
      expect(r.flag_aa, name).to.equal(true);
      expect(r.answers, name).to.deep.equal([]);
      expect(r.authorities!.map((a) => a.type), name).to.deep.equal(['SOA']);
      const soa = r.authorities![0] as { name: string; ttl: number; data: { minimum: number; serial: number } };
      expect(soa.name).to.equal('tortie.local');
      expect(soa.data.minimum).to.equal(5);
      expect(soa.data.serial).to.equal(42);
    }
  });

  it('NODATA (NOERROR, no answer, SOA in authority) for a known name without that type, and for empty non-terminals', function () {
    for (const [name, type] of [
      ['web.prod.tortie.local', 'MX'],
      ['web.prod.tortie.local', 'TXT'],
      ['_http._tcp.web.prod.tortie.local', 'A'],
      ['_tcp.web.prod.tortie.local', 'SRV'],
      ['prod.tortie.local', 'A'],
      ['tortie.local', 'A'],
    ] as const) {
      const r = ask(query(name, type));
      expect(r.rcode, `${name} ${type}`).to.equal('NOERROR');
      expect(r.answers, `${name} ${type}`).to.deep.equal([]);
      expect(r.authorities!.map((a) => a.type), `${name} ${type}`).to.deep.equal(['SOA']);
    }
    const v4only = zoneOf([{ ...WEB, addresses: ['10.65.0.7'] }]);
    const r = ask(query('web.prod.tortie.local', 'AAAA'), v4only);
    expect(r.rcode).to.equal('NOERROR');
    expect(r.answers).to.deep.equal([]);
  });

  it('answers SOA at the zone apex', function () {
    const r = ask(query('tortie.local', 'SOA'));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.answers!.map((a) => a.type)).to.deep.equal(['SOA']);
  });

  it('REFUSED, not authoritative, for names outside the zone, other classes and zone transfers', function () {
    for (const msg of [
      query('example.com', 'A'),
      query('nottortie.local', 'A'),
      query('local', 'A'),
      dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', name: 'version.tortie.local', class: 'CH' }] }),
      query('tortie.local', 'AXFR'),
    ]) {
      const r = ask(msg);
      expect(r.rcode).to.equal('REFUSED');
      expect(r.flag_aa).to.equal(false);
      expect(r.answers).to.deep.equal([]);
    }
  });

  it('FORMERR for undecodable messages and for not exactly one question; nothing for short messages and responses', function () {
    const garbage = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x41]);
    const r = ask(garbage);
    expect(r.rcode).to.equal('FORMERR');
    expect(r.id).to.equal(0xabcd);
    expect(r.flag_qr).to.equal(true);
    const none = dnsPacket.encode({ type: 'query', id: 9, questions: [] });
    expect(ask(none).rcode).to.equal('FORMERR');
    const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'web.prod.tortie.local' }, { type: 'A', name: 'web.prod.tortie.local' }] });
    expect(ask(two).rcode).to.equal('FORMERR');
    expect(answerMessage(Buffer.from([1, 2, 3]), ZONE, CONFIG, 'udp')).to.equal(null);
    const response = dnsPacket.encode({ type: 'response', id: 9, questions: [{ type: 'A', name: 'web.prod.tortie.local' }] });
    expect(answerMessage(response, ZONE, CONFIG, 'udp')).to.equal(null);
  });

  it('NOTIMP for opcodes other than QUERY', function () {
    const msg = query('web.prod.tortie.local', 'A');
    msg.writeUInt16BE(msg.readUInt16BE(2) | (2 << 11), 2); // STATUS
    const r = ask(msg);
    expect(r.rcode).to.equal('NOTIMP');
    expect((r as unknown as { opcode: string }).opcode).to.equal('STATUS');
  });

  it('SERVFAIL for in-zone names until the records are loaded; REFUSED stays REFUSED', function () {
    expect(ask(query('web.prod.tortie.local', 'A'), zoneOf([WEB], false)).rcode).to.equal('SERVFAIL');
    expect(ask(query('example.com', 'A'), zoneOf([WEB], false)).rcode).to.equal('REFUSED');
  });

  describe('size limits', function () {
    const many: DnsRecord = { ...WEB, name: 'big', addresses: Array.from({ length: 25 }, (_, i) => `10.66.0.${i + 1}`) };
    const BIG = zoneOf([many]);

    it('over UDP without EDNS, an answer above 512 bytes comes back as the question alone with TC', function () {
      const full = answerMessage(query('big.prod.tortie.local', 'A'), BIG, CONFIG, 'tcp')!;
      expect(full.length).to.be.greaterThan(512);
      const out = answerMessage(query('big.prod.tortie.local', 'A'), BIG, CONFIG, 'udp')!;
      expect(out.length).to.be.at.most(512);
      const r = dnsPacket.decode(out) as DecodedPacket & { rcode: string };
      expect(r.flag_tc).to.equal(true);
      expect(r.rcode).to.equal('NOERROR');
      expect(r.questions![0]!.name).to.equal('big.prod.tortie.local');
      expect(r.answers).to.deep.equal([]);
    });

    it('over TCP the same answer is whole, without TC', function () {
      const r = ask(query('big.prod.tortie.local', 'A'), BIG, 'tcp');
      expect(r.flag_tc).to.equal(false);
      expect(data(r.answers, 'A')).to.have.length(25);
    });

    it('EDNS: a client\'s larger UDP size lets the whole answer through, with an OPT record back', function () {
      const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
      const r = ask(query('big.prod.tortie.local', 'A', { additionals: [opt] }), BIG, 'udp');
      expect(r.flag_tc).to.equal(false);
      expect(data(r.answers, 'A')).to.have.length(25);
      const back = r.additionals!.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
      expect(back?.udpPayloadSize).to.equal(1232);
      // A smaller EDNS size than the answer still truncates.
      const small = ask(query('big.prod.tortie.local', 'A', { additionals: [{ ...opt, udpPayloadSize: 600 }] }), BIG, 'udp');
      expect(small.flag_tc).to.equal(true);
      expect(small.answers).to.deep.equal([]);
    });

    it('EDNS version above 0 gets BADVERS; two OPT records get FORMERR', function () {
      const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] };
      const out = answerMessage(query('web.prod.tortie.local', 'A', { additionals: [opt] }), ZONE, CONFIG, 'udp')!;
      const r = dnsPacket.decode(out);
      const back = r.additionals!.find((a) => a.type === 'OPT') as { extendedRcode: number };
      expect(((back.extendedRcode << 4) | (out.readUInt16BE(2) & 0xf))).to.equal(16);
      const two = query('web.prod.tortie.local', 'A', { additionals: [{ ...opt, ednsVersion: 0 }, { ...opt, ednsVersion: 0 }] });
      expect(ask(two).rcode).to.equal('FORMERR');
    });
  });

  it('never throws on random or mangled input (a small fuzz)', function () {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
    const base = [query('web.prod.tortie.local', 'A'), query('_http._tcp.web.prod.tortie.local', 'SRV'), query('example.com', 'AAAA')];
    let answered = 0;
    for (let i = 0; i < 5000; i++) {
      let msg: Buffer;
      if (i % 2 === 0) {
        msg = Buffer.from(base[i % base.length]!);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) msg[Math.floor(rand() * msg.length)] = Math.floor(rand() * 256);
        if (rand() < 0.3) msg = msg.subarray(0, Math.floor(rand() * msg.length));
      } else {
        msg = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      }
      const out = answerMessage(msg, ZONE, CONFIG, i % 3 === 0 ? 'tcp' : 'udp');
      if (out === null) continue;
      answered++;
      const r = dnsPacket.decode(out);
      expect(r.id).to.equal(msg.readUInt16BE(0));
      expect(r.type).to.equal('response');
      expect(out.length).to.be.at.most(i % 3 === 0 ? 65535 : 1232);
    }
    expect(answered).to.be.greaterThan(1000);
    void RCODE;
  });
});
