/** IPPool: a range workload addresses come from, handed out in blocks of `blockSize`. */
import { checkCidr, checkSelector } from '../checks.js';
import { fail, Fields, checkOneOf } from '../../../common/fields.js';
import { parseCidr } from '../net.js';
import type { EncapMode, IPPoolAllowedUse, IPPoolSpec } from '../types.js';

const MODES: readonly EncapMode[] = ['Never', 'Always', 'CrossSubnet'];
const USES: readonly IPPoolAllowedUse[] = ['Workload', 'Tunnel', 'LoadBalancer'];

/** Calico's defaults and limits: blocks of /26 (v4) or /122 (v6), within 20-32 or 116-128. */
export const BLOCK_SIZE = {
  4: { default: 26, min: 20, max: 32 },
  6: { default: 122, min: 116, max: 128 },
} as const;

export function validateIPPoolSpec(value: unknown, path: string): IPPoolSpec {
  const f = Fields.of(value, path, [
    'cidr', 'blockSize', 'ipipMode', 'vxlanMode', 'natOutgoing', 'disabled', 'disableBGPExport',
    'nodeSelector', 'allowedUses', 'assignmentMode', 'ipip', 'nat-outgoing',
  ]);
  const cidrText = f.requiredString('cidr', (s, p) => checkCidr(s, p));
  const cidr = parseCidr(cidrText)!;
  const limits = BLOCK_SIZE[cidr.version];
  const blockSize = f.int('blockSize', 0, 128) ?? limits.default;
  if (blockSize < limits.min || blockSize > limits.max) {
    fail(f.at('blockSize'), `${blockSize} is out of range ${limits.min}-${limits.max} for IPv${cidr.version}`);
  }
  if (blockSize < cidr.prefixLength) {
    fail(f.at('blockSize'), `/${blockSize} blocks do not fit in ${cidr.text} (the pool must be at least one block)`);
  }

  // The v1-style `ipip: {enabled, mode}` and `nat-outgoing` that old calicoctl YAML carries.
  let legacyIpip: EncapMode | undefined;
  const ipip = f.object('ipip', (v, p) => {
    const g = Fields.of(v, p, ['enabled', 'mode']);
    const enabled = g.bool('enabled') ?? true;
    const mode = g.oneOf('mode', ['always', 'cross-subnet'] as const) ?? 'always';
    return enabled ? (mode === 'always' ? 'Always' : 'CrossSubnet') : 'Never';
  });
  if (ipip !== undefined) legacyIpip = ipip;
  if (f.has('ipip') && f.has('ipipMode')) fail(f.at('ipip'), 'cannot be set together with ipipMode (ipip is the old form)');

  const ipipMode = f.oneOf('ipipMode', MODES) ?? legacyIpip ?? 'Never';
  const vxlanMode = f.oneOf('vxlanMode', MODES) ?? 'Never';
  if (ipipMode !== 'Never' && vxlanMode !== 'Never') {
    fail(f.at('vxlanMode'), 'IPIP and VXLAN cannot both be enabled on one pool');
  }
  if (cidr.version === 6 && ipipMode !== 'Never') fail(f.at('ipipMode'), 'IPIP is not supported on an IPv6 pool');

  const natOutgoing = f.bool('natOutgoing') ?? f.bool('nat-outgoing') ?? false;
  const nodeSelector = f.string('nodeSelector', checkSelector) ?? 'all()';
  const allowedUses = f.list('allowedUses', (v, p) => checkOneOf(v, p, USES)) ?? ['Workload', 'Tunnel'];
  if (allowedUses.includes('LoadBalancer') && allowedUses.length > 1) {
    fail(f.at('allowedUses'), 'LoadBalancer cannot be combined with other uses');
  }
  const spec: IPPoolSpec = {
    cidr: cidr.text,
    blockSize,
    ipipMode,
    vxlanMode,
    natOutgoing,
    disabled: f.bool('disabled') ?? false,
    disableBGPExport: f.bool('disableBGPExport') ?? false,
    nodeSelector,
    allowedUses,
  };
  const assignmentMode = f.oneOf('assignmentMode', ['Automatic', 'Manual'] as const);
  if (assignmentMode) spec.assignmentMode = assignmentMode;
  return spec;
}
