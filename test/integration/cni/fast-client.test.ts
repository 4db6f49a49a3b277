/**
 * bin/tortie-cni, the plugin's C client (native/cni-client.c), driven as a runtime drives it
 * and compared with bin/tortie-cni.js on the same inputs:
 *   - against the real POST /cni route (a test-hosted server, real etcd, a test namespace
 *     standing for the host): ADD / CHECK / DEL, bad input, VERSION;
 *   - against a recording server: the request body it sends and what it prints for an answer
 *     are the same as the Node client's, for awkward bytes in env, stdin and answers;
 *   - without a daemon: it hands the call to the Node plugin (in-process mode), stdin intact;
 *   - with a stdin over 1 MiB: a CNI error JSON.
 * Needs `npm run build` (the binary and dist/).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveControl } from '../../../src/common/control-socket.js';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../../src/ipam/resource-source.js';
import { handleKey } from '../../../src/ipam/keys.js';
import { cniControlRoutes, endpointName, handleId, hostVethName, SUPPORTED_VERSIONS } from '../../../src/cni/index.js';
import { execInNetns, listLinks, netnsPath, setSysctls } from '../../../src/kernel/index.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { addPool, PLUGIN_BIN, REFERENCE_PLUGINS } from './harness.js';

const C_BIN = fileURLToPath(new URL('../../../bin/tortie-cni', import.meta.url));
const NODE = 'node-f';
const NET = 'fnet';

interface Run {
  exitCode: number;
  stdout: Buffer;
  text: string;
  json?: Record<string, unknown>;
}

/** Runs a plugin with exactly this environment and stdin bytes; raw stdout back. */
function run(file: string, env: Record<string, string>, input: Buffer | string, hostNetns?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = hostNetns === undefined ? [file, []] : ['nsenter', [`--net=/run/netns/${hostNetns}`, file]];
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.resume();
    child.stdin.on('error', () => undefined); // a plugin may stop reading (too much stdin)
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      const text = stdout.toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ exitCode: code ?? -1, stdout, text, json });
    });
    child.stdin.end(input);
  });
}

