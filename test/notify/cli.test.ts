/**
 * `dronewatch notify show|versions|apply|deliveries`, run as a user would (the real CLI in a child process) on a data
 * directory, as the API and the workers see it (notify.db beside alerts.db).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteNotifyStore } from '../../src/notify/sqlite-store.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli } from '../cli/helpers.ts';

describe('notification policies CLI', () => {
  const tmp = tempDir('dw-notify-cli-');
  const data = ['--data', tmp.dir, '--tenant', 'paris'];
  const ok = async (args: string[]): Promise<string> => {
    const r = await runCli([...args, ...data]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  after(() => tmp.cleanup());

  it('applies a policy file (secrets kept, never shown), refuses invalid and stale ones naming the field, lists the delivery log', { timeout: 120_000 }, async () => {
    const file = path.join(tmp.dir, 'policy.json');
    writeFileSync(file, JSON.stringify({
      targets: [{ id: 'desk', url: 'http://127.0.0.1:9/desk', secret: 'desk-secret' }, { id: 'boss', url: 'http://127.0.0.1:9/boss' }],
      routes: [{ id: 'critical', match: { severities: ['critical'] }, targets: ['desk'], repeatMinutes: 10, escalate: [{ afterMinutes: 15, targets: ['boss'] }] }],
    }));
    assert.equal((JSON.parse(await ok(['notify', 'show'])) as { version: number }).version, 0);
    assert.match(await ok(['notify', 'apply', file, '--reason', 'night shift', '--by', 'lucie']), /version 1 of the notification policy of paris is in force \(2 targets, 1 routes\)/);
    const shown = await ok(['notify', 'show', '1']);
    assert.doesNotMatch(shown, /desk-secret/);
    const v1 = JSON.parse(shown) as { author: string; targets: { id: string; hasSecret: boolean }[] };
    assert.deepEqual([v1.author, v1.targets.map((t) => t.hasSecret)], ['lucie', [true, false]]);
    // What `show` printed, applied back: the secret stays (the same target id and URL).
    writeFileSync(file, shown);
    assert.match(await ok(['notify', 'apply', file, '--reason', 'unchanged', '--base-version', '1']), /version 2/);
    const store = new SqliteNotifyStore(tmp.dir);
    assert.equal((await store.current('paris'))!.targets[0]!.secret, 'desk-secret');
    const versions = JSON.parse(await ok(['notify', 'versions', '--format', 'json'])) as { version: number; reason: string }[];
    assert.deepEqual(versions.map((v) => v.version), [0, 1, 2]);

    const stale = await runCli(['notify', 'apply', file, '--reason', 'late', '--base-version', '1', ...data]);
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /DW_NOTIFY_CONFLICT|at version 2, not 1/);
    writeFileSync(path.join(tmp.dir, 'bad.json'), JSON.stringify({ targets: [{ id: 'desk', url: 'ftp://x' }], routes: [{ id: 'r', targets: ['desk'], repeatMinutes: 0 }] }));
    const bad = await runCli(['notify', 'apply', path.join(tmp.dir, 'bad.json'), '--reason', 'x', ...data]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /targets\[0\]\.url/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');

    const at = new Date().toISOString();
    await store.appendDelivery({ id: 'x1', tenant: 'paris', at, alertId: 'abcd', eventId: 'e1', kind: 'notify', route: 'critical', target: 'desk', attempt: 1, status: 'retrying', httpStatus: 503, error: 'HTTP 503' });
    await store.appendDelivery({ id: 'x2', tenant: 'paris', at, alertId: 'abcd', eventId: 'e1', kind: 'notify', route: 'critical', target: 'desk', attempt: 2, status: 'delivered' });
    await store.appendDelivery({ id: 'x3', tenant: 'lyon', at, alertId: 'efgh', eventId: 'e2', kind: 'notify', route: 'all', target: 'desk', attempt: 1, status: 'delivered' });
    await store.close();
    const log = JSON.parse(await ok(['notify', 'deliveries', '--format', 'json'])) as { alert: string; attempt: number; status: string; http: number | null }[];
    assert.deepEqual(log.map((d) => [d.alert, d.attempt, d.status, d.http]), [['abcd', 2, 'delivered', null], ['abcd', 1, 'retrying', 503]], "paris's only, newest first");
    assert.equal((JSON.parse(await ok(['notify', 'deliveries', '--status', 'retrying', '--format', 'json'])) as unknown[]).length, 1);
  });
});
