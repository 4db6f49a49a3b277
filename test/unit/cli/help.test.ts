/**
 * Every command's --help ends with an "Examples:" section (issue 8, CLI completeness): walks
 * the whole commander program and names each command that has none.
 */
import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';

/** The full --help text of a command, as `tortie ... --help` prints it (epilogues included). */
function helpText(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function walk(command: Command, path: string, out: { path: string; command: Command }[] = []) {
  out.push({ path, command });
  for (const sub of command.commands) walk(sub, `${path} ${sub.name()}`, out);
  return out;
}

describe('tortie --help', () => {
  const commands = walk(buildProgram(), 'tortie');

  it('walks a program with the calicoctl verbs and the subcommand groups', () => {
    const paths = commands.map((c) => c.path);
    for (const p of ['tortie get', 'tortie patch', 'tortie label', 'tortie completion', 'tortie ipam show', 'tortie bgp peers', 'tortie lab up']) expect(paths).to.include(p);
  });

  it('has an Examples: section, with at least one tortie command line, for every command and subcommand', () => {
    const missing = commands.filter(({ command }) => !/\nExamples:\n {2}.*\btortie\b/.test(helpText(command))).map((c) => c.path);
    expect(missing, `commands whose --help has no "Examples:" section: ${missing.join(', ')}`).to.deep.equal([]);
  });

  it('shows each command its own examples, not its parent group\'s', () => {
    const get = helpText(commands.find((c) => c.path === 'tortie get')!.command);
    expect(get).to.match(/\n {2}tortie get /);
    const patch = helpText(commands.find((c) => c.path === 'tortie patch')!.command);
    expect(patch).to.match(/\n {2}tortie patch ippool /);
    expect(patch.match(/Examples:/g)).to.have.length(1);
  });
});
