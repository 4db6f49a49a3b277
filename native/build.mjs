// Builds the socket-option addon with node-gyp, offline, only when it is missing or older
// than its sources (so `npm run build` stays fast). node-gyp needs Node's headers: it finds
// them through --nodedir, taken from npm's `nodedir` setting when npm runs us, otherwise from
// the prefix of the running node when its include/node holds them (Debian's and the official
// tarballs do), so no header download is ever attempted.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'build', 'Release', 'tortie_sockopt.node');
const sources = [join(root, 'native', 'sockopt.c'), join(root, 'binding.gyp')];

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return sources.every((s) => statSync(s).mtimeMs <= built);
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

if (!upToDate() || process.argv.includes('--force')) {
  const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  const dir = nodeDir();
  const args = [gyp, 'rebuild', '--silent', ...(dir ? [`--nodedir=${dir}`] : [])];
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
}

// The CNI plugin's C client, bin/tortie-cni (see native/build-cni.mjs).
(await import('./build-cni.mjs')).buildCniClient(process.argv.includes('--force'));
