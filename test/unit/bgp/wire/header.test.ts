import { expect } from 'chai';
import {
  encodeKeepalive,
  encodeNotification,
  encodeRouteRefresh,
  MessageFramer,
  scanMessage,
  writeHeader,
} from '../../../../src/bgp/wire/index.js';
import { loadGoldenVectors } from './fixtures.js';

function header(length: number, type: number, extra = 0): Buffer {
  const b = Buffer.alloc(Math.max(19, length) + extra);
  writeHeader(b, 0, length, type);
  return b;
}

describe('bgp/wire header and framing', () => {
  it('finds a KEEPALIVE', () => {
    const r = scanMessage(encodeKeepalive(), 0, 19, 4096);
    expect(r).to.deep.equal({ kind: 'message', type: 4, length: 19 });
  });

  it('reports a bad marker as 1/1 as soon as the byte arrives', () => {
    const b = Buffer.alloc(5, 0xff);
    b[3] = 0xfe;
    const r = scanMessage(b, 0, b.length, 4096);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect([r.problem.code, r.problem.subcode, r.problem.action]).to.deep.equal([1, 1, 'session-reset']);
  });

  it('reports a bad length as 1/2 with the length as data', () => {
    for (const [len, type] of [[18, 4], [20, 4], [28, 1], [22, 2], [20, 3], [4097, 2], [4097, 1]] as const) {
      const r = scanMessage(header(len, type), 0, 19, 4096);
      expect(r.kind, `${len}/${type}`).to.equal('error');
      if (r.kind === 'error') {
        expect([r.problem.code, r.problem.subcode]).to.deep.equal([1, 2]);
        expect(r.problem.data.readUInt16BE(0)).to.equal(len);
      }
    }
  });

  it('accepts messages up to 65535 only when extended messages are negotiated, and never for OPEN', () => {
    expect(scanMessage(header(5000, 2), 0, 19, 65535).kind).to.equal('incomplete');
    expect(scanMessage(header(5000, 2), 0, 19, 4096).kind).to.equal('error');
    expect(scanMessage(header(5000, 1), 0, 19, 65535).kind).to.equal('error');
  });

  it('reports an unknown type as 1/3 with the type as data', () => {
    const r = scanMessage(header(19, 9), 0, 19, 4096);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') {
      expect([r.problem.code, r.problem.subcode]).to.deep.equal([1, 3]);
      expect([...r.problem.data]).to.deep.equal([9]);
    }
  });

  it('splits a stream cut at every byte boundary into the same messages', () => {
    const msgs = [
      ...loadGoldenVectors().map((v) => v.message),
      encodeKeepalive(),
      encodeNotification({ code: 6, subcode: 2, data: Buffer.from([3, 0x61, 0x62, 0x63]) }),
      encodeRouteRefresh({ afi: 1, safi: 1, subtype: 0 }),
    ];
    const stream = Buffer.concat(msgs);
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new MessageFramer();
      const got: Buffer[] = [];
      for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
        f.push(part);
        for (let out = f.next(); out !== null; out = f.next()) {
          if (out.kind === 'error') throw new Error(`cut ${cut}: ${out.problem.reason}`);
          got.push(Buffer.from(out.message));
        }
      }
      expect(got.length, `cut ${cut}`).to.equal(msgs.length);
      got.forEach((m, i) => expect(m.equals(msgs[i] as Buffer), `cut ${cut} message ${i}`).to.equal(true));
      expect(f.buffered).to.equal(0);
    }
  });

  it('handles a stream fed one byte at a time', () => {
    const msgs = loadGoldenVectors().map((v) => v.message);
    const stream = Buffer.concat(msgs);
    const f = new MessageFramer();
    let n = 0;
    for (let i = 0; i < stream.length; i++) {
      f.push(stream.subarray(i, i + 1));
      for (let out = f.next(); out !== null; out = f.next()) {
        expect(out.kind).to.equal('message');
        n++;
      }
    }
    expect(n).to.equal(msgs.length);
  });

  it('stays failed after a header error', () => {
    const f = new MessageFramer();
    f.push(Buffer.concat([header(19, 9), encodeKeepalive()]));
    expect(f.next()?.kind).to.equal('error');
    expect(f.next()?.kind).to.equal('error');
  });
});
