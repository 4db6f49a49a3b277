/**
 * The DNS answer for one query message: pure (no I/O, no clock), bytes in, bytes out.
 *
 * The server is authoritative for one zone (default `tortie.local`) and nothing else; it is
 * not a recursor:
 *
 *   NAME.NAMESPACE.<zone>                    A, AAAA (ANY: both) from the workload's records
 *   _PORT._PROTO.NAME.NAMESPACE.<zone>       SRV 0 0 PORT NAME.NAMESPACE.<zone>, the target's
 *                                            A/AAAA in the additional section
 *   <zone>                                   SOA (other types: NODATA)
 *   NAMESPACE.<zone>, _PROTO.NAME.NAMESPACE  empty non-terminals: NODATA when something lies
 *                                            below them (RFC 8020), else NXDOMAIN
 *
 * RCODEs: NOERROR (answers, or NODATA: no answer, SOA in authority), NXDOMAIN (SOA in
 * authority, for negative caching: RFC 2308), REFUSED (outside the zone, zone transfers,
 * classes other than IN), FORMERR (undecodable, not one question, several OPT records),
 * NOTIMP (opcodes other than QUERY), SERVFAIL (the zone is not loaded yet), BADVERS (EDNS
 * version above 0). Messages shorter than a header, and responses, get no answer at all.
 *
 * Flags: QR, AA on authoritative answers (not on REFUSED/FORMERR/NOTIMP), RD copied, RA never
 * (no recursion), opcode copied. Over UDP an answer longer than 512 bytes (or the client's
 * EDNS size, capped at ours) goes back as the question alone with TC set; the client asks
 * again over TCP, where nothing is truncated below 65535 bytes.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import { ipv4FromString } from '../common/ip.js';
import type { DnsRecord } from './records.js';

export interface ZoneView {
  /** False until the records are loaded: in-zone queries get SERVFAIL meanwhile. */
  readonly ready: boolean;
  /** Records of NAME.NAMESPACE (lower case), one per host that has the workload. */
  lookup(namespace: string, name: string): readonly DnsRecord[];
  /** Whether any workload lives in this namespace (lower case). */
  hasNamespace(namespace: string): boolean;
  /** The SOA serial (e.g. the store revision the cache is at, modulo 2^32). */
  serial(): number;
}

export interface AnswerConfig {
  /** The zone, lower case, without a trailing dot: `tortie.local`. */
  domain: string;
  /** TTL of answers and of negative answers (SOA minimum), in seconds. */
  ttlSeconds: number;
  /** Largest UDP answer we send to an EDNS client, and advertise (default 1232). */
  maxUdpSize?: number;
}

export type Transport = 'udp' | 'tcp';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Extended RCODE 16 (upper 8 bits in the OPT record, lower 4 in the header). */
const BADVERS = 16;

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const HEADER_LENGTH = 12;
const CLASSIC_UDP_SIZE = 512;
const TCP_MAX = 65535;
export const DEFAULT_MAX_UDP_SIZE = 1232;

interface Reply {
  rcode: number;
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/**
 * The answer to one message, or null when none must be sent (shorter than a header, or a
 * response rather than a query). Never throws on any input.
 */
export function answerMessage(message: Buffer, zone: ZoneView, config: AnswerConfig, transport: Transport): Buffer | null {
  if (message.length < HEADER_LENGTH) return null;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if (flags & QR) return null; // never answer a response (no loops between two servers)
  const opcode = (flags >> 11) & 0xf;
  const rd = flags & RD;
  const maxUdp = Math.max(CLASSIC_UDP_SIZE, config.maxUdpSize ?? DEFAULT_MAX_UDP_SIZE);

  const bare = (rcode: number): Buffer =>
    dnsPacket.encode({ type: 'response', id, flags: (opcode << 11) | rd | rcode, questions: [] });

  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return bare(RCODE.FORMERR);
  }
  if (opcode !== 0) return bare(RCODE.NOTIMP);
  const questions = query.questions ?? [];
  const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  if (questions.length !== 1 || opts.length > 1 || (query.answers?.length ?? 0) > 0) return bare(RCODE.FORMERR);
  const question = questions[0]!;
  const edns = opts[0];
  if (edns && edns.name !== '' && edns.name !== '.') return bare(RCODE.FORMERR); // OPT is owned by the root

  const ourOpt = (extendedRcode: number): OptAnswer => ({
    type: 'OPT',
    name: '.',
    udpPayloadSize: maxUdp,
    extendedRcode,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  });

  let reply: Reply;
  if (edns && edns.ednsVersion > 0) {
    reply = { rcode: BADVERS, authoritative: false, answers: [], authorities: [], additionals: [] };
  } else {
    reply = resolve(question, zone, config);
  }

