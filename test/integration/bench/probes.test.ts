/**
 * Smoke test of the benchmark's probes: the injector's session straight into the monitor
 * in two network namespaces, N = 20,000 /32s announced, then all withdrawn. The monitor
 * must count exactly N distinct prefixes (no repeats, nothing out of range) and then
 * exactly N withdrawals. Timings are printed, not asserted (speed lives in bench/).
 */
import { expect } from 'chai';
import { NetnsScope } from '../../../src/kernel/index.js';
import { runFloor } from '../../../bench/lib/floor.js';

const N = 20_000;

describe('bench probes: injector -> monitor floor', function () {
  this.timeout(60_000);
  let scope: NetnsScope;

  beforeEach(() => {
    scope = new NetnsScope();
  });
  afterEach(async () => {
    await scope.cleanup();
  });

  it(`announces then withdraws exactly ${N} /32s, counted by the monitor`, async () => {
    const phases = await runFloor({ n: N, phases: ['announce', 'withdraw'], scope, timeoutMs: 30_000 });
    expect(phases.map((p) => p.phase)).to.deep.equal(['announce', 'withdraw']);
    const [announce, withdraw] = phases as [(typeof phases)[0], (typeof phases)[0]];

    // What the injector says it sent: N prefixes in ~25 UPDATEs of <= 4096 bytes.
    expect(announce.sent.prefixes).to.equal(N);
    expect(announce.sent.messages).to.be.within(Math.ceil(N / 820), Math.ceil(N / 780));

    // What the monitor saw when the last one arrived.
    expect(announce.seen).to.include({ present: N, distinctAnnounced: N, repeats: 0, outOfRange: 0, withdrawals: 0 });
    expect(announce.seen.announcements).to.equal(N);
    expect(withdraw.seen).to.include({ present: 0, distinctAnnounced: N, distinctWithdrawn: N, withdrawals: N, outOfRange: 0 });

    // The clocks are shared: the last prefix is seen after the first UPDATE was sent.
    expect(announce.seen.t).to.be.greaterThan(announce.sent.tFirst as number);
    expect(withdraw.seen.t).to.be.greaterThan(withdraw.sent.tFirst as number);
    console.log(`      floor ${N}: announce ${announce.seconds.toFixed(3)} s, withdraw ${withdraw.seconds.toFixed(3)} s`);
  });
});
