import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { tortie, TORTIE_BIN } from '../../helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('tortie CLI entry', () => {
  it('prints the package version', async () => {
    const r = await tortie(['version']);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.trim()).to.equal(`tortie ${pkg.version}`);
  });

  it('exits 2 with one line for an unknown command', async () => {
    const r = await tortie(['no-such-command']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/unknown command 'no-such-command'/);
    expect(r.stderr).not.to.match(/\bat .*\.js:\d+/);
  });
});

describe('tortie CLI output into a closed pipe', () => {
  it('ends quietly when the reader stops early (tortie --help | head -1)', async () => {
    const { execa } = await import('execa');
    const r = await execa('bash', ['-c', `"${process.execPath}" "${TORTIE_BIN}" --help | head -1; exit "\${PIPESTATUS[0]}"`], { reject: false });
    expect(r.stdout).to.match(/^Usage: tortie/);
    expect(r.stderr).to.not.match(/EPIPE|Error/);
    expect(r.exitCode).to.equal(0);
  });
});
