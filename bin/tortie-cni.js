#!/usr/bin/env node
// The tortie CNI plugin executable. Install it in the runtime's CNI_PATH under the name the
// network config's "type" gives (e.g. /opt/cni/bin/tortie -> this file). It runs built JS
// only (npm run build) and hands the work to the node daemon's socket when there is one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const client = new URL('../dist/src/cni/client.js', import.meta.url);
if (!existsSync(fileURLToPath(client))) {
  process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', code: 100, msg: 'tortie-cni: not built yet; run `npm run build` in the checkout' }) + '\n');
  process.exit(1);
}
const { main } = await import(client.href);
process.exitCode = await main();
