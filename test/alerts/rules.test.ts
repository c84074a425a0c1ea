import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, evaluateReport, SCORE_RULE } from '../../src/alerts/index.ts';
import { report } from './helpers.ts';

const base = { threshold: 20, criticalThreshold: 5, wordRules: [] };

describe('alert rules', () => {
  const rules = compileRules(base);

  it('alerts strictly below the threshold, as a warning', () => {
    const out = evaluateReport(report({ citizens: [{ name: 'a', score: 19.99 }] }), rules);
    assert.deepEqual(out, [{ citizen: 'a', score: 19.99, severity: 'warning', rule: SCORE_RULE }]);
  });

  it('does not alert at the threshold or above', () => {
    assert.deepEqual(evaluateReport(report({ citizens: [{ name: 'a', score: 20 }, { name: 'b', score: 80 }] }), rules), []);
  });

  it('is critical strictly below criticalThreshold, warning at it', () => {
    const out = evaluateReport(report({ citizens: [{ name: 'a', score: 4.5 }, { name: 'b', score: 5 }, { name: 'c', score: 0 }] }), rules);
    assert.deepEqual(out.map((c) => [c.citizen, c.severity]), [['a', 'critical'], ['b', 'warning'], ['c', 'critical']]);
  });

  it('returns one shared empty result when nothing alerts (no allocation on the hot path)', () => {
    const a = evaluateReport(report({ citizens: [{ name: 'a', score: 50 }] }), rules);
    const b = evaluateReport(report({ citizens: [] }), rules);
    assert.equal(a.length, 0);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });

  it('gives one candidate per citizen name, with the lowest score', () => {
    const out = evaluateReport(report({ citizens: [{ name: 'a', score: 15 }, { name: 'a', score: 3 }, { name: 'b', score: 10 }] }), rules);
    assert.deepEqual(out, [
      { citizen: 'a', score: 3, severity: 'critical', rule: SCORE_RULE },
      { citizen: 'b', score: 10, severity: 'warning', rule: SCORE_RULE },
    ]);
  });

  describe('word rules', () => {
    const wordRules = compileRules({
      ...base,
      wordRules: [
        { words: ['Bomb', 'attack'], threshold: 50, severity: 'critical' },
        { words: ['protest'], severity: 'info' },
        { words: ['riot'], threshold: 10, severity: 'critical' },
      ],
    });

    it('raise the threshold when one of their words is heard (case-insensitive)', () => {
      const r = report({ citizens: [{ name: 'a', score: 40 }, { name: 'b', score: 50 }], words: ['hello', 'BOMB'] });
      assert.deepEqual(evaluateReport(r, wordRules), [{ citizen: 'a', score: 40, severity: 'critical', rule: 'words:0' }]);
    });

    it('do nothing when none of their words is heard', () => {
      const r = report({ citizens: [{ name: 'a', score: 40 }], words: ['hello', 'bombs'] });
      assert.deepEqual(evaluateReport(r, wordRules), []);
    });

    it('default to the global threshold, and the highest severity wins', () => {
      const r = report({ citizens: [{ name: 'a', score: 19 }, { name: 'b', score: 20 }], words: ['protest'] });
      // score rule says warning, the protest rule says info: warning wins and the score rule is named.
      assert.deepEqual(evaluateReport(r, wordRules), [{ citizen: 'a', score: 19, severity: 'warning', rule: SCORE_RULE }]);
    });

    it('can escalate a score alert when its own (lower) threshold is met', () => {
      const r = report({ citizens: [{ name: 'a', score: 9 }, { name: 'b', score: 10 }], words: ['riot'] });
      assert.deepEqual(evaluateReport(r, wordRules), [
        { citizen: 'a', score: 9, severity: 'critical', rule: 'words:2' },
        { citizen: 'b', score: 10, severity: 'warning', rule: SCORE_RULE },
      ]);
    });

    it('report at most one candidate per citizen when several rules fire', () => {
      const r = report({ citizens: [{ name: 'a', score: 3 }], words: ['attack', 'protest', 'riot'] });
      const out = evaluateReport(r, wordRules);
      assert.equal(out.length, 1);
      assert.deepEqual(out[0], { citizen: 'a', score: 3, severity: 'critical', rule: SCORE_RULE });
    });
  });
});
