/**
 * `tortie completion bash`: the script generated from the program, sourced in a real bash and
 * asked what it would complete for a few command lines (COMP_WORDS/COMP_CWORD, as readline
 * sets them). The zsh script is the same function behind bashcompinit.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bashCompletion, completionKinds, zshCompletion } from '../../../src/cli/commands/completion.js';
import { buildProgram } from '../../../src/cli/program.js';
import { tortie } from '../../helpers/cli.js';

describe('tortie completion', function () {
  this.timeout(30_000);
  let dir: string;
  let script: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-completion-'));
    script = join(dir, 'tortie.bash');
    writeFileSync(script, bashCompletion(buildProgram()));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the completion function offers for `words`, the last one being the word under the cursor. */
  async function complete(...words: string[]): Promise<string[]> {
    const quoted = ['tortie', ...words].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = await execa('bash', ['--norc', '--noprofile', '-c', `source "$1" && COMP_WORDS=(${quoted}) && COMP_CWORD=${words.length} && _tortie && printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', script], { cwd: dir });
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('completes the top-level commands', async () => {
    const all = await complete('');
    for (const c of ['apply', 'get', 'delete', 'patch', 'label', 'ipam', 'bgp', 'lab', 'completion', 'version']) expect(all).to.include(c);
    expect(await complete('pa')).to.deep.equal(['patch']);
    expect(await complete('l')).to.deep.equal(['lab', 'label']);
  });

  it('completes subcommands of a group, also after global options with values', async () => {
    expect(await complete('ipam', '')).to.deep.equal(['assign', 'check', 'release', 'show']);
    expect(await complete('--datastore', 'etcd://10.0.0.1:2379', 'bgp', 'p')).to.deep.equal(['peers']);
    expect(await complete('lab', 'do')).to.deep.equal(['down']);
  });

  it('completes resource kinds for get, delete, patch and label', async () => {
    expect(await complete('get', 'ipp')).to.deep.equal(['ippool', 'ippools']);
    expect(await complete('patch', 'glob')).to.deep.equal(['globalnetworkpolicies', 'globalnetworkpolicy']);
    expect(await complete('label', '-n', 'shop', 'work')).to.deep.equal(['workloadendpoint', 'workloadendpoints']);
    expect(await complete('delete', '')).to.deep.equal([...completionKinds()].sort());
    // the name after the kind is not a kind
    expect(await complete('get', 'ippool', 'ipp')).to.deep.equal([]);
  });

  it('completes long options of the command and the global ones', async () => {
    const patch = await complete('patch', 'ippool', 'pool-a', '--');
    for (const o of ['--patch', '--type', '--namespace', '--datastore', '--help']) expect(patch).to.include(o);
    expect(patch).not.to.include('--overwrite');
    expect(patch).not.to.include('--version');
    expect(await complete('label', '--ov')).to.deep.equal(['--overwrite']);
    expect(await complete('ipam', 'show', '--show-b')).to.deep.equal(['--show-blocks', '--show-borrowed']);
  });

  it('completes option values that have choices, and files for the others', async () => {
    expect(await complete('get', 'ippool', '-o', '')).to.deep.equal(['json', 'table', 'wide', 'yaml']);
    expect(await complete('get', 'ippool', '--output', 'y')).to.deep.equal(['yaml']);
    expect(await complete('patch', 'ippool', 'a', '--type', '')).to.deep.equal(['json', 'merge']);
    expect(await complete('completion', '')).to.deep.equal(['bash', 'zsh']);
    writeFileSync(join(dir, 'pools.yaml'), '');
    expect(await complete('apply', '-f', 'poo')).to.deep.equal(['pools.yaml']);
  });

  it('is printed by the built binary, for bash and zsh', async () => {
    const bash = await tortie(['completion', 'bash']);
    expect(bash.exitCode, bash.stderr).to.equal(0);
    expect(bash.stdout).to.equal(bashCompletion(buildProgram()).trimEnd());
    expect(bash.stdout).to.match(/^complete -F _tortie tortie$/m);
    const syntax = await execa('bash', ['-n'], { input: bash.stdout, reject: false });
    expect(syntax.exitCode, syntax.stderr).to.equal(0);
    const zsh = await tortie(['completion', 'zsh']);
    expect(zsh.exitCode, zsh.stderr).to.equal(0);
    expect(zsh.stdout).to.equal(zshCompletion(buildProgram()).trimEnd());
    expect(zsh.stdout).to.match(/^#compdef tortie\n/);
    expect(zsh.stdout).to.match(/^autoload -U \+X bashcompinit && bashcompinit$/m);
    const bad = await tortie(['completion', 'fish']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.match(/fish/);
  });
});
