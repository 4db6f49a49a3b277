import { expect } from 'chai';
import { CommandError, ipBatch, run } from '../../../src/kernel/exec.js';
import { UserError } from '../../../src/common/errors.js';

// These run real, harmless commands (sh, ip link show): no namespace is changed.
describe('kernel/exec', () => {
  it('returns stdout of a command that succeeds', async () => {
    expect(await run('sh', ['-c', 'echo hello; echo noise >&2'])).to.equal('hello');
    expect(await run('cat', [], { input: 'fed in' })).to.equal('fed in');
  });

  it('fails with one line naming the command, its status and its stderr', async () => {
    const err = await run('sh', ['-c', 'echo first >&2; echo second >&2; exit 3']).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CommandError);
    expect((err as CommandError).message).to.equal(`sh -c 'echo first >&2; echo second >&2; exit 3': exit status 3: first; second`);
    expect((err as CommandError).exitCode).to.equal(3);
  });

  it('names a command that cannot be found, and one that timed out', async () => {
    const missing = await run('tortie-no-such-tool', ['x']).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(CommandError);
    expect((missing as Error).message).to.match(/^tortie-no-such-tool x: .*ENOENT/);
    expect((missing as Error).message).not.to.contain('\n');
    const slow = await run('sleep', ['5'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((slow as Error).message).to.equal('sleep 5: timed out after 100ms');
  });

  it('runs an ip batch in one process and names the line that failed', async () => {
    await ipBatch(['link show lo', 'link show lo']);
    const err = await ipBatch(['link show lo', 'link show tortie-nosuch']).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('ip batch, line 2 "link show tortie-nosuch": Device "tortie-nosuch" does not exist.');
    const newline = await ipBatch(['link show lo\nlink del lo']).catch((e: unknown) => e);
    expect(newline).to.be.instanceOf(UserError);
    expect((newline as Error).message).to.contain('ip batch line 1: contains a newline');
  });
});
