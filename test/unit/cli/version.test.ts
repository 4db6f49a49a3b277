import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { tortie } from '../../helpers/cli.js';

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
