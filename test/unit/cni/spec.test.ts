import { expect } from 'chai';
import {
  CniError,
  endpointName,
  errorJson,
  formatResult,
  handleId,
  hostVethName,
  parseCniArgs,
  parseInvocation,
  versionResult,
} from '../../../src/cni/index.js';
import { containerMac } from '../../../src/cni/names.js';
import { attachmentOf } from '../../../src/cni/context.js';

const env = (extra: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  ...extra,
});
const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'tortie', ...extra });

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return undefined;
}

describe('cni/spec: parsing an invocation', () => {
  it('reads the environment and the configuration', () => {
    const req = parseInvocation(env({ CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;IgnoreUnknown=1' }), conf({ mtu: 1400, ipam: { assign_ipv6: 'true', ipv4_pools: ['p1'] } }));
    expect(req).to.include({ command: 'ADD', containerId: 'abc123', netns: '/run/netns/x', ifName: 'eth0', cniVersion: '1.0.0' });
    expect(req.cniPath).to.deep.equal(['/opt/cni/bin', '/usr/lib/cni']);
    expect(req.args).to.deep.equal({ K8S_POD_NAMESPACE: 'shop', K8S_POD_NAME: 'web-1', IgnoreUnknown: '1' });
    expect(req.config.mtu).to.equal(1400);
    expect(req.config.ipam).to.deep.equal({ assignIpv4: true, assignIpv6: true, ipv4Pools: ['p1'], ipv6Pools: [] });
  });

  it('uses the specification\'s error codes', () => {
    expect(codeOf(() => parseInvocation(env({ CNI_COMMAND: undefined }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_COMMAND: 'FROB' }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_CONTAINERID: undefined }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_CONTAINERID: 'bad/id' }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_IFNAME: 'x'.repeat(16) }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_NETNS: 'relative' }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env({ CNI_ARGS: 'novalue' }), conf()))).to.equal(4);
    expect(codeOf(() => parseInvocation(env(), '{nope'))).to.equal(6);
    expect(codeOf(() => parseInvocation(env(), '[1]'))).to.equal(6);
    expect(codeOf(() => parseInvocation(env(), ''))).to.equal(6);
    expect(codeOf(() => parseInvocation(env(), conf({ cniVersion: '0.3.1' })))).to.equal(1);
    expect(codeOf(() => parseInvocation(env(), conf({ ipam: { type: 'host-local' } })))).to.equal(2);
    expect(codeOf(() => parseInvocation(env(), conf({ mtu: 20 })))).to.equal(7);
    expect(codeOf(() => parseInvocation(env(), conf({ ipam: { assign_ipv4: 'maybe' } })))).to.equal(7);
    expect(codeOf(() => parseInvocation(env(), conf({ ipam: { assign_ipv4: false } })))).to.equal(7);
    expect(codeOf(() => parseInvocation(env(), JSON.stringify({ cniVersion: '1.0.0', type: 'tortie' })))).to.equal(7);
    expect(codeOf(() => parseInvocation(env({ CNI_COMMAND: 'STATUS' }), conf()))).to.equal(1);
  });

  it('DEL does not need CNI_NETNS; VERSION needs nothing but the command', () => {
    expect(parseInvocation(env({ CNI_COMMAND: 'DEL', CNI_NETNS: undefined }), conf()).netns).to.equal(undefined);
    expect(parseInvocation({ CNI_COMMAND: 'VERSION' }, '').cniVersion).to.equal('1.1.0');
    expect(parseInvocation({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}').cniVersion).to.equal('0.4.0');
    expect(JSON.parse(versionResult('1.0.0'))).to.deep.equal({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });

  it('reads GC\'s valid attachments', () => {
    const req = parseInvocation({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] }));
    expect(req.config.validAttachments).to.deep.equal([{ containerID: 'a', ifname: 'eth0' }]);
  });

  it('parses CNI_ARGS', () => {
    expect(parseCniArgs('A=1;B=x=y;')).to.deep.equal({ A: '1', B: 'x=y' });
    expect(parseCniArgs(undefined)).to.deep.equal({});
  });
});

describe('cni/spec: results and errors', () => {
  const result = {
    interfaces: [{ name: 'tortie123', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400 }, { name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1400, sandbox: '/run/netns/x' }],
    ips: [{ address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 }, { address: 'fd00::5/128', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };

  it('0.4.0 results carry ips[].version, 1.0.0 results do not, 1.1.0 ones carry interface MTUs', () => {
    const old = formatResult(result, '0.4.0');
    expect(old.ips!.map((i) => i.version)).to.deep.equal(['4', '6']);
    expect(old.interfaces![0]).to.not.have.property('mtu');
    const v1 = formatResult(result, '1.0.0');
    expect(v1.ips![0]).to.deep.equal({ address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 });
    expect(v1.interfaces![1]).to.deep.equal({ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/x' });
    expect(formatResult(result, '1.1.0').interfaces![1]!.mtu).to.equal(1400);
    expect(v1.dns).to.deep.equal({});
  });

  it('error JSON: code, msg, the caller\'s version when it is one we speak', () => {
    expect(errorJson(new CniError(7, 'bad', 'more'), '1.0.0')).to.deep.equal({ cniVersion: '1.0.0', code: 7, msg: 'bad', details: 'more' });
    expect(errorJson(new Error('boom'), '9.9.9')).to.deep.equal({ cniVersion: '1.1.0', code: 100, msg: 'boom' });
  });
});

describe('cni/names', () => {
  it('host veth names: prefix plus hash, 15 characters, stable and distinct', () => {
    const a = hostVethName('default/web-1');
    expect(a).to.match(/^tortie[0-9a-f]{9}$/);
    expect(a).to.equal(hostVethName('default/web-1'));
    expect(a).to.not.equal(hostVethName('default/web-2'));
  });

  it('handles and endpoint names as Calico makes them', () => {
    expect(handleId('net1', 'abc')).to.equal('tortie.net1.abc');
    expect(endpointName('node-1', 'k8s', 'web-1', 'eth0')).to.equal('node--1-k8s-web--1-eth0');
    expect(endpointName('n1', 'cni', 'ABC_def', 'eth0')).to.equal('n1-cni-abc--def-eth0');
  });

  it('container MACs are locally administered unicast and stable', () => {
    const mac = containerMac('abc', 'eth0');
    expect(mac).to.match(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    expect(first & 0x01).to.equal(0);
    expect(first & 0x02).to.equal(2);
    expect(containerMac('abc', 'eth0')).to.equal(mac);
  });

  it('an attachment under Kubernetes is named by namespace and pod, with k8s profiles and labels', () => {
    const req = parseInvocation(env({ CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1' }), conf({ runtimeConfig: { labels: { app: 'web' } } }));
    const at = attachmentOf(req, 'node-1');
    expect(at).to.include({ orchestrator: 'k8s', namespace: 'shop', pod: 'web-1', endpointName: 'node--1-k8s-web--1-eth0', hostVeth: hostVethName('shop/web-1'), handle: 'tortie.net1.abc123' });
    expect(at.profiles).to.deep.equal(['kns.shop']);
    expect(at.labels).to.include({ app: 'web', 'projectcalico.org/namespace': 'shop', 'projectcalico.org/orchestrator': 'k8s' });
    const plain = attachmentOf(parseInvocation(env(), conf()), 'node-1');
    expect(plain).to.include({ orchestrator: 'cni', workload: 'abc123', hostVeth: hostVethName('abc123') });
  });
});
