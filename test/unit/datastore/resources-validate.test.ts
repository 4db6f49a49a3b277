import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { parseDocuments } from '../../../src/datastore/resources/documents.js';
import { ValidationError } from '../../../src/datastore/resources/errors.js';
import { resolveKind } from '../../../src/datastore/resources/kinds.js';
import type { AnyResource } from '../../../src/datastore/resources/types.js';
import { validateResource } from '../../../src/datastore/resources/validate.js';

const FIXTURES = new URL('../../fixtures/calico/', import.meta.url);

function fixture(name: string): unknown[] {
  return parseDocuments(readFileSync(new URL(name, FIXTURES), 'utf8'), name).map((d) => d.value);
}

const v3 = (kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }) => ({ apiVersion: 'projectcalico.org/v3', kind, metadata, spec });

/** Expects validation to fail at `path` with a message matching `message`. */
function rejects(doc: unknown, path: string, message: RegExp | string): void {
  let caught: unknown;
  try {
    validateResource(doc);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${path} to be rejected`).to.be.instanceOf(ValidationError);
  const err = caught as ValidationError;
  expect(err.path).to.equal(path);
  if (typeof message === 'string') expect(err.detail).to.equal(message);
  else expect(err.detail).to.match(message);
  expect(err.message).not.to.include('\n');
}

describe('resources: examples from Calico documentation validate', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml') && f !== 'one-bad.yaml');
  for (const file of files) {
    it(`accepts ${file} unchanged`, () => {
      const docs = fixture(file);
      expect(docs.length).to.be.greaterThan(0);
      for (const doc of docs) {
        const r = validateResource(doc);
        expect(r.apiVersion).to.equal('tortie.dev/v1');
        expect(r.kind).to.equal((doc as { kind: string }).kind);
      }
    });
  }
});

describe('resources: envelope and metadata', () => {
  it('accepts both API versions and reads them as tortie.dev/v1', () => {
    const a = validateResource({ ...v3('IPPool', { cidr: '10.0.0.0/16' }), apiVersion: 'tortie.dev/v1' });
    const b = validateResource(v3('IPPool', { cidr: '10.0.0.0/16' }));
    expect(a).to.deep.equal(b);
  });

  it('rejects another apiVersion, an unknown kind and a missing name', () => {
    rejects({ ...v3('IPPool', {}), apiVersion: 'v1' }, 'apiVersion', /"v1" is not supported \(use tortie.dev\/v1 or projectcalico.org\/v3\)/);
    rejects(v3('IPPoolz', {}), 'kind', /unknown kind "IPPoolz"; valid kinds: Node, IPPool, .*Profile/);
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, {}), 'metadata.name', 'is required');
  });

  it('requires metadata.name to be a DNS-1123 subdomain', () => {
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'Pool_A' }), 'metadata.name', /"Pool_A" is not a valid name/);
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'a'.repeat(254) }), 'metadata.name', /longer than 253/);
    expect(validateResource(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'my.pool-1' })).metadata.name).to.equal('my.pool-1');
  });

  it('puts namespaced kinds in "default" and refuses a namespace on cluster-wide kinds', () => {
    const np = validateResource(v3('NetworkPolicy', {}, { name: 'p' }));
    expect(np.metadata.namespace).to.equal('default');
    expect(validateResource(v3('NetworkPolicy', {}, { name: 'p' }), { defaultNamespace: 'prod' }).metadata.namespace).to.equal('prod');
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', namespace: 'x' }), 'metadata.namespace', 'IPPool is cluster-wide and takes no namespace');
  });

  it('checks labels and says to quote values YAML reads as numbers', () => {
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: { 'bad key!': 'x' } }), 'metadata.labels.bad key!', /not a valid label key/);
    rejects(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', labels: { rack: 1 } }), 'metadata.labels.rack', 'must be a string, not 1 (quote it)');
  });

  it('keeps a given resourceVersion (the CAS token) and drops store-owned uid/creationTimestamp', () => {
    const r = validateResource(v3('IPPool', { cidr: '10.0.0.0/16' }, { name: 'p', resourceVersion: '12', uid: 'u', creationTimestamp: 't' }));
    expect(r.metadata).to.deep.equal({ name: 'p', resourceVersion: '12' });
  });
});

describe('resources: IPPool', () => {
  it('applies Calico defaults', () => {
    const r = validateResource(v3('IPPool', { cidr: '10.0.0.0/16' })) as Extract<AnyResource, { kind: 'IPPool' }>;
    expect(r.spec).to.deep.equal({
      cidr: '10.0.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    });
    const v6 = validateResource(v3('IPPool', { cidr: 'fd00:0::/48' })) as Extract<AnyResource, { kind: 'IPPool' }>;
    expect(v6.spec.blockSize).to.equal(122);
    expect(v6.spec.cidr).to.equal('fd00::/48');
  });

  it('names the field and the problem for bad CIDRs and block sizes', () => {
    rejects(v3('IPPool', { cidr: '10.0.0.0/33' }), 'spec.cidr', '"10.0.0.0/33" is not a CIDR');
    rejects(v3('IPPool', { cidr: 'banana' }), 'spec.cidr', '"banana" is not a CIDR');
    rejects(v3('IPPool', { cidr: '10.0.0.1/24' }), 'spec.cidr', '"10.0.0.1/24" has host bits set (did you mean 10.0.0.0/24?)');
    rejects(v3('IPPool', {}), 'spec.cidr', 'is required');
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', blockSize: 40 }), 'spec.blockSize', '40 is out of range 20-32 for IPv4');
    rejects(v3('IPPool', { cidr: 'fd00::/48', blockSize: 64 }), 'spec.blockSize', '64 is out of range 116-128 for IPv6');
    rejects(v3('IPPool', { cidr: '10.0.0.0/28', blockSize: 26 }), 'spec.blockSize', /do not fit in 10.0.0.0\/28/);
  });

  it('rejects unknown fields with a guess at the intended one', () => {
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', natOutgoin: true }), 'spec.natOutgoin', 'unknown field (did you mean natOutgoing?)');
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', zzz: 1 }), 'spec.zzz', 'unknown field');
  });

  it('checks modes, their combination and types', () => {
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'Sometimes' }), 'spec.ipipMode', '"Sometimes" is not one of Never, Always, CrossSubnet');
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'Always' }), 'spec.vxlanMode', /cannot both be enabled/);
    rejects(v3('IPPool', { cidr: 'fd00::/48', ipipMode: 'Always' }), 'spec.ipipMode', /not supported on an IPv6 pool/);
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', natOutgoing: 'yes' }), 'spec.natOutgoing', 'must be true or false, not "yes"');
    rejects(v3('IPPool', { cidr: '10.0.0.0/16', nodeSelector: "role == 'x" }), 'spec.nodeSelector', /is not a valid selector/);
  });

  it('reads the old ipip/nat-outgoing form of calicoctl v1 files', () => {
    const r = validateResource(v3('IPPool', { cidr: '10.0.0.0/16', ipip: { enabled: true, mode: 'cross-subnet' }, 'nat-outgoing': true })) as Extract<AnyResource, { kind: 'IPPool' }>;
    expect(r.spec.ipipMode).to.equal('CrossSubnet');
    expect(r.spec.natOutgoing).to.equal(true);
  });
});

describe('resources: BGP kinds, Node and IPAMConfiguration', () => {
  it('defaults the "default" BGPConfiguration as Calico does', () => {
    const r = validateResource(v3('BGPConfiguration', {}, { name: 'default' }));
    expect(r.spec).to.deep.equal({ logSeverityScreen: 'Info', nodeToNodeMeshEnabled: true, asNumber: 64512 });
    const perNode = validateResource(v3('BGPConfiguration', { listenPort: 1179 }, { name: 'node.host1' }));
    expect(perNode.spec).to.deep.equal({ listenPort: 1179 });
  });

  it('rejects cluster-wide BGP settings on a per-node configuration and bad communities', () => {
    rejects(v3('BGPConfiguration', { asNumber: 1 }, { name: 'node.a' }), 'spec.asNumber', /only be set in the BGPConfiguration named "default"/);
    rejects(v3('BGPConfiguration', { communities: [{ name: 'c', value: '70000:1' }] }, { name: 'default' }), 'spec.communities[0].value', /is not a community/);
    rejects(
      v3('BGPConfiguration', { prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['nope'] }] }, { name: 'default' }),
      'spec.prefixAdvertisements[0].communities[0]',
      /neither a community value nor a name/,
    );
  });

  it('accepts asdot AS numbers and a plain-string BGP password', () => {
    const r = validateResource(v3('BGPPeer', { peerIP: '192.0.2.1', asNumber: '1.10', password: 's3cret' })) as Extract<AnyResource, { kind: 'BGPPeer' }>;
    expect(r.spec.asNumber).to.equal(65546);
    expect(r.spec.password).to.deep.equal({ value: 's3cret' });
  });

  it('checks BGPPeer field combinations and values', () => {
    rejects(v3('BGPPeer', { asNumber: 64512 }), 'spec.peerIP', 'is required (or peerSelector)');
    rejects(v3('BGPPeer', { peerIP: '192.0.2.1' }), 'spec.asNumber', 'is required with peerIP');
    rejects(v3('BGPPeer', { peerIP: '192.0.2.300', asNumber: 1 }), 'spec.peerIP', /is not an IP address/);
    rejects(v3('BGPPeer', { peerIP: '192.0.2.1:70000', asNumber: 1 }), 'spec.peerIP', /port 70000 out of range/);
    rejects(v3('BGPPeer', { peerIP: '192.0.2.1', asNumber: 4294967296 }), 'spec.asNumber', /is not an AS number/);
    rejects(v3('BGPPeer', { peerSelector: 'all()', peerIP: '192.0.2.1' }), 'spec.peerIP', 'cannot be set together with peerSelector');
    rejects(v3('BGPPeer', { node: 'a', nodeSelector: 'all()', peerIP: '192.0.2.1', asNumber: 1 }), 'spec.nodeSelector', 'cannot be set together with node');
    rejects(v3('BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, maxRestartTime: '2 minutes' }), 'spec.maxRestartTime', /is not a duration/);
    rejects(v3('BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, password: { secretKeyRef: { name: 's' } } }), 'spec.password.secretKeyRef.key', 'is required');
    const ok = validateResource(v3('BGPPeer', { peerIP: '[fd00::1]:1179', asNumber: 1, ttlSecurity: 1, sourceAddress: 'None', filters: ['f1'], reachableBy: '10.0.0.1', keepOriginalNextHop: true, numAllowedLocalASNumbers: 2 }));
    expect(ok.spec).to.include({ peerIP: '[fd00::1]:1179', ttlSecurity: 1 });
  });

  it('checks Node addresses and IPAMConfiguration', () => {
    rejects(v3('Node', { bgp: { ipv4Address: 'fd00::1/64' } }), 'spec.bgp.ipv4Address', /is not an IPv4 address/);
    rejects(v3('Node', { bgp: { routeReflectorClusterID: 'x' } }), 'spec.bgp.routeReflectorClusterID', /is not an IP address/);
    rejects(v3('IPAMConfiguration', {}, { name: 'other' }), 'metadata.name', /must be named "default"/);
    rejects(v3('IPAMConfiguration', { maxBlocksPerHost: -1 }, { name: 'default' }), 'spec.maxBlocksPerHost', /out of range/);
    expect(validateResource(v3('IPAMConfiguration', {}, { name: 'default' })).spec).to.deep.equal({ strictAffinity: false, maxBlocksPerHost: 0, autoAllocateBlocks: true });
  });
});

describe('resources: policies and rules', () => {
  it('infers types from the rule lists present, as Calico does', () => {
    const types = (spec: object) => (validateResource(v3('GlobalNetworkPolicy', spec)).spec as { types: string[] }).types;
    expect(types({})).to.deep.equal(['Ingress']);
    expect(types({ ingress: [{ action: 'Allow' }] })).to.deep.equal(['Ingress']);
    expect(types({ egress: [{ action: 'Allow' }] })).to.deep.equal(['Egress']);
    expect(types({ ingress: [{ action: 'Allow' }], egress: [{ action: 'Deny' }] })).to.deep.equal(['Ingress', 'Egress']);
  });

  it('names the rule and field at fault', () => {
    const gnp = (rule: object) => v3('GlobalNetworkPolicy', { ingress: [{ action: 'Allow' }, rule] });
    rejects(gnp({ action: 'Permit' }), 'spec.ingress[1].action', '"Permit" is not one of Allow, Deny, Log, Pass');
    rejects(gnp({ protocol: 'TCP' }), 'spec.ingress[1].action', /is required/);
    rejects(gnp({ action: 'Allow', protocol: 'TPC' }), 'spec.ingress[1].protocol', /"TPC" is not a protocol/);
    rejects(gnp({ action: 'Allow', protocol: 256 }), 'spec.ingress[1].protocol', 'protocol 256 is out of range 1-255');
    rejects(gnp({ action: 'Allow', protocol: 'TCP', destination: { ports: [80, '90:80'] } }), 'spec.ingress[1].destination.ports[1]', /has its start after its end/);
    rejects(gnp({ action: 'Allow', protocol: 'TCP', destination: { ports: [70000] } }), 'spec.ingress[1].destination.ports[0]', 'port 70000 is out of range 0-65535');
    rejects(gnp({ action: 'Allow', protocol: 'ICMP', destination: { ports: [80] } }), 'spec.ingress[1].destination.ports', /needs protocol TCP, UDP or SCTP/);
    rejects(gnp({ action: 'Allow', icmp: { type: 8 } }), 'spec.ingress[1].icmp', 'needs protocol ICMP or ICMPv6');
    rejects(gnp({ action: 'Allow', protocol: 'ICMP', icmp: { code: 0 } }), 'spec.ingress[1].icmp.code', 'needs a type as well');
    rejects(gnp({ action: 'Allow', source: { nets: ['10.0.0.0/8', 'nope'] } }), 'spec.ingress[1].source.nets[1]', '"nope" is not an IP address or CIDR');
    rejects(gnp({ action: 'Allow', ipVersion: 6, source: { nets: ['10.0.0.0/8'] } }), 'spec.ingress[1].source.nets[0]', /is not IPv6/);
    rejects(gnp({ action: 'Allow', source: { selector: 'a ==' } }), 'spec.ingress[1].source.selector', /is not a valid selector/);
    rejects(gnp({ action: 'Allow', source: { selectr: 'all()' } }), 'spec.ingress[1].source.selectr', 'unknown field (did you mean selector?)');
  });

  it('accepts port numbers, ranges and names, and protocol names in any case', () => {
    const r = validateResource(v3('NetworkPolicy', { egress: [{ action: 'Allow', protocol: 'udp', destination: { ports: [53, '8000:8080', 'dns'] } }] })) as Extract<AnyResource, { kind: 'NetworkPolicy' }>;
    expect(r.spec.egress![0].protocol).to.equal('UDP');
    expect(r.spec.egress![0].destination!.ports).to.deep.equal([53, '8000:8080', 'dns']);
  });

  it('refuses rules in a direction the policy types leave out, and GNP-only fields on a NetworkPolicy', () => {
    rejects(v3('NetworkPolicy', { types: ['Ingress'], egress: [{ action: 'Allow' }] }), 'spec.egress', 'has rules but types does not include Egress');
    rejects(v3('NetworkPolicy', { doNotTrack: true }), 'spec.doNotTrack', 'unknown field');
    rejects(v3('GlobalNetworkPolicy', { preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] }), 'spec.egress', /only have ingress rules/);
    rejects(v3('GlobalNetworkPolicy', { doNotTrack: true }), 'spec.applyOnForward', 'must be true when doNotTrack is true');
  });
});

describe('resources: endpoints and profiles', () => {
  it('checks HostEndpoint and WorkloadEndpoint fields', () => {
    rejects(v3('HostEndpoint', { node: 'h' }), 'spec.interfaceName', 'is required (or expectedIPs)');
    rejects(v3('HostEndpoint', { node: 'h', interfaceName: 'a-very-long-interface0' }), 'spec.interfaceName', /is not an interface name/);
    rejects(v3('HostEndpoint', { node: 'h', interfaceName: 'eth0', ports: [{ name: 'p', protocol: 'ICMP', port: 1 }] }), 'spec.ports[0].protocol', /has no ports/);
    rejects(v3('WorkloadEndpoint', { node: 'n' }), 'spec.interfaceName', 'is required');
    rejects(v3('WorkloadEndpoint', { interfaceName: 'cali1', mac: 'zz:zz' }), 'spec.mac', '"zz:zz" is not a MAC address');
    rejects(v3('WorkloadEndpoint', { interfaceName: 'cali1', ipNetworks: ['10.0.0.1/33'] }), 'spec.ipNetworks[0]', /is not an IP address or CIDR/);
  });

  it('checks Profile labelsToApply and rules', () => {
    rejects(v3('Profile', { labelsToApply: { 'a b': 'c' } }), 'spec.labelsToApply.a b', /not a valid label key/);
    rejects(v3('Profile', { ingress: [{ action: 'Nope' }] }), 'spec.ingress[0].action', /is not one of/);
  });
});

describe('resources: kind names on the command line', () => {
  it('resolves calicoctl aliases and plurals in any case', () => {
    const cases: [string, string][] = [
      ['ippool', 'IPPool'], ['IPPools', 'IPPool'], ['pool', 'IPPool'], ['bgppeer', 'BGPPeer'], ['bgpconfig', 'BGPConfiguration'],
      ['gnp', 'GlobalNetworkPolicy'], ['GlobalNetworkPolicy', 'GlobalNetworkPolicy'], ['netpol', 'NetworkPolicy'], ['policy', 'NetworkPolicy'],
      ['hep', 'HostEndpoint'], ['wep', 'WorkloadEndpoint'], ['nodes', 'Node'], ['profile', 'Profile'], ['ipamconfig', 'IPAMConfiguration'],
    ];
    for (const [arg, kind] of cases) expect(resolveKind(arg).kind, arg).to.equal(kind);
    expect(() => resolveKind('ipool')).to.throw(/unknown kind "ipool"; valid kinds: Node, IPPool/);
  });
});
