/** Runs the built `tortie` command as a user would, and returns what it printed. */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const TORTIE_BIN = fileURLToPath(new URL('../../bin/tortie.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function tortie(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [TORTIE_BIN, ...args], {
    reject: false,
    input: options.input,
    env: options.env,
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}
