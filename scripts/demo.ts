/**
 * The demo: the whole system in a lab. Brings up labs/containerlab/tor-frr (two racks, each
 * behind an FRR top-of-rack router; four tortie hosts peering eBGP with their ToR; etcd;
 * four workloads) with `tortie lab up`, shows the sessions and the ToRs' routes, prints who
 * reaches whom, applies a sample policy, prints the matrix again with the policy that denies
 * each denied pair, and leaves the lab running for the user to look around.
 *
 * Every step is the tortie command a user would type, printed before it runs. Running the
 * demo again first takes down the lab a previous run left.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { readState } from '../src/lab/state.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'tortie.js');
const LAB = process.env.TORTIE_DEMO_LAB ?? 'tor-frr';
const FILE = `labs/containerlab/${LAB}/${LAB}.clab.yml`;
const POLICY = `labs/containerlab/${LAB}/policy.yaml`;

const bold = (t: string) => (process.stdout.isTTY ? `\x1b[1m${t}\x1b[0m` : t);
const say = (text: string) => process.stdout.write(`\n${bold(`== ${text}`)}\n`);
const show = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

/** Runs `tortie ARGS` as the user would, printing the command and its output. */
async function tortie(args: string[], options: { env?: Record<string, string>; allowFail?: boolean } = {}): Promise<number> {
  const envText = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
  show(`$ ${envText}tortie ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  const r = await execa(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'inherit', reject: false, env: { TORTIE_LOG_LEVEL: 'warn', ...options.env } });
  if (r.exitCode !== 0 && !options.allowFail) throw new Error(`tortie ${args.join(' ')} failed (exit ${r.exitCode})`);
  return r.exitCode ?? 1;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo makes network namespaces: run it as root (sudo bash scripts/demo.sh)');
  if (!existsSync(join(ROOT, FILE))) throw new Error(`${FILE} is missing`);
  if (readState(LAB)) {
    say(`A lab ${LAB} from an earlier run is up: taking it down first`);
    await tortie(['lab', 'down', FILE]);
  }

  say(`Bring up ${LAB}: a containerlab topology, realized with network namespaces (no Docker)`);
  show(`  ${FILE}: two racks, each behind an FRR top-of-rack router (AS 65001, 65002);`);
  show('  four tortie hosts (rack 1: AS 65101, rack 2: AS 65102) peer eBGP with their ToR, no mesh;');
  show('  the ToRs peer eBGP with each other. An etcd for the lab; four workloads.');
  await tortie(['lab', 'up', FILE]);
  const state = readState(LAB);
  if (!state?.datastore) throw new Error(`lab ${LAB} has no state after lab up`);
  const ds = { TORTIE_DATASTORE: state.datastore.url };

  say('A host\'s view: its BGP session with its ToR');
  await tortie(['lab', 'exec', FILE, 'host1', '--', 'tortie', 'node', 'status']);
  say('The ToR of rack 1 carries each workload\'s /32: its own rack\'s directly, rack 2\'s via tor2');
  await tortie(['lab', 'exec', FILE, 'tor1', '--', 'vtysh', '-c', 'show ip route bgp']);

  say('Who reaches whom, before any policy (ping from every workload to every other)');
  await tortie(['lab', 'reach', FILE]);

  say(`Apply a sample policy: ${POLICY}`);
  show('  db-from-web:     workloads with app=db accept traffic only from app=web');
  show('  web-from-client: workloads with app=web accept traffic only from app=client');
  await tortie(['apply', '-f', POLICY], { env: ds });

  say('Who reaches whom now (✓ reaches, ✗ denied; for each denied pair, the policy that denies it)');
  const code = await tortie(['lab', 'reach', FILE], { allowFail: true });

  say('The lab is still running. Look around:');
  show(`  npx tortie lab status ${FILE}  # nodes, BGP sessions, workloads`);
  show(`  npx tortie lab exec ${FILE} host1 -- tortie node status`);
  show(`  npx tortie lab exec ${FILE} tor2 -- vtysh -c 'show bgp summary'`);
  show(`  npx tortie lab exec ${FILE} client-1 -- ping -c 2 ${state.workloads.find((w) => w.short === 'web-2')?.ips[0] ?? '10.65.x.y'}`);
  show(`  npx tortie lab graph ${FILE} --out ${LAB}.svg  # a picture with session states`);
  show(`  TORTIE_DATASTORE=${state.datastore.url} npx tortie get networkpolicy -o wide`);
  show(`  npx tortie lab reach ${FILE}  # the matrix again, e.g. after editing ${POLICY}`);
  show('Tear it all down (namespaces, processes, etcd, files):');
  show(`  npx tortie lab down ${FILE}`);
  if (code !== 0) throw new Error('some pairs did not behave as the policies say (marked ! above)');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`\ndemo: ${err instanceof Error ? err.message : String(err)}\n`);
  if (readState(LAB)) process.stderr.write(`demo: the lab is left up for a look; remove it with: npx tortie lab down ${FILE}\n`);
  process.exitCode = 1;
}
