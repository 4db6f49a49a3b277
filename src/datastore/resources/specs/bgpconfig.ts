/**
 * BGPConfiguration: `default` holds the cluster's BGP settings; `node.<name>` overrides a few
 * of them for one node (Calico's convention).
 */
import { checkASNumber, checkCidr, checkDuration, checkName } from '../checks.js';
import { checkList, checkString, dropUndefined, fail, Fields } from '../../../common/fields.js';
import type { BGPConfigurationSpec, CidrBlock, Community } from '../types.js';
import { checkBGPPassword } from './password.js';

const SEVERITIES = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

function cidrBlocks(v: unknown, path: string): CidrBlock[] {
  return checkList(v, path, (item, p) => {
    const g = Fields.of(item, p, ['cidr']);
    return { cidr: g.requiredString('cidr', (s, q) => checkCidr(s, q)) };
  });
}

/** `aa:nn` (16-bit parts) or a large community `aa:nn:mm` (32-bit parts). */
export function checkCommunityValue(s: string, path: string): void {
  const parts = s.split(':');
  const ok =
    parts.every((x) => /^\d+$/.test(x)) &&
    ((parts.length === 2 && parts.every((x) => Number(x) <= 65535)) || (parts.length === 3 && parts.every((x) => Number(x) <= 4294967295)));
  if (!ok) fail(path, `${JSON.stringify(s)} is not a community (aa:nn with 16-bit parts, or aa:nn:mm with 32-bit parts)`);
}

export function validateBGPConfigurationSpec(value: unknown, path: string, name: string): BGPConfigurationSpec {
  const f = Fields.of(value ?? {}, path, [
    'logSeverityScreen', 'nodeToNodeMeshEnabled', 'asNumber', 'serviceClusterIPs', 'serviceExternalIPs',
    'serviceLoadBalancerIPs', 'listenPort', 'communities', 'prefixAdvertisements', 'nodeMeshPassword',
    'nodeMeshMaxRestartTime', 'bindMode', 'ignoredInterfaces',
  ]);
  const spec: BGPConfigurationSpec = {};
  const isDefault = name === 'default';
  // Calico: per-node configurations may not set the cluster-wide fields.
  if (!isDefault) {
    for (const key of ['nodeToNodeMeshEnabled', 'asNumber', 'serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs', 'nodeMeshPassword', 'nodeMeshMaxRestartTime']) {
      if (f.has(key)) fail(f.at(key), 'can only be set in the BGPConfiguration named "default"');
    }
  }
  spec.logSeverityScreen = f.oneOf('logSeverityScreen', SEVERITIES) ?? (isDefault ? 'Info' : undefined);
  spec.nodeToNodeMeshEnabled = f.bool('nodeToNodeMeshEnabled') ?? (isDefault ? true : undefined);
  spec.asNumber = f.object('asNumber', checkASNumber) ?? (isDefault ? 64512 : undefined);
  spec.serviceClusterIPs = f.object('serviceClusterIPs', cidrBlocks);
  spec.serviceExternalIPs = f.object('serviceExternalIPs', cidrBlocks);
  spec.serviceLoadBalancerIPs = f.object('serviceLoadBalancerIPs', cidrBlocks);
  spec.listenPort = f.int('listenPort', 1, 65535);
  const communities: Community[] | undefined = f.list('communities', (item, p) => {
    const g = Fields.of(item, p, ['name', 'value']);
    return { name: g.requiredString('name', checkName), value: g.requiredString('value', checkCommunityValue) };
  });
  spec.communities = communities;
  spec.prefixAdvertisements = f.list('prefixAdvertisements', (item, p) => {
    const g = Fields.of(item, p, ['cidr', 'communities']);
    const cidr = g.requiredString('cidr', (s, q) => checkCidr(s, q));
    const list = g.list('communities', (c, q) => checkString(c, q)) ?? [];
    list.forEach((c, i) => {
      const q = `${g.at('communities')}[${i}]`;
      if (c.includes(':')) checkCommunityValue(c, q);
      else if (!communities?.some((x) => x.name === c)) fail(q, `${JSON.stringify(c)} is neither a community value nor a name in spec.communities`);
    });
    if (list.length === 0) fail(g.at('communities'), 'is required');
    return { cidr, communities: list };
  });
  spec.nodeMeshPassword = f.object('nodeMeshPassword', checkBGPPassword);
  spec.nodeMeshMaxRestartTime = f.string('nodeMeshMaxRestartTime', checkDuration);
  spec.bindMode = f.oneOf('bindMode', ['None', 'NodeIP'] as const);
  spec.ignoredInterfaces = f.list('ignoredInterfaces', (v, p) => checkString(v, p));
  return dropUndefined(spec);
}
