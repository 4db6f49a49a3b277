/**
 * The tortie command line. Commands are thin: parse, call a library or a daemon's socket,
 * print. Exit status: 0 success, 1 bad input or failed operation (one line on stderr),
 * 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, UserError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { registerResourceCommands } from './commands/resources.js';
import { registerIpamCommands } from './commands/ipam.js';
import { registerBgpCommands } from './commands/bgp.js';
import { registerWorkloadCommands } from './commands/workload.js';
import { registerNodeCommands } from './commands/node.js';
import { registerLabCommands } from './commands/lab.js';
import { registerDnsCommands } from './commands/dns.js';
import { registerPatchCommands } from './commands/patch.js';
import { registerCompletionCommand } from './commands/completion.js';
import { examples } from './commands/common.js';

export function buildProgram(): Command {
  const program = new Command('tortie')
    .description('a Layer-3 container network fabric: BGP, IPAM on etcd, policy, CNI, labs')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  examples(program, ['tortie apply -f pools.yaml', 'tortie get ippools -o wide', 'tortie completion bash', 'tortie <command> --help']);
  examples(program.command('version'), ['tortie version'])
    .description('print the version')
    .action(() => {
      process.stdout.write(`tortie ${VERSION}\n`);
    });
  registerResourceCommands(program);
  registerPatchCommands(program);
  registerIpamCommands(program);
  registerBgpCommands(program);
  registerWorkloadCommands(program);
  registerNodeCommands(program);
  registerLabCommands(program);
  registerDnsCommands(program);
  registerCompletionCommand(program);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has printed its message already; help and version end with code 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`tortie: ${err.message}\n`);
    return 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`tortie: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`tortie: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

