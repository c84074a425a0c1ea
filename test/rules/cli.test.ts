/**
 * `dronewatch rules list|show|versions|apply|disable|test` and `silences list|add|remove`, run as a user would (the
 * real CLI in a child process) on a data directory, as the API and the workers see it (rules.db beside alerts.db).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../src/testkit/index.ts';
import { archiveReports } from '../analysis/helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { knownReports, PROPOSED } from './dry-run-fixture.ts';

describe('rules and silences CLI', () => {
  const tmp = tempDir('dw-rules-cli-');
  const data = ['--data', tmp.dir, '--tenant', 'paris'];
  const file = path.join(tmp.dir, 'rules.json');
  const ok = async (args: string[]): Promise<string> => {
    const r = await runCli([...args, ...data]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    await archiveReports(path.join(tmp.dir, 'lake'), knownReports());
    writeFileSync(file, JSON.stringify(PROPOSED));
  });
  after(() => tmp.cleanup());

  it('lists the configuration\'s rules as version 1, applies a file, disables a rule, shows any version', { timeout: 120_000 }, async () => {
    const v1 = JSON.parse(await ok(['rules', 'list', '--format', 'json'])) as { version: number; id: string }[];
    assert.deepEqual(v1.map((r) => [r.version, r.id]), [[1, 'score-below-threshold']]);
    assert.match(await ok(['rules', 'apply', file, '--reason', 'summit', '--by', 'lucie']), /version 2 of the rules of paris is in force \(2 rules, 1 zones\)/);
    assert.match(await ok(['rules', 'disable', 'near-cite', '--reason', 'summit over']), /version 3/);
    const shown = JSON.parse(await ok(['rules', 'show', '2'])) as { author: string; rules: { id: string; enabled: boolean }[] };
    assert.deepEqual([shown.author, shown.rules.map((r) => r.enabled)], ['lucie', [true, true]]);
    const versions = JSON.parse(await ok(['rules', 'versions', '--format', 'json'])) as { version: number; reason: string }[];
    assert.deepEqual(versions.map((v) => v.reason), [versions[0]!.reason, 'summit', 'summit over']);

    const stale = await runCli(['rules', 'apply', file, '--reason', 'late', '--base-version', '1', ...data]);
    assert.equal(stale.code, 2, 'a refusal (DwError) exits 2');
    assert.match(stale.stderr, /DW_RULES_CONFLICT|at version 3, not 1/);
    writeFileSync(path.join(tmp.dir, 'bad.json'), JSON.stringify({ rules: [{ id: 'x', kind: 'score', threshold: 10, criticalThreshold: 30 }] }));
    const bad = await runCli(['rules', 'apply', path.join(tmp.dir, 'bad.json'), '--reason', 'x', ...data]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /rules\[0\]\.criticalThreshold/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  });

  it('tests a file over the lake: the same counts as the API', { timeout: 120_000 }, async () => {
    const r = JSON.parse(await ok(['rules', 'test', file, '--from', '2026-11-01', '--to', '2026-11-03', '--format', 'json'])) as { reports: number; proposed: { alerts: number; perDay: Record<string, number> }; inForce: { version: number } };
    assert.deepEqual([r.reports, r.proposed.alerts, r.proposed.perDay, r.inForce.version], [46, 4, { '2026-11-01': 3, '2026-11-02': 1 }, 3]);
    const table = await ok(['rules', 'test', file, '--from', '2026-11-01', '--to', '2026-11-03']);
    assert.match(table, /alerts: in force \(version 3\) \d+, proposed 4/);
    assert.match(table, /incidents: in force \d+, proposed 4/);
    assert.match(table, /incidents_proposed/);
  });

  it('adds, lists and removes a silence; refuses an ambiguous one', { timeout: 60_000 }, async () => {
    const out = await ok(['silences', 'add', '--drone', 'drone-7', '--until', '2099-01-01T00:00:00Z', '--reason', 'maintenance']);
    const id = /^silence ([0-9a-f]+):/.exec(out)?.[1];
    assert.ok(id, out);
    const list = JSON.parse(await ok(['silences', 'list', '--format', 'json'])) as { id: string; value: string }[];
    assert.deepEqual(list.map((s) => [s.id, s.value]), [[id, 'drone-7']]);
    assert.deepEqual(JSON.parse((await runCli(['silences', 'list', '--format', 'json', '--data', tmp.dir, '--tenant', 'lyon'])).stdout || '[]'), [], 'another tenant has none');
    const ambiguous = await runCli(['silences', 'add', '--drone', 'a', '--citizen', 'b', '--until', '2099-01-01', '--reason', 'x', ...data]);
    assert.notEqual(ambiguous.code, 0);
    assert.match(ambiguous.stderr, /exactly one of --zone, --drone, --citizen/);
    await ok(['silences', 'remove', id]);
    const gone = await runCli(['silences', 'remove', id, ...data]);
    assert.deepEqual([gone.code, /DW_SILENCE_NOT_FOUND/.test(gone.stderr)], [2, true]);
  });
});
