/**
 * Running the kernel's command-line tools (iproute2, sysctl, nsenter ...) with errors a
 * person can act on: one line naming the command and what it printed on stderr.
 */
import { execa } from 'execa';
import { UserError } from '../common/errors.js';

/** A command failed or could not be started. `message` is one line; details are fields. */
export class CommandError extends UserError {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  /** Text fed to the command's stdin. */
  input?: string;
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** The command as a person would type it, for messages. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Many lines of tool output as one line, so an error message stays one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/** Runs a command to completion and returns its stdout; throws CommandError on failure. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const command = formatCommand(file, args);
  const result = await execa(file, args, {
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    timeout: options.timeoutMs ?? 30_000,
    env: options.env,
    reject: false,
    stripFinalNewline: true,
  });
  if (result.failed) {
    const stderr = String(result.stderr ?? '');
    let why: string;
    if (result.timedOut) why = `timed out after ${options.timeoutMs ?? 30_000}ms`;
    else if (result.exitCode === undefined) why = result.signal ? `killed by ${result.signal}` : oneLine(result.shortMessage ?? 'could not run');
    else why = `exit status ${result.exitCode}`;
    const detail = oneLine(stderr);
    throw new CommandError(`${command}: ${why}${detail ? `: ${detail}` : ''}`, command, result.exitCode, stderr);
  }
  return String(result.stdout);
}

export interface IpBatchOptions {
  /** Run inside this named network namespace (`ip -n NAME`). */
  netns?: string;
  timeoutMs?: number;
}

/**
 * Applies many iproute2 commands (one per line, without the leading `ip`) in one process,
 * which is much faster than one `ip` per change. Stops at the first failing line, and the
 * error names that line.
 */
export async function ipBatch(lines: readonly string[], options: IpBatchOptions = {}): Promise<void> {
  if (lines.length === 0) return;
  for (const [i, line] of lines.entries()) {
    // A newline inside one line would silently become two commands.
    if (/[\n\r]/.test(line)) throw new UserError(`ip batch line ${i + 1}: contains a newline: ${JSON.stringify(line)}`);
  }
  const args = [...(options.netns === undefined ? [] : ['-n', options.netns]), '-batch', '-'];
  try {
    await run('ip', args, { input: lines.join('\n') + '\n', timeoutMs: options.timeoutMs });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const failed = /Command failed -:(\d+)/.exec(err.stderr);
    const where = options.netns === undefined ? '' : ` in netns ${options.netns}`;
    if (!failed) throw new CommandError(`ip batch${where}: ${err.message}`, err.command, err.exitCode, err.stderr);
    const n = Number(failed[1]);
    const reason = oneLine(err.stderr.replace(/Command failed -:\d+/, ''));
    throw new CommandError(
      `ip batch${where}, line ${n} "${lines[n - 1] ?? '?'}": ${reason || 'failed'}`,
      err.command,
      err.exitCode,
      err.stderr,
    );
  }
}