describe('CNI plugin C client (bin/tortie-cni)', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let store: ResourceStore;
  let server: Server;
  let recorder: Server;
  let tmp: string;
  let socket: string;
  let recSocket: string;
  let host: string;
  let n = 0;
  /** What the recording server saw last, and what it answers. */
  let recorded: unknown[] = [];
  let answer: unknown = { exitCode: 0, stdout: '' };

  before(async function () {
    if (!existsSync(C_BIN)) throw new Error(`${C_BIN} is missing: run npm run build`);
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    store = new ResourceStore(kv);
    await addPool(kv, 'pool-f', '10.232.0.0/16');
    host = await scope().netns('host');
    await setSysctls(host, { 'net.ipv4.ip_forward': 1 });
    tmp = mkdtempSync(join(tmpdir(), 'tortie-cnifast-'));
    socket = join(tmp, 'node.sock');
    recSocket = join(tmp, 'rec.sock');
    const ipam = new Ipam(kv, new ResourceConfigSource(store));
    server = await serveControl(socket, cniControlRoutes({ ipam, store, nodeName: NODE, hostNetns: host }));
    recorder = await serveControl(recSocket, {
      'POST /cni': (body) => {
        recorded.push(body);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
  });

  after(async () => {
    await new Promise((r) => server?.close(r));
    await new Promise((r) => recorder?.close(r));
    await kv?.close();
    await etcd?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const baseEnv = (command: string | undefined, extra: Record<string, string> = {}): Record<string, string> => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_PATH: REFERENCE_PLUGINS, ...extra };
    if (command !== undefined) env.CNI_COMMAND = command;
    return env;
  };
  const ctrEnv = (command: string, c: { id: string; path: string }, extra: Record<string, string> = {}) =>
    baseEnv(command, { CNI_CONTAINERID: c.id, CNI_NETNS: c.path, CNI_IFNAME: 'eth0', ...extra });
  const daemonConfig = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'tortie', nodeSocket: socket, ...extra });

  async function newContainer(): Promise<{ id: string; netns: string; path: string }> {
    n++;
    const netns = await scope().netns(`f${n}`);
    return { id: `fast${n}abc`, netns, path: netnsPath(netns) };
  }

  /** Both clients on the same input: exit status and stdout bytes must be the same. */
  async function same(env: Record<string, string>, input: Buffer | string, hostNetns?: string): Promise<Run> {
    const c = await run(C_BIN, env, input, hostNetns);
    const js = await run(PLUGIN_BIN, env, input, hostNetns);
    expect(c.text, `C client vs Node client on ${String(input).slice(0, 80)}`).to.equal(js.text);
    expect(c.stdout.equals(js.stdout)).to.equal(true);
    expect(c.exitCode, c.text).to.equal(js.exitCode);
    return c;
  }

  it('ADD wires the container through the daemon, CHECK passes, DEL undoes it, twice', async () => {
    const c = await newContainer();
    const add = await run(C_BIN, ctrEnv('ADD', c, { CNI_ARGS: 'IgnoreUnknown=1;TORTIE_LABELS=app=fast' }), daemonConfig({ mtu: 1400 }), host);
    expect(add.exitCode, add.text).to.equal(0);
    expect(add.text.endsWith('}\n')).to.equal(true);
    const result = add.json as { cniVersion: string; ips: { address: string; gateway: string }[]; interfaces: { name: string; sandbox?: string }[] };
    expect(result.cniVersion).to.equal('1.0.0');
    expect(result.ips[0]!.address).to.match(/^10\.232\.\d+\.\d+\/32$/);
    expect(result.ips[0]!.gateway).to.equal('169.254.1.1');
    const ip = result.ips[0]!.address.split('/')[0]!;
    expect(await execInNetns(c.netns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).to.include(`${ip}/32`);
    const hv = hostVethName(c.id);
    expect((await listLinks(host)).find((l) => l.name === hv)?.mtu).to.equal(1400);
    const wep = await store.get('WorkloadEndpoint', endpointName(NODE, 'cni', c.id, 'eth0'), { namespace: 'default' });
    expect(wep?.metadata.labels).to.include({ app: 'fast' });

    const check = await run(C_BIN, ctrEnv('CHECK', c), daemonConfig({ prevResult: result }), host);
    expect(check.exitCode, check.text).to.equal(0);
    expect(check.text).to.equal('');
    for (let i = 0; i < 2; i++) {
      const del = await run(C_BIN, ctrEnv('DEL', c), daemonConfig({ prevResult: result }), host);
      expect(del.exitCode, `DEL #${i + 1}: ${del.text}`).to.equal(0);
      expect(del.text).to.equal('');
    }
    expect((await listLinks(host)).map((l) => l.name)).to.not.include(hv);
    expect(await kv.get(handleKey(handleId(NET, c.id)))).to.equal(null);
    // After DEL, CHECK fails the same way through both clients.
    const r = await same(ctrEnv('CHECK', c), daemonConfig({ prevResult: result }), host);
    expect(r.json).to.include({ code: 102 });
  });

  it('bad input: the same error JSON and exit status as the Node client', async () => {
    const c = await newContainer();
    const cases: { env: Record<string, string>; config: string; code: number }[] = [
      { env: baseEnv('ADD', { CNI_NETNS: c.path, CNI_IFNAME: 'eth0' }), config: daemonConfig(), code: 4 },
      { env: baseEnv(undefined, { CNI_CONTAINERID: 'x' }), config: daemonConfig(), code: 4 },
      { env: ctrEnv('ADD', c, { CNI_IFNAME: 'a-very-long-ifname' }), config: daemonConfig(), code: 4 },
      { env: ctrEnv('ADD', c), config: `{"cniVersion": "1.0.0", "nodeSocket": ${JSON.stringify(socket)}, nope`, code: 6 },
      { env: ctrEnv('ADD', c), config: daemonConfig({ cniVersion: '0.3.1' }), code: 1 },
      { env: ctrEnv('ADD', c), config: daemonConfig({ ipam: { type: 'host-local' } }), code: 2 },
      { env: ctrEnv('ADD', c), config: daemonConfig({ mtu: 'big' }), code: 7 },
      { env: baseEnv('STATUS'), config: daemonConfig(), code: 1 },
    ];
    for (const t of cases) {
      const r = await same(t.env, t.config, host);
      expect(r.exitCode, r.text).to.equal(1);
      expect(r.json?.code, r.text).to.equal(t.code);
    }
    expect((await listLinks(c.netns)).map((l) => l.name)).to.deep.equal(['lo']);
  });

  it('VERSION is answered without a daemon, as the Node client answers it', async () => {
    const inputs = ['{"cniVersion":"1.0.0"}', '', 'not json', '{"cniVersion":"0.3.1"}', '{"cniVersion":"1.0.0","cniVersion":"0.4.0"}',
      '{"cni\\u0056ersion":"0.4.0"}', '{"cniVersion":"0.4.0"} x', '[{"cniVersion":"0.4.0"}]', '{"a":[{"b":[1,2,{"c":null}]}],"cniVersion":"0.4.0"}',
      '{"cniVersion":"0.4.0","cniVersion":4}', '{"cniVersion":"0.4.0","x":"\u0001"}'];
    for (const input of inputs) {
      const r = await same(baseEnv('VERSION', { [`TORTIE_NODE_SOCKET`]: join(tmp, 'none.sock') }), input);
      expect(r.exitCode).to.equal(0);
      expect(r.json?.supportedVersions).to.deep.equal([...SUPPORTED_VERSIONS]);
    }
    const v = await run(C_BIN, baseEnv('VERSION'), '{"cniVersion":"0.4.0"}');
    expect(v.json).to.deep.equal({ cniVersion: '0.4.0', supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it('sends the same POST /cni body as the Node client, for awkward env and stdin bytes', async () => {
    const env = baseEnv('ADD', {
      CNI_CONTAINERID: 'q"uote\\back',
      CNI_NETNS: '/run/netns/\t\u0001\u001f\u007f',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAME=é€😀;IgnoreUnknown=1',
      CNI_X_EMPTY: '',
      NOT_CNI: 'left out',
    });
    const configs: (string | Buffer)[] = [
      JSON.stringify({ cniVersion: '1.0.0', name: 'n"q\\', x: '\u0000\u0001\u001f\t\n\r\b\f é😀 \u2028\u2029', nodeSocket: recSocket }),
      `{"cniVersion":"1.0.0","node\\u0053ocket":${JSON.stringify(recSocket)},"y":"\\ud83d\\ude00 \\u00e9"}`,
      `{"nodeSocket": 5, "nodeSocket" : ${JSON.stringify(recSocket)} }`,
    ];
    for (const config of configs) {
      recorded = [];
      answer = { exitCode: 0, stdout: '' };
      await same(env, config);
      expect(recorded).to.have.length(2);
      expect(recorded[0], String(config)).to.deep.equal(recorded[1]);
      expect((recorded[0] as { stdin: string }).stdin).to.equal(String(config));
      expect(Object.keys((recorded[0] as { env: Record<string, string> }).env).sort()).to.deep.equal(
        ['CNI_ARGS', 'CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_NETNS', 'CNI_PATH', 'CNI_X_EMPTY']);
    }
    // stdin that is not JSON (raw control bytes, bytes that are not UTF-8): the socket comes
    // from TORTIE_NODE_SOCKET, and the server decodes both bodies to the same text.
    recorded = [];
    await same({ ...env, TORTIE_NODE_SOCKET: recSocket }, Buffer.from([0x7b, 0x00, 0x01, 0x1f, 0x22, 0x5c, 0xff, 0xc3, 0x22, 0xe2, 0x82, 0x0a, 0xf0, 0x9f, 0x98, 0x80]));
    expect(recorded).to.have.length(2);
    expect(recorded[0]).to.deep.equal(recorded[1]);
  });

  it('prints the answer as the Node client does: escapes, no trailing newline, exit codes, HTTP errors', async () => {
    const env = baseEnv('ADD', { CNI_CONTAINERID: 'a', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' });
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'n', nodeSocket: recSocket });
    const answers: unknown[] = [
      { exitCode: 0, stdout: '{"cniVersion":"1.0.0","ips":[]}' },
      { exitCode: 0, stdout: 'ends with a newline\n' },
      { exitCode: 0, stdout: '' },
      { stdout: 'é€😀 \u0000\u0001 "q" \\ \u2028 \ud800 lone, \udc00 low', exitCode: 1 },
      { exitCode: 3, stdout: 'x'.repeat(300_000) },
      { exitCode: 0 },
      new Error('boom "quoted"'),
    ];
    for (const a of answers) {
      answer = a;
      const r = await same(env, config);
      if (a instanceof Error) {
        expect(r.json?.code).to.equal(11);
        expect(String(r.json?.msg)).to.equal(`node daemon at ${recSocket} answered HTTP 500: boom "quoted"`);
      }
    }
  });

  it('without a daemon it hands the call to the Node plugin, stdin intact', async () => {
    const stale = join(tmp, 'stale.sock');
    writeFileSync(stale, ''); // exists, but nothing listens: ECONNREFUSED
    const env = baseEnv('ADD', { CNI_CONTAINERID: 'nodaemon', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' });
    for (const nodeSocket of [join(tmp, 'missing.sock'), stale, '']) {
      // No datastore in the config: the in-process mode says so (code 7), after reading
      // the whole config (a large one: through the fallback's stdin copy).
      const config = JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'tortie', nodeSocket, pad: 'p'.repeat(200_000) });
      const r = await same(env, config);
      expect(r.json?.code, r.text).to.equal(7);
      expect(String(r.json?.msg)).to.match(/no "datastore" URL/);
    }
    // A whole ADD / CHECK / DEL in-process through the C client, in the test's namespace (where
    // etcd listens), with the config's hostNetns making the test namespace the host.
    const c = await newContainer();
    const config = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'tortie', nodeSocket: '', datastore: etcd.url, nodename: NODE, hostNetns: host, ...extra });
    const add = await run(C_BIN, ctrEnv('ADD', c), config());
    expect(add.exitCode, add.text).to.equal(0);
    expect((add.json as { ips: { address: string }[] }).ips[0]!.address).to.match(/^10\.232\./);
    const check = await run(C_BIN, ctrEnv('CHECK', c), config({ prevResult: add.json }));
    expect(check.exitCode, check.text).to.equal(0);
    expect((await run(C_BIN, ctrEnv('DEL', c), config())).exitCode).to.equal(0);
    expect((await listLinks(host)).map((l) => l.name)).to.not.include(hostVethName(c.id));
  });

  it('a stdin over 1 MiB gets a CNI error JSON, and nothing is sent', async () => {
    recorded = [];
    const config = `{"cniVersion":"0.4.0","nodeSocket":${JSON.stringify(recSocket)},"pad":"${'p'.repeat(2 << 20)}"}`;
    const r = await run(C_BIN, baseEnv('ADD', { CNI_CONTAINERID: 'big', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' }), config);
    expect(r.exitCode).to.equal(1);
    expect(r.json).to.include({ cniVersion: '1.1.0', code: 5 });
    expect(String(r.json?.msg)).to.match(/larger than 1048576 bytes/);
    expect(recorded).to.have.length(0);
  });
});
