// Builds bin/tortie-cni, the CNI plugin's C client (native/cni-client.c), with the system C
// compiler ($CC, else cc), offline, only when it is missing or older than its inputs. The
// supported CNI versions are taken from src/cni/versions.ts so that there is one list, and
// the node running the build is the fallback when `node` is not on the runtime's PATH.
// The binary is a build product (ignored by git); bin/tortie-cni.js stays next to it as the
// fallback it execs when there is no daemon socket.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'bin', 'tortie-cni');
const source = join(root, 'native', 'cni-client.c');
const versionsTs = join(root, 'src', 'cni', 'versions.ts');
const inputs = [source, versionsTs, fileURLToPath(import.meta.url)];

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return inputs.every((s) => statSync(s).mtimeMs <= built);
}

export function buildCniClient(force = false) {
  if (!force && upToDate()) return;
  const text = readFileSync(versionsTs, 'utf8');
  const list = /SUPPORTED_VERSIONS\s*=\s*\[([^\]]*)\]/.exec(text)?.[1];
  const latest = /LATEST_VERSION\s*=\s*'([^']+)'/.exec(text)?.[1];
  const versions = list ? [...list.matchAll(/'([0-9.]+)'/g)].map((m) => m[1]) : [];
  if (!versions.length || !latest) throw new Error(`${versionsTs}: cannot find SUPPORTED_VERSIONS / LATEST_VERSION`);
  const cstr = (s) => JSON.stringify(s); // plain ASCII paths and versions: a C string too
  const tmp = `${output}.tmp-${process.pid}`;
  execFileSync(process.env.CC || 'cc', [
    '-std=c11', '-O2', '-Wall', '-Wextra', '-Werror=implicit-function-declaration',
    `-DTORTIE_SUPPORTED_VERSIONS=${versions.map(cstr).join(',')}`,
    `-DTORTIE_LATEST_VERSION=${cstr(latest)}`,
    `-DTORTIE_NODE_PATH=${cstr(process.execPath)}`,
    '-o', tmp, source,
  ], { stdio: 'inherit' });
  renameSync(tmp, output); // atomic: a runtime calling the plugin never sees half a binary
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildCniClient(process.argv.includes('--force'));
