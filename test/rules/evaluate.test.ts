import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, evaluateReport } from '../../src/alerts/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { compileRuleSet, evaluateRuleSet, ruleSetFromConfig } from '../../src/rules/compile.ts';
import { checkRuleSet } from '../../src/rules/validate.ts';
import type { RuleSet } from '../../src/rules/types.ts';
import { report } from '../alerts/helpers.ts';

import { CITE, INSIDE, OUTSIDE } from './fixtures/zones.ts';

describe('rule sets: evaluation', () => {
  it("the configuration's rules as a rule set raise exactly what evaluateReport raised (same rule ids), with the version", () => {
    const config = { threshold: 20, criticalThreshold: 5, wordRules: [{ words: ['Bombe', 'arme'], threshold: 50, severity: 'critical' as const }, { words: ['manif'], severity: 'info' as const }] };
    const old = compileRules(config);
    const rs = compileRuleSet(checkRuleSet(ruleSetFromConfig(config)), 1);
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const vocab = ['bombe', 'ARME', 'manif', 'pain', 'métro'];
    let alerting = 0;
    for (let i = 0; i < 3000; i++) {
      const r = report({
        ts: 1_700_000_000_000 + i,
        citizens: Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({ name: `c${Math.floor(rnd() * 5)}`, score: Math.round(rnd() * 1000) / 10 })),
        words: vocab.filter(() => rnd() < 0.2),
      });
      const want = evaluateReport(r, old).map((c) => ({ ...c, ruleVersion: 1 }));
      assert.deepEqual(evaluateRuleSet(r, rs), want, JSON.stringify(r));
      if (want.length > 0) alerting++;
    }
    assert.ok(alerting > 300, `enough alerting reports to mean something (${alerting})`);
  });

  it('a zone rule raises inside its zone and not outside; a stricter threshold near a site', () => {
    const set: RuleSet = checkRuleSet({
      zones: [{ id: 'cite', name: 'Île de la Cité', geometry: CITE }],
      rules: [
        { id: 'base', kind: 'score', threshold: 20, criticalThreshold: 5 },
        { id: 'near-cite', kind: 'score', threshold: 40, criticalThreshold: 10, zone: 'cite' },
      ],
    });
    const rs = compileRuleSet(set, 3);
    const c = [{ name: 'a', score: 30 }];
    assert.deepEqual(evaluateRuleSet(report({ citizens: c, position: INSIDE }), rs), [{ citizen: 'a', score: 30, severity: 'warning', rule: 'near-cite', ruleVersion: 3 }]);
    assert.deepEqual(evaluateRuleSet(report({ citizens: c, position: OUTSIDE }), rs), []);
    assert.equal(evaluateRuleSet(report({ citizens: [{ name: 'a', score: 8 }], position: INSIDE }), rs)[0]!.severity, 'critical');
    assert.equal(evaluateRuleSet(report({ citizens: [{ name: 'a', score: 8 }], position: OUTSIDE }), rs)[0]!.rule, 'base');
  });

  it('zone-entry: a person of concern inside the zone alerts whatever the score; a MultiPolygon hole is outside', () => {
    const holed = { type: 'MultiPolygon' as const, coordinates: [[CITE.coordinates[0]!, [[2.349, 48.852], [2.351, 48.852], [2.351, 48.854], [2.349, 48.854], [2.349, 48.852]]]] };
    const rs = compileRuleSet(checkRuleSet({
      zones: [{ id: 'cite', geometry: holed }],
      rules: [{ id: 'watch', kind: 'zone-entry', citizens: ['Jean Dupont'], zone: 'cite', severity: 'critical' }],
    }), 2);
    assert.equal(rs.maxThreshold, Infinity, 'no fast path: any score may alert');
    const seen = (pos: { lat: number; lon: number }) => evaluateRuleSet(report({ citizens: [{ name: 'Jean Dupont', score: 99 }, { name: 'x', score: 1 }], position: pos }), rs);
    assert.deepEqual(seen({ lat: 48.8505, lon: 2.3455 }), [{ citizen: 'Jean Dupont', score: 99, severity: 'critical', rule: 'watch', ruleVersion: 2 }]);
    assert.deepEqual(seen(INSIDE), [], 'in the hole');
    assert.deepEqual(seen(OUTSIDE), []);
  });

  it('a disabled rule never fires', () => {
    const rs = compileRuleSet(checkRuleSet({ rules: [{ id: 's', kind: 'score', threshold: 20, criticalThreshold: 5, enabled: false }] }), 2);
    assert.deepEqual(evaluateRuleSet(report({ citizens: [{ name: 'a', score: 1 }] }), rs), []);
  });
});

describe('rule sets: validation', () => {
  it('names every field at fault', () => {
    try {
      checkRuleSet({
        zones: [{ id: 'z', geometry: { type: 'Polygon', coordinates: [[[2, 48], [3, 48], [3, 49], [2, 48.5]]] } }, { id: 'Bad Id', geometry: { type: 'Point', coordinates: [2, 48] } }],
        rules: [
          { id: 'a', kind: 'score', threshold: 20, criticalThreshold: 30 },
          { id: 'a', kind: 'words', words: [], threshold: 120, severity: 'loud', zone: 'nowhere' },
          { id: 'c', kind: 'zone-entry', citizens: ['x'], severity: 'info' },
          { id: 'd', kind: 'teleport' },
        ],
      });
      assert.fail('accepted');
    } catch (e) {
      assert.ok(isDwError(e) && e.code === 'DW_RULES_INVALID' && e.status === 400);
      assert.deepEqual(e.details!.map((d) => d.field), [
        'zones[0].geometry.coordinates[0]', 'zones[1].id', 'zones[1].geometry',
        'rules[0].criticalThreshold', 'rules[1].zone', 'rules[1].words', 'rules[1].threshold', 'rules[1].severity', 'rules[2].zone', 'rules[3].kind',
      ]);
    }
  });
});
