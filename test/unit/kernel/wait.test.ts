import { expect } from 'chai';
import { waitFor, WaitTimeoutError } from '../../helpers/wait.js';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : null), { intervalMs: 1 });
    expect(value).to.deep.equal({ calls: 3 });
  });

  it('awaits async predicates and treats throws as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls < 3) throw new Error('not up');
        return 'up';
      },
      { intervalMs: 1 },
    );
    expect(value).to.equal('up');
  });

  it('times out naming what it waited for and the last value', async () => {
    const started = Date.now();
    const err = await waitFor(() => 0, { timeoutMs: 60, intervalMs: 10, what: 'the answer' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(WaitTimeoutError);
    expect((err as Error).message).to.equal('timed out after 60ms waiting for the answer (last value: 0)');
    expect(Date.now() - started).to.be.at.least(55);
  });

  it('reports the last error on timeout', async () => {
    const err = await waitFor(
      () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 20, intervalMs: 5, what: 'port 179' },
    ).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('timed out after 20ms waiting for port 179 (error: connection refused)');
  });
});
