// Mocha preload: ts-node as an ESM loader, type-checking left to `tsc --noEmit` (one pass per run).
import { register } from 'node:module';
process.env.TS_NODE_TRANSPILE_ONLY ??= 'true';
process.env.TS_NODE_PROJECT ??= new URL('../tsconfig.json', import.meta.url).pathname;
process.setSourceMapsEnabled(true);
register('ts-node/esm', import.meta.url);
