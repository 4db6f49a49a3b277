/**
 * Loader for golden vectors in test/fixtures/bgp/*.hex: one whole BGP message per line in
 * hex (spaces allowed), `#` comment lines. A comment `# @wire as4 addpath=1/1 ...` sets the
 * session wire format for the lines after it (tokens: as4, extmsg, addpath=AFI/SAFI,
 * enh=AFI/SAFI for RFC 8950); `# @wire plain` resets it. Captured FRR sessions are usually
 * `# @wire as4`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { familyKey, MAX_EXTENDED_MESSAGE_LENGTH, PLAIN_WIRE_FORMAT, wireFormat, type SessionWireFormat } from '../../../../src/bgp/wire/index.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../fixtures/bgp/', import.meta.url));

export interface GoldenVector {
  file: string;
  line: number;
  /** The comment line just above, if any: what the vector is. */
  note: string;
  message: Buffer;
  wire: SessionWireFormat;
}

export function parseWireDirective(text: string): SessionWireFormat {
  const tokens = text.trim().split(/\s+/).filter((t) => t !== '' && t !== 'plain');
  let as4 = false;
  let ext = false;
  const addPath = new Set<number>();
  const enh = new Set<number>();
  for (const t of tokens) {
    const [name, arg] = t.split('=');
    const fam = arg?.split('/').map(Number);
    const key = fam !== undefined && fam.length === 2 ? familyKey(fam[0] ?? 0, fam[1] ?? 0) : undefined;
    if (name === 'as4') as4 = true;
    else if (name === 'extmsg') ext = true;
    else if (name === 'addpath' && key !== undefined) addPath.add(key);
    else if (name === 'enh' && key !== undefined) enh.add(key);
    else throw new Error(`unknown @wire token ${t}`);
  }
  if (tokens.length === 0) return PLAIN_WIRE_FORMAT;
  return wireFormat({
    as4,
    maxReceiveLength: ext ? MAX_EXTENDED_MESSAGE_LENGTH : 4096,
    maxSendLength: ext ? MAX_EXTENDED_MESSAGE_LENGTH : 4096,
    addPathReceive: addPath,
    addPathSend: addPath,
    extendedNextHop: enh,
  });
}

export function parseHexFile(file: string, text: string): GoldenVector[] {
  const out: GoldenVector[] = [];
  let wire = PLAIN_WIRE_FORMAT;
  let note = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const body = line.slice(1).trim();
      if (body.startsWith('@wire')) wire = parseWireDirective(body.slice(5));
      else note = body;
      return;
    }
    const hex = line.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new Error(`${file}:${i + 1}: not hex`);
    out.push({ file, line: i + 1, note, message: Buffer.from(hex, 'hex'), wire });
    note = '';
  });
  return out;
}

export function loadGoldenVectors(dir = FIXTURE_DIR): GoldenVector[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .flatMap((f) => parseHexFile(f, readFileSync(join(dir, f), 'utf8')));
}
