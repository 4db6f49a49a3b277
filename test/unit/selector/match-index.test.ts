import { expect } from 'chai';
import fc from 'fast-check';
import { printSelector } from '../../../src/selector/canonical.js';
import type { EvaluationContext, Labels } from '../../../src/selector/evaluate.js';
import { SelectorIndex } from '../../../src/selector/match-index.js';
import { parseSelector } from '../../../src/selector/selector.js';
import { SelectorError } from '../../../src/selector/errors.js';
import { labels as labelsArb, selectorNode } from './arbitraries.js';

type Event = ['started' | 'stopped', string, string];

/** An index whose listener records every event, and checks each one is a real change. */
function recordingIndex(): { index: SelectorIndex; events: Event[]; pairs: Set<string> } {
  const events: Event[] = [];
  const pairs = new Set<string>();
  const index = new SelectorIndex({
    onMatchStarted(s, i) {
      const pair = `${s}|${i}`;
      expect(pairs.has(pair), `started twice: ${pair}`).to.equal(false);
      pairs.add(pair);
      events.push(['started', s, i]);
    },
    onMatchStopped(s, i) {
      const pair = `${s}|${i}`;
      expect(pairs.has(pair), `stopped without start: ${pair}`).to.equal(true);
      pairs.delete(pair);
      events.push(['stopped', s, i]);
    },
  });
  return { index, events, pairs };
}

describe('SelectorIndex', () => {
  it('reports matches as items arrive, change labels and leave', () => {
    const { index, events } = recordingIndex();
    index.updateSelector('dbs', "role == 'db'");
    index.updateSelector('all', '');
    expect(events).to.deep.equal([]);

    index.updateItem('ep1', { role: 'db' });
    expect(events.splice(0)).to.have.deep.members([
      ['started', 'dbs', 'ep1'],
      ['started', 'all', 'ep1'],
    ]);

    index.updateItem('ep1', { role: 'web' });
    expect(events.splice(0)).to.deep.equal([['stopped', 'dbs', 'ep1']]);

    index.updateItem('ep1', { role: 'web', x: '1' });
    expect(events.splice(0)).to.deep.equal([]);

    index.deleteItem('ep1');
    expect(events.splice(0)).to.deep.equal([['stopped', 'all', 'ep1']]);
    expect(index.itemCount).to.equal(0);
    expect(index.matchingSelectors('ep1')).to.deep.equal([]);
  });

  it('reports matches as selectors arrive, change and leave, stops before starts', () => {
    const { index, events } = recordingIndex();
    index.updateItem('a', { role: 'db' });
    index.updateItem('b', { role: 'web' });
    index.updateItem('h', { role: 'db' }, { isGlobal: true });

    index.updateSelector('s', "role == 'db'");
    expect(events.splice(0)).to.have.deep.members([
      ['started', 's', 'a'],
      ['started', 's', 'h'],
    ]);
    expect(index.matchingItems('s').sort()).to.deep.equal(['a', 'h']);

    index.updateSelector('s', "role == 'web' || global()");
    expect(events.splice(0)).to.deep.equal([
      ['stopped', 's', 'a'],
      ['started', 's', 'b'],
    ]);

    index.deleteSelector('s');
    expect(events.splice(0)).to.have.deep.members([
      ['stopped', 's', 'b'],
      ['stopped', 's', 'h'],
    ]);
    expect(index.selectorCount).to.equal(0);
    expect(index.matchingItems('s')).to.deep.equal([]);
  });

  it('ignores a selector rewritten to the same meaning, and deletes of unknown ids', () => {
    const { index, events } = recordingIndex();
    index.updateItem('a', { role: 'db' });
    index.updateSelector('s', "role in {'db'}");
    events.splice(0);
    index.updateSelector('s', 'role=="db"');
    index.deleteSelector('nope');
    index.deleteItem('nope');
    expect(events).to.deep.equal([]);
    expect(index.matchingItems('s')).to.deep.equal(['a']);
  });

  it('copies the labels it is given', () => {
    const { index } = recordingIndex();
    const labels: Record<string, string> = { role: 'db' };
    index.updateItem('a', labels);
    labels['role'] = 'web';
    index.updateSelector('s', "role == 'db'");
    expect(index.matchingItems('s')).to.deep.equal(['a']);
  });

  it('refuses a selector that does not parse and leaves its state alone', () => {
    const { index, events } = recordingIndex();
    index.updateItem('a', {});
    index.updateSelector('s', 'all()');
    events.splice(0);
    expect(() => index.updateSelector('s', 'has(')).to.throw(SelectorError);
    expect(events).to.deep.equal([]);
    expect(index.matchingItems('s')).to.deep.equal(['a']);
  });

  type Op =
    | { op: 'updateSelector'; id: string; text: string }
    | { op: 'deleteSelector'; id: string }
    | { op: 'updateItem'; id: string; labels: Labels; ctx: EvaluationContext }
    | { op: 'deleteItem'; id: string };

  const selectorIds = fc.constantFrom('s0', 's1', 's2', 's3');
  const itemIds = fc.constantFrom('i0', 'i1', 'i2', 'i3', 'i4');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('updateSelector' as const), id: selectorIds, text: selectorNode.map(printSelector) }),
    fc.record({ op: fc.constant('deleteSelector' as const), id: selectorIds }),
    fc.record({
      op: fc.constant('updateItem' as const),
      id: itemIds,
      labels: labelsArb,
      ctx: fc.record({ isGlobal: fc.boolean() }),
    }),
    fc.record({ op: fc.constant('deleteItem' as const), id: itemIds }),
  );

  it('agrees with brute force after every change of a random sequence', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { index, pairs } = recordingIndex();
        const selectors = new Map<string, string>();
        const items = new Map<string, { labels: Labels; ctx: EvaluationContext }>();
        for (const step of ops) {
          switch (step.op) {
            case 'updateSelector':
              index.updateSelector(step.id, step.text);
              selectors.set(step.id, step.text);
              break;
            case 'deleteSelector':
              index.deleteSelector(step.id);
              selectors.delete(step.id);
              break;
            case 'updateItem':
              index.updateItem(step.id, step.labels, step.ctx);
              items.set(step.id, { labels: step.labels, ctx: step.ctx });
              break;
            case 'deleteItem':
              index.deleteItem(step.id);
              items.delete(step.id);
              break;
          }
          const expected = new Set<string>();
          for (const [s, text] of selectors) {
            const selector = parseSelector(text);
            for (const [i, item] of items) if (selector.matches(item.labels, item.ctx)) expected.add(`${s}|${i}`);
          }
          expect([...pairs].sort(), JSON.stringify(step)).to.deep.equal([...expected].sort());
          const fromQueries = [...selectors.keys()].flatMap((s) => index.matchingItems(s).map((i) => `${s}|${i}`));
          expect(fromQueries.sort()).to.deep.equal([...expected].sort());
          for (const i of items.keys()) {
            const fromItem = index.matchingSelectors(i).map((s) => `${s}|${i}`);
            expect(fromItem.sort()).to.deep.equal([...expected].filter((p) => p.endsWith(`|${i}`)).sort());
          }
        }
        expect(index.selectorCount).to.equal(selectors.size);
        expect(index.itemCount).to.equal(items.size);
      }),
      { numRuns: 300 },
    );
  });
});
