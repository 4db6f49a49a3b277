// NOTIFICATION names and descriptions, and RFC 9003 shutdown communications.
import { expect } from 'chai';
import {
  decodeShutdownCommunication,
  describeNotification,
  encodeShutdownCommunication,
} from '../../../../src/bgp/fsm/index.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('bgp/fsm: describeNotification', () => {
  const cases: Array<[number, number, Uint8Array, string]> = [
    [2, 2, bytes(0xfd, 0xea), 'OPEN Message Error / Bad Peer AS (peer said 65002)'],
    [6, 2, encodeShutdownCommunication('maintenance'), 'Cease / Administrative Shutdown: "maintenance"'],
    [6, 4, bytes(), 'Cease / Administrative Reset'],
    [6, 7, bytes(), 'Cease / Connection Collision Resolution'],
    [6, 1, bytes(0, 1, 1, 0, 0, 3, 0xe8), 'Cease / Maximum Number of Prefixes Reached (IPv4 unicast, limit 1000)'],
    [4, 0, bytes(), 'Hold Timer Expired'],
    [5, 1, bytes(), 'Finite State Machine Error / Receive Unexpected Message in OpenSent State'],
    [1, 2, bytes(0x13, 0x88), 'Message Header Error / Bad Message Length (length 5000)'],
    [1, 3, bytes(9), 'Message Header Error / Bad Message Type (type 9)'],
    [3, 11, bytes(0x40, 2, 1), 'UPDATE Message Error / Malformed AS_PATH (data 400201)'],
    [8, 0, bytes(), 'Send Hold Timer Expired'],
    [42, 3, bytes(), 'Unknown error code 42 / subcode 3'],
    [2, 99, bytes(), 'OPEN Message Error / subcode 99'],
  ];
  for (const [code, subcode, data, text] of cases) {
    it(`${code}/${subcode} -> ${text}`, () => {
      expect(describeNotification(code, subcode, data)).to.equal(text);
    });
  }

  it('shows malformed shutdown communications as hex, without failing', () => {
    expect(describeNotification(6, 2, bytes(10, 0x61))).to.equal('Cease / Administrative Shutdown (malformed shutdown communication: 0a61)');
    expect(describeNotification(6, 2, bytes(2, 0xff, 0xfe))).to.match(/malformed/);
  });

  it('shortens long data', () => {
    expect(describeNotification(3, 1, new Uint8Array(100))).to.match(/… \(100 bytes\)\)$/);
  });
});

describe('bgp/fsm: shutdown communication (RFC 9003)', () => {
  it('round-trips UTF-8', () => {
    const data = encodeShutdownCommunication('Wartung – bis 18:00 ✓');
    expect(decodeShutdownCommunication(data)).to.deep.equal({ text: 'Wartung – bis 18:00 ✓' });
  });

  it('cuts at 255 bytes without breaking a character', () => {
    const text = 'é'.repeat(200); // 400 bytes
    const data = encodeShutdownCommunication(text);
    expect(data[0]).to.equal(254);
    expect(data.length).to.equal(255);
    const back = decodeShutdownCommunication(data) as { text: string };
    expect(back.text).to.equal('é'.repeat(127));
  });

  it('empty data or length 0 means no communication', () => {
    expect(decodeShutdownCommunication(bytes())).to.equal(undefined);
    expect(decodeShutdownCommunication(bytes(0))).to.equal(undefined);
  });
});
