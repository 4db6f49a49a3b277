/**
 * `tortie bgp run` as a route server between two eBGP peers in their own namespaces: an
 * injector announces 100,000 unique /32s, and the monitor on the far side must count every
 * one of them, then every withdrawal. (How fast is the benchmark's business: bench/.)
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runTrial } from '../../../bench/bgp/trial.js';
import { TARGETS } from '../../../bench/bgp/targets/index.js';

const N = 100_000;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('tortie bgp run as a route server', function () {
  this.timeout(180_000);

  it(`carries ${N.toLocaleString('en')} /32s from one peer to another, then their withdrawal`, async () => {
    const lines: string[] = [];
    const results = await runTrial({ target: TARGETS.tortie!, n: N, run: 1, scenarios: ['announce', 'withdraw'], repoRoot: REPO, log: (l) => lines.push(l), settleMs: 200 });
    const failures = results.filter((r) => !r.ok).map((r) => `${r.scenario}: ${r.error}`);
    expect(failures, lines.slice(-10).join('\n')).to.deep.equal([]);
    expect(results.map((r) => r.scenario)).to.deep.equal(['announce', 'withdraw']);
    for (const r of results) expect(r.seconds, r.scenario).to.be.a('number').and.greaterThan(0);
  });
});
