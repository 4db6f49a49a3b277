/**
 * The one entry point of tortie's benchmarks (`npm run bench -- <name> [options]`):
 *
 *   node dist/bench/run.js bgp [--n 100000,1000000] [--targets bird,frr,gobgp,tortie]
 *                              [--runs 3] [--scenarios announce,withdraw,fib] ...
 *   node dist/bench/run.js codec [N]
 *   node dist/bench/run.js ipam [options]     (bench/ipam's own entry point, when present)
 *
 * See bench/README.md for what each measures.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: node dist/bench/run.js <bgp|codec|ipam> [options]   (bgp --help for its options)`;

/** Runs another bench script as if it were the main module, with its own argv. */
async function runScript(candidates: string[], args: string[]): Promise<boolean> {
  for (const rel of candidates) {
    const url = new URL(rel, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    process.argv = [process.argv[0]!, fileURLToPath(url), ...args];
    await import(url.href);
    return true;
  }
  return false;
}

async function main(): Promise<number | undefined> {
  const [name, ...args] = process.argv.slice(2);
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  switch (name) {
    case 'bgp': {
      const { runBgpBench } = await import('./bgp/main.js');
      return runBgpBench(args);
    }
    case 'codec':
      await runScript([`./codec.${ext}`], args);
      return undefined;
    case 'ipam':
      if (!(await runScript(['run', 'bench', 'main', 'index'].map((b) => `./ipam/${b}.${ext}`), args))) {
        process.stderr.write('bench ipam: no entry point in bench/ipam/ (run, bench, main or index) yet\n');
        return 1;
      }
      return undefined;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return name === undefined ? 2 : 0;
    default:
      process.stderr.write(`bench: unknown benchmark "${name}"\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
