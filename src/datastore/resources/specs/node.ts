/** Node: one host running `tortie node`, with its BGP addresses and AS. */
import { checkASNumber, checkIP, checkIPWithPrefix, checkMAC } from '../checks.js';
import { dropUndefined, Fields } from '../../../common/fields.js';
import type { NodeSpec } from '../types.js';

export function validateNodeSpec(value: unknown, path: string): NodeSpec {
  const f = Fields.of(value ?? {}, path, ['bgp', 'ipv4VXLANTunnelAddr', 'ipv6VXLANTunnelAddr', 'vxlanTunnelMACAddr', 'addresses', 'orchRefs']);
  const spec: NodeSpec = {
    bgp: f.object('bgp', (v, p) => {
      const g = Fields.of(v, p, ['asNumber', 'ipv4Address', 'ipv6Address', 'ipv4IPIPTunnelAddr', 'routeReflectorClusterID']);
      return dropUndefined({
        asNumber: g.object('asNumber', checkASNumber),
        ipv4Address: g.string('ipv4Address', (s, q) => checkIPWithPrefix(s, q, 4)),
        ipv6Address: g.string('ipv6Address', (s, q) => checkIPWithPrefix(s, q, 6)),
        ipv4IPIPTunnelAddr: g.string('ipv4IPIPTunnelAddr', (s, q) => checkIP(s, q, 4)),
        // A cluster ID is written as an IPv4 address (a 32-bit number), as in BIRD.
        routeReflectorClusterID: g.string('routeReflectorClusterID', (s, q) => checkIP(s, q, 4)),
      });
    }),
    ipv4VXLANTunnelAddr: f.string('ipv4VXLANTunnelAddr', (s, p) => checkIP(s, p, 4)),
    ipv6VXLANTunnelAddr: f.string('ipv6VXLANTunnelAddr', (s, p) => checkIP(s, p, 6)),
    vxlanTunnelMACAddr: f.string('vxlanTunnelMACAddr', checkMAC),
    addresses: f.list('addresses', (v, p) => {
      const g = Fields.of(v, p, ['address', 'type']);
      return dropUndefined({
        address: g.requiredString('address', (s, q) => checkIPWithPrefix(s, q, s.includes(':') ? 6 : 4)),
        type: g.oneOf('type', ['InternalIP', 'ExternalIP', 'CalicoNodeIP'] as const),
      });
    }),
    orchRefs: f.list('orchRefs', (v, p) => {
      const g = Fields.of(v, p, ['nodeName', 'orchestrator']);
      return dropUndefined({ nodeName: g.string('nodeName'), orchestrator: g.requiredString('orchestrator') });
    }),
  };
  if (spec.bgp) dropUndefined(spec.bgp);
  return dropUndefined(spec);
}
