/**
 * The alert worker's scan that skips parsing reports which cannot alert: it must never skip one that would alert.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cannotAlert } from '../../src/alerts/report-scan.ts';
import { compileRules, evaluateReport } from '../../src/alerts/rules.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { Fleet } from '../../src/simulator/index.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('alert worker: reports that cannot alert are not parsed', () => {
  it('skips a report only when every score is at or above the highest threshold', () => {
    const r = (scores: string) => bytes(`{"reportId":"d:1","citizens":[${scores}],"words":[]}`);
    assert.equal(cannotAlert(r('{"name":"a","score":80},{"name":"b","score":50}'), 50), true);
    assert.equal(cannotAlert(r(''), 50), true, 'no citizen: nothing can alert');
    assert.equal(cannotAlert(r('{"name":"a","score":80},{"name":"b","score":49.9}'), 50), false);
    assert.equal(cannotAlert(r('{"name":"a","score":-3}'), 50), false);
    assert.equal(cannotAlert(r('{"name":"a","score":5e1}'), 50), true);
    assert.equal(cannotAlert(r('{"name":"a","score":4.9e1}'), 50), false);
  });

  it('parses whenever the bytes could hide a score: escapes, whitespace, a score word, a number that does not read', () => {
    assert.equal(cannotAlert(bytes('{"citizens":[{"name":"a","sc\\u006fre":1}]}'), 50), false, 'a key spelled with escapes');
    assert.equal(cannotAlert(bytes('{"citizens":[{"name":"a","score" :1}]}'), 50), false);
    assert.equal(cannotAlert(bytes('{"citizens":[{"name":"a","score": 1}]}'), 50), false);
    assert.equal(cannotAlert(bytes('{"citizens":[{"name":"a","score":"1"}]}'), 50), false);
    assert.equal(cannotAlert(bytes('{"words":["score"],"citizens":[{"name":"a","score":90}]}'), 50), false);
    assert.equal(cannotAlert(bytes('{"citizens":[{"name":"a","score":90,"score":10}]}'), 50), false, 'a duplicate key');
    // A name containing the key: its quotes are escaped in JSON, so the scan does not read it as a key.
    assert.equal(cannotAlert(bytes(JSON.stringify({ citizens: [{ name: '"score":1', score: 90 }] })), 50), true);
  });

  it('never skips a simulated report that the rules would alert on', () => {
    const rules = compileRules({ threshold: 30, criticalThreshold: 10, wordRules: [{ words: ['riot'], threshold: 55, severity: 'critical' }] });
    const reports = new Fleet({ drones: 200, seed: 3, start: Date.parse('2026-11-20T00:00:00Z') }).take(20_000);
    let skipped = 0;
    let alerting = 0;
    for (const [i, r] of reports.entries()) {
      const accepted = { ...r, reportId: `${r.droneId}:${i}`, ts: Date.parse(r.timestamp), receivedAt: Date.parse(r.timestamp), tenant: 't' } as AcceptedReport;
      const alerts = evaluateReport(accepted, rules).length > 0;
      if (alerts) alerting++;
      if (cannotAlert(bytes(JSON.stringify(accepted)), rules.maxThreshold)) {
        skipped++;
        assert.equal(alerts, false, `report ${i} alerts but was skipped`);
      }
    }
    assert.ok(alerting > 0 && skipped > reports.length / 2, `alerting ${alerting}, skipped ${skipped} of ${reports.length}`);
  });
});
