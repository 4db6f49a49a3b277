/** BGPPeer: who the nodes (all, one, or a selection) peer with: an address or other nodes. */
import { checkASNumber, checkDuration, checkIP, checkIPPort, checkName, checkSelector } from '../checks.js';
import { checkString, dropUndefined, fail, Fields } from '../../../common/fields.js';
import type { BGPPeerSpec } from '../types.js';
import { checkBGPPassword } from './password.js';

export function validateBGPPeerSpec(value: unknown, path: string): BGPPeerSpec {
  const f = Fields.of(value, path, [
    'node', 'nodeSelector', 'peerIP', 'asNumber', 'peerSelector', 'keepOriginalNextHop', 'password',
    'sourceAddress', 'maxRestartTime', 'numAllowedLocalASNumbers', 'ttlSecurity', 'filters', 'reachableBy',
  ]);
  const spec: BGPPeerSpec = {
    node: f.string('node', checkName),
    nodeSelector: f.string('nodeSelector', checkSelector),
    peerIP: f.string('peerIP', checkIPPort),
    asNumber: f.object('asNumber', checkASNumber),
    peerSelector: f.string('peerSelector', checkSelector),
    keepOriginalNextHop: f.bool('keepOriginalNextHop'),
    password: f.object('password', checkBGPPassword),
    sourceAddress: f.oneOf('sourceAddress', ['UseNodeIP', 'None'] as const),
    maxRestartTime: f.string('maxRestartTime', checkDuration),
    numAllowedLocalASNumbers: f.int('numAllowedLocalASNumbers', 0, 10),
    ttlSecurity: f.int('ttlSecurity', 0, 255),
    filters: f.list('filters', (v, p) => checkString(v, p, checkName)),
    reachableBy: f.string('reachableBy', (s, p) => checkIP(s, p)),
  };
  if (spec.node && spec.nodeSelector) fail(f.at('nodeSelector'), 'cannot be set together with node');
  if (spec.peerSelector) {
    if (spec.peerIP) fail(f.at('peerIP'), 'cannot be set together with peerSelector');
    if (spec.asNumber !== undefined) fail(f.at('asNumber'), 'cannot be set together with peerSelector (the AS comes from each peer node)');
  } else {
    if (!spec.peerIP) fail(f.at('peerIP'), 'is required (or peerSelector)');
    if (spec.asNumber === undefined) fail(f.at('asNumber'), 'is required with peerIP');
  }
  return dropUndefined(spec);
}
