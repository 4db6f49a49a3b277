/** HostEndpoint (a host's own interface) and WorkloadEndpoint (a container's interface). */
import { checkIP, checkLabelKey, checkMAC, checkName, checkNet, checkProtocol, protocolHasPorts } from '../checks.js';
import { checkString, dropUndefined, fail, Fields } from '../../../common/fields.js';
import type { EndpointPort, HostEndpointSpec, WorkloadEndpointPort, WorkloadEndpointSpec } from '../types.js';

/** A Linux interface name: 1-15 bytes, no '/', no whitespace, not "." or "..". */
export function checkInterfaceName(s: string, path: string): void {
  if (s === '*') return; // Calico: a host endpoint for all of the host's interfaces.
  if (s.length === 0 || s.length > 15 || /[\s/:]/.test(s) || s === '.' || s === '..') {
    fail(path, `${JSON.stringify(s)} is not an interface name (1-15 characters, no '/', ':' or spaces)`);
  }
}

function namedPort(value: unknown, path: string, extra: string[]): { f: Fields; port: EndpointPort } {
  const f = Fields.of(value, path, ['name', 'protocol', 'port', ...extra]);
  const name = f.requiredString('name', (s, p) => {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) || s.length > 15) fail(p, `${JSON.stringify(s)} is not a port name (lower case, digits and '-', at most 15)`);
  });
  const protocol = f.object('protocol', checkProtocol);
  if (protocol === undefined) fail(f.at('protocol'), 'is required');
  if (!protocolHasPorts(protocol)) fail(f.at('protocol'), `${JSON.stringify(protocol)} has no ports (use TCP, UDP or SCTP)`);
  const port = f.int('port', 1, 65535);
  if (port === undefined) fail(f.at('port'), 'is required');
  return { f, port: { name, protocol, port } };
}

function profiles(f: Fields): string[] | undefined {
  // Profile names may carry Kubernetes-derived prefixes like `kns.default` or `ksa.ns.name`.
  return f.list('profiles', (v, p) => checkString(v, p, checkName));
}

export function validateHostEndpointSpec(value: unknown, path: string): HostEndpointSpec {
  const f = Fields.of(value, path, ['node', 'interfaceName', 'expectedIPs', 'profiles', 'ports']);
  const spec: HostEndpointSpec = {
    node: f.requiredString('node', checkName),
    interfaceName: f.string('interfaceName', checkInterfaceName),
    expectedIPs: f.list('expectedIPs', (v, p) => checkString(v, p, (s, q) => checkIP(s, q))),
    profiles: profiles(f),
    ports: f.list('ports', (v, p) => namedPort(v, p, []).port),
  };
  if (!spec.interfaceName && !spec.expectedIPs?.length) fail(f.at('interfaceName'), 'is required (or expectedIPs)');
  return dropUndefined(spec);
}

export function validateWorkloadEndpointSpec(value: unknown, path: string): WorkloadEndpointSpec {
  const f = Fields.of(value, path, [
    'orchestrator', 'workload', 'node', 'containerID', 'pod', 'endpoint', 'serviceAccountName', 'ipNetworks', 'ipNATs',
    'ipv4Gateway', 'ipv6Gateway', 'profiles', 'interfaceName', 'mac', 'ports', 'allowSpoofedSourcePrefixes',
  ]);
  const spec: WorkloadEndpointSpec = {
    orchestrator: f.string('orchestrator'),
    workload: f.string('workload'),
    node: f.string('node', checkName),
    containerID: f.string('containerID'),
    pod: f.string('pod', checkName),
    endpoint: f.string('endpoint'),
    serviceAccountName: f.string('serviceAccountName', checkLabelKey),
    ipNetworks: f.list('ipNetworks', (v, p) => checkString(v, p, checkNet)),
    ipNATs: f.list('ipNATs', (v, p) => {
      const g = Fields.of(v, p, ['internalIP', 'externalIP']);
      return {
        internalIP: g.requiredString('internalIP', (s, q) => checkIP(s, q)),
        externalIP: g.requiredString('externalIP', (s, q) => checkIP(s, q)),
      };
    }),
    ipv4Gateway: f.string('ipv4Gateway', (s, p) => checkIP(s, p, 4)),
    ipv6Gateway: f.string('ipv6Gateway', (s, p) => checkIP(s, p, 6)),
    profiles: profiles(f),
    interfaceName: f.requiredString('interfaceName', checkInterfaceName),
    mac: f.string('mac', checkMAC),
    ports: f.list('ports', (v, p): WorkloadEndpointPort => {
      const { f: g, port } = namedPort(v, p, ['hostPort', 'hostIP']);
      return dropUndefined({ ...port, hostPort: g.int('hostPort', 1, 65535), hostIP: g.string('hostIP', (s, q) => checkIP(s, q)) });
    }),
    allowSpoofedSourcePrefixes: f.list('allowSpoofedSourcePrefixes', (v, p) => checkString(v, p, checkNet)),
  };
  return dropUndefined(spec);
}
