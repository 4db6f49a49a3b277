#!/usr/bin/env node
// The `tortie` command: runs the built CLI (npm run build). Built JS starts in ~0.4 s,
// which matters for the CNI plugin and scripts that call tortie in loops.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

process.setSourceMapsEnabled(true);
// `tortie ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('tortie: not built yet; run `npm run build` in the checkout\n');
  process.exit(1);
}
await import(main.href);