  const header = (extraFlags: number): number => (opcode << 11) | rd | (reply.authoritative ? AA : 0) | (reply.rcode & 0xf) | extraFlags;
  const additionals = edns ? [...reply.additionals, ourOpt(reply.rcode >> 4)] : reply.additionals;
  const full: Packet = {
    type: 'response',
    id,
    flags: header(0),
    questions: [question],
    answers: reply.answers,
    authorities: reply.authorities,
    additionals,
  };
  const limit = transport === 'tcp' ? TCP_MAX : edns ? Math.max(CLASSIC_UDP_SIZE, Math.min(edns.udpPayloadSize, maxUdp)) : CLASSIC_UDP_SIZE;
  let encoded: Buffer;
  try {
    encoded = dnsPacket.encode(full);
  } catch {
    return bare(RCODE.SERVFAIL); // a record we cannot encode: not the client's fault
  }
  if (encoded.length <= limit) return encoded;
  // Too long for this transport: the question alone, with TC, so that the client asks over TCP.
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: header(TC),
    questions: [question],
    answers: [],
    authorities: [],
    additionals: edns ? [ourOpt(reply.rcode >> 4)] : [],
  });
}

function resolve(question: Question, zone: ZoneView, config: AnswerConfig): Reply {
  const refused: Reply = { rcode: RCODE.REFUSED, authoritative: false, answers: [], authorities: [], additionals: [] };
  const qname = question.name.replace(/\.$/, '');
  const lower = qname.toLowerCase();
  const domain = config.domain;
  const inZone = lower === domain || lower.endsWith(`.${domain}`);
  if (!inZone) return refused;
  if (question.class !== 'IN' && question.class !== 'ANY') return refused;
  if (question.type === 'AXFR' || question.type === 'IXFR') return refused;
  if (!zone.ready) return { rcode: RCODE.SERVFAIL, authoritative: false, answers: [], authorities: [], additionals: [] };

  const ttl = config.ttlSeconds;
  const soa: Answer = {
    type: 'SOA',
    name: domain,
    ttl,
    class: 'IN',
    data: {
      mname: `ns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: zone.serial() >>> 0,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: ttl,
    },
  };
  const nxdomain: Reply = { rcode: RCODE.NXDOMAIN, authoritative: true, answers: [], authorities: [soa], additionals: [] };
  const nodata: Reply = { rcode: RCODE.NOERROR, authoritative: true, answers: [], authorities: [soa], additionals: [] };
  const answer = (answers: Answer[], additionals: Answer[] = []): Reply =>
    answers.length === 0 ? nodata : { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [], additionals };

  const rel = lower === domain ? [] : lower.slice(0, lower.length - domain.length - 1).split('.');
  if (rel.some((l) => l === '')) return nxdomain;
  const type: string = question.type;

  if (rel.length === 0) {
    if (type === 'SOA' || type === 'ANY') return answer([{ ...soa, name: qname }]);
    return nodata;
  }
  if (rel.length === 1) return zone.hasNamespace(rel[0]!) ? nodata : nxdomain;

  if (rel.length === 2) {
    const records = zone.lookup(rel[1]!, rel[0]!);
    if (records.length === 0) return nxdomain;
    return answer(addressAnswers(qname, records, type, ttl));
  }

  if (rel.length === 3 || rel.length === 4) {
    const [svc, proto] = rel.length === 4 ? [rel[0]!, rel[1]!] : [undefined, rel[0]!];
    const name = rel[rel.length - 2]!;
    const namespace = rel[rel.length - 1]!;
    if (!proto.startsWith('_') || (svc !== undefined && !svc.startsWith('_'))) return nxdomain;
    const records = zone.lookup(namespace, name);
    const protocol = proto.slice(1);
    const ports = records.flatMap((r) => r.ports).filter((p) => p.protocol === protocol && (svc === undefined || p.name === svc.slice(1)));
    if (ports.length === 0) return nxdomain;
    if (svc === undefined) return nodata; // _tcp.NAME.NAMESPACE: an empty non-terminal
    if (type !== 'SRV' && type !== 'ANY') return nodata;
    const target = `${name}.${namespace}.${domain}`;
    const distinct = [...new Set(ports.map((p) => p.port))].sort((a, b) => a - b);
    const srv: Answer[] = distinct.map((port) => ({ type: 'SRV', name: qname, ttl, class: 'IN', data: { priority: 0, weight: 0, port, target } }));
    return answer(srv, addressAnswers(target, records, 'ANY', ttl));
  }
  return nxdomain;
}

function addressAnswers(owner: string, records: readonly DnsRecord[], type: string, ttl: number): Answer[] {
  const addresses = [...new Set(records.flatMap((r) => r.addresses))].sort();
  const out: Answer[] = [];
  for (const address of addresses) {
    const v4 = ipv4FromString(address) !== null;
    if (v4 && (type === 'A' || type === 'ANY')) out.push({ type: 'A', name: owner, ttl, class: 'IN', data: address });
    if (!v4 && (type === 'AAAA' || type === 'ANY')) out.push({ type: 'AAAA', name: owner, ttl, class: 'IN', data: address });
  }
  return out;
}
