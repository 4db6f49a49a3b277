/**
 * `tortie patch` (JSON merge patch and JSON patch) and `tortie label` end to end: the built
 * binary against a real etcd. Both write with the resourceVersion they read as a CAS, so a
 * change made in between is a conflict, never a lost update.
 * Needs `npm run build` first (scripts/test.sh does it).
 */
import { expect } from 'chai';
import { tortie, type CliResult } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';

/** One line on stderr, the given exit status, no stack trace. */
function failsWithOneLine(r: CliResult, exitCode: number, pattern: RegExp): void {
  expect(r.exitCode, r.stderr).to.equal(exitCode);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).not.to.match(/\n\s+at /);
}

const RESOURCES = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
  labels: {team: net, tier: gold}
spec:
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-ping
spec:
  selector: all()
  order: 100
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: ICMP
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: shop
spec:
  selector: app == 'web'
  types: [Ingress]
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: host-1
spec:
  bgp:
    ipv4Address: 192.0.2.11/24
`;

interface Stored {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

describe('tortie patch and label against etcd', function () {
  this.timeout(120_000);
  let etcd: EtcdServer;
  const run = (args: string[], input?: string) => tortie(['--datastore', etcd.url, ...args], { input });
  const getJson = async (...args: string[]): Promise<Stored> => {
    const r = await run(['get', ...args, '-o', 'json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Stored;
  };

  before(async () => {
    etcd = await startEtcd();
    const applied = await run(['apply', '-f', '-'], RESOURCES);
    expect(applied.exitCode, applied.stderr).to.equal(0);
  });
  after(async () => {
    await etcd?.stop();
  });

  describe('patch', () => {
    it('applies a JSON merge patch (the default): changes, adds, and removes with null', async () => {
      const before = await getJson('ippool', 'pool-a');
      const r = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":{"natOutgoing":false,"vxlanMode":"Never"},"metadata":{"labels":{"tier":null}}}']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("Successfully patched 1 'IPPool' resource");
      const after = await getJson('ippool', 'pool-a');
      expect(after.spec).to.include({ natOutgoing: false, vxlanMode: 'Never', ipipMode: 'Always', cidr: '10.244.0.0/16' });
      expect(after.metadata.labels).to.deep.equal({ team: 'net' });
      expect(after.metadata.uid).to.equal(before.metadata.uid);
      expect(Number(after.metadata.resourceVersion)).to.be.greaterThan(Number(before.metadata.resourceVersion));
    });

    it('applies a JSON patch (--type json) with add, replace, remove and test', async () => {
      const r = await run([
        'patch', 'gnp', 'allow-ping', '--type', 'json', '-p',
        JSON.stringify([
          { op: 'test', path: '/spec/order', value: 100 },
          { op: 'replace', path: '/spec/order', value: 10 },
          { op: 'add', path: '/spec/ingress/-', value: { action: 'Deny' } },
          { op: 'remove', path: '/spec/ingress/0' },
          { op: 'add', path: '/metadata/labels', value: { 'a/b': 'c' } },
        ]),
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("Successfully patched 1 'GlobalNetworkPolicy' resource");
      const gnp = await getJson('gnp', 'allow-ping');
      expect(gnp.spec.order).to.equal(10);
      expect(gnp.spec.ingress).to.deep.equal([{ action: 'Deny' }]);
      expect(gnp.metadata.labels).to.deep.equal({ 'a/b': 'c' });
    });

    it('writes nothing when a JSON patch operation fails, and names the operation', async () => {
      const before = await getJson('gnp', 'allow-ping');
      const r = await run(['patch', 'gnp', 'allow-ping', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/order","value":1},{"op":"test","path":"/spec/order","value":99}]']);
      failsWithOneLine(r, 1, /^tortie: patch: operation 1 \(test \/spec\/order\): value is 1, not 99$/);
      const missing = await run(['patch', 'gnp', 'allow-ping', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/egress"}]']);
      failsWithOneLine(missing, 1, /^tortie: patch: operation 0 \(remove \/spec\/egress\): no "egress" in \/spec$/);
      expect((await getJson('gnp', 'allow-ping')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
    });

    it('patches a namespaced resource in the namespace given by -n', async () => {
      const r = await run(['patch', 'policy', 'allow-web', '-n', 'shop', '-p', '{"spec":{"order":5}}']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("Successfully patched 1 'NetworkPolicy' resource");
      expect((await getJson('policy', 'allow-web', '-n', 'shop')).spec.order).to.equal(5);
      const elsewhere = await run(['patch', 'policy', 'allow-web', '-p', '{"spec":{"order":6}}']);
      failsWithOneLine(elsewhere, 1, /^tortie: NetworkPolicy "default\/allow-web" does not exist$/);
    });

    it('validates the result like any write, naming the field', async () => {
      const before = await getJson('ippool', 'pool-a');
      const r = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":{"ipipMode":"Sometimes"}}']);
      failsWithOneLine(r, 1, /^tortie: spec\.ipipMode: "Sometimes" is not one of Never, Always, CrossSubnet \(IPPool "pool-a"\)$/);
      const unknown = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":{"natOutgoin":true}}']);
      failsWithOneLine(unknown, 1, /^tortie: spec\.natOutgoin: /);
      const renamed = await run(['patch', 'ippool', 'pool-a', '-p', '{"metadata":{"name":"pool-b"}}']);
      failsWithOneLine(renamed, 1, /^tortie: patch: metadata\.name: cannot rename IPPool "pool-a"/);
      expect((await getJson('ippool', 'pool-a')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
    });

    it('rejects a PATCH that is not JSON, or of the wrong shape for its type, as a usage error', async () => {
      failsWithOneLine(await run(['patch', 'ippool', 'pool-a', '-p', '{spec:']), 2, /^tortie: patch: -p is not valid JSON: /);
      failsWithOneLine(await run(['patch', 'ippool', 'pool-a', '-p', '[]']), 2, /^tortie: patch: -p must be a JSON object for a merge patch/);
      failsWithOneLine(await run(['patch', 'ippool', 'pool-a', '--type', 'json', '-p', '{}']), 2, /^tortie: patch: -p must be a JSON array of operations/);
      failsWithOneLine(await run(['patch', 'ippool', 'pool-a', '--type', 'json', '-p', '[{"op":"frob","path":"/spec"}]']), 2, /^tortie: patch: -p operation 0: unknown op "frob"/);
      const noType = await run(['patch', 'ippool', 'pool-a', '--type', 'strategic', '-p', '{}']);
      expect(noType.exitCode).to.equal(2);
      expect(noType.stderr).to.match(/strategic/);
    });

    it('fails for an unknown kind or a missing resource with one line', async () => {
      failsWithOneLine(await run(['patch', 'widget', 'x', '-p', '{}']), 1, /^tortie: unknown kind "widget"; valid kinds: /);
      failsWithOneLine(await run(['patch', 'ippool', 'nope', '-p', '{}']), 1, /^tortie: IPPool "nope" does not exist$/);
    });

    it('is a conflict, not a lost update, when the resource changed since the resourceVersion the patch names', async () => {
      const seen = await getJson('ippool', 'pool-a');
      const other = await run(['patch', 'ippool', 'pool-a', '-p', '{"spec":{"natOutgoing":true}}']);
      expect(other.exitCode, other.stderr).to.equal(0);
      const stale = await run(['patch', 'ippool', 'pool-a', '-p', JSON.stringify({ metadata: { resourceVersion: seen.metadata.resourceVersion }, spec: { natOutgoing: false } })]);
      failsWithOneLine(stale, 1, new RegExp(`^tortie: patch: IPPool "pool-a" is at resourceVersion \\d+, not ${seen.metadata.resourceVersion}; get it again$`));
      expect((await getJson('ippool', 'pool-a')).spec.natOutgoing).to.equal(true);
      const current = await getJson('ippool', 'pool-a');
      const fresh = await run(['patch', 'ippool', 'pool-a', '-p', JSON.stringify({ metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { natOutgoing: false } })]);
      expect(fresh.exitCode, fresh.stderr).to.equal(0);
    });

    it('never loses an update when patches race: each one lands or fails with a conflict', async () => {
      const n = 8;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => run(['patch', 'node', 'host-1', '-p', JSON.stringify({ metadata: { labels: { [`racer-${i}`]: 'yes' } } })])),
      );
      const landed: number[] = [];
      results.forEach((r, i) => {
        if (r.exitCode === 0) landed.push(i);
        else failsWithOneLine(r, 1, /^tortie: patch: Node "host-1" (was changed by someone else since it was read at resourceVersion \d+; run the patch again|is at resourceVersion \d+, not \d+; get it again)$/);
      });
      expect(landed.length).to.be.greaterThan(0);
      const labels = (await getJson('node', 'host-1')).metadata.labels ?? {};
      const racers = Object.keys(labels).filter((k) => k.startsWith('racer-')).sort();
      expect(racers).to.deep.equal(landed.map((i) => `racer-${i}`).sort());
    });
  });

  describe('label', () => {
    it('adds labels, and keeps the ones there', async () => {
      const r = await run(['label', 'ippool', 'pool-a', 'zone=a', 'rack=r1']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("Successfully labeled 1 'IPPool' resource");
      expect((await getJson('ippool', 'pool-a')).metadata.labels).to.deep.equal({ team: 'net', zone: 'a', rack: 'r1' });
    });

    it('refuses to change an existing label without --overwrite, and changes it with', async () => {
      const before = await getJson('ippool', 'pool-a');
      const r = await run(['label', 'ippool', 'pool-a', 'zone=b']);
      failsWithOneLine(r, 1, /^tortie: label: IPPool "pool-a" has label zone=a already; give --overwrite to change it$/);
      expect((await getJson('ippool', 'pool-a')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
      const same = await run(['label', 'ippool', 'pool-a', 'zone=a']);
      expect(same.exitCode, same.stderr).to.equal(0);
      const over = await run(['label', 'ippool', 'pool-a', 'zone=b', '--overwrite']);
      expect(over.exitCode, over.stderr).to.equal(0);
      expect((await getJson('ippool', 'pool-a')).metadata.labels).to.include({ zone: 'b' });
    });

    it('removes labels with key-, together with setting others', async () => {
      const r = await run(['label', 'ippool', 'pool-a', 'zone-', 'rack-', 'owner=ops']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect((await getJson('ippool', 'pool-a')).metadata.labels).to.deep.equal({ team: 'net', owner: 'ops' });
    });

    it('labels a namespaced resource with -n', async () => {
      const r = await run(['label', 'netpol', 'allow-web', '-n', 'shop', 'app=web']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("Successfully labeled 1 'NetworkPolicy' resource");
      expect((await getJson('netpol', 'allow-web', '-n', 'shop')).metadata.labels).to.deep.equal({ app: 'web' });
    });

    it('checks label keys and values like any write', async () => {
      const r = await run(['label', 'ippool', 'pool-a', 'bad key=x']);
      failsWithOneLine(r, 1, /^tortie: metadata\.labels.*bad key/);
    });

    it('rejects malformed arguments as usage errors', async () => {
      failsWithOneLine(await run(['label', 'ippool', 'pool-a', 'zone']), 2, /^tortie: label: "zone" is neither key=value \(to set\) nor key- \(to remove\)$/);
      failsWithOneLine(await run(['label', 'ippool', 'pool-a', 'zone=a', 'zone-']), 2, /^tortie: label: zone is both set and removed$/);
      const none = await run(['label', 'ippool', 'pool-a']);
      expect(none.exitCode).to.equal(2);
    });

    it('is a conflict when --resource-version is not the stored one', async () => {
      const seen = await getJson('ippool', 'pool-a');
      expect((await run(['label', 'ippool', 'pool-a', 'step=1'])).exitCode).to.equal(0);
      const stale = await run(['label', 'ippool', 'pool-a', 'step=2', '--overwrite', '--resource-version', seen.metadata.resourceVersion]);
      failsWithOneLine(stale, 1, /^tortie: label: IPPool "pool-a" is at resourceVersion \d+, not \d+; get it again$/);
      expect((await getJson('ippool', 'pool-a')).metadata.labels).to.include({ step: '1' });
    });
  });
});
