/**
 * `dronewatch incidents list|show|ack|assign|resolve` run as a user would (the real CLI in a child process) on a data
 * directory whose alerts.db and incidents.db were filled the way the alert worker fills them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileRules, evaluateReport } from '../../src/alerts/rules.ts';
import { openAlertStore } from '../../src/backend/index.ts';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { groupingConfig } from '../../src/incidents/config.ts';
import { validateConfig } from '../../src/config/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { report } from '../alerts/helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { PLACE_A, offset } from './helpers.ts';

describe('incidents CLI', () => {
  const tmp = tempDir('dw-incidents-cli-');
  const data = ['--data', tmp.dir];
  let id = '';
  after(() => tmp.cleanup());

  const json = async <T>(args: string[]): Promise<T> => {
    const r = await runCli([...args, '--format', 'json', ...data]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  before(() => {
    const config = validateConfig({ dataDir: tmp.dir });
    const alerts = openAlertStore({ dataDir: tmp.dir });
    const incidents = new SqliteIncidentStore({ dir: tmp.dir, grouping: groupingConfig(config.incidents) });
    const rules = compileRules(config.alerts);
    const ts = Date.now() - 60_000;
    const batch = [0, 1, 2].map((i) => {
      const r = report({ droneId: `drone-${i}`, ts: ts + i * 1000, tenant: 'default', position: offset(PLACE_A.lat, PLACE_A.lon, i * 30, 0), citizens: [{ name: `C-${i}`, score: 4 }] });
      return { report: r, candidates: evaluateReport(r, rules) };
    });
    const events = alerts.applySightings(batch).events;
    const grouped = incidents.applyAlertEvents(events);
    id = grouped[0]!.incident.incidentId;
    alerts.close();
    incidents.close();
  });

  it('lists and shows the tenant\'s incidents; another tenant has none', async () => {
    const list = await json<{ incident_id: string; status: string; citizens: number; alerts: number }[]>(['incidents', 'list']);
    assert.deepEqual(list.map((r) => [r.incident_id, r.status, r.citizens, r.alerts]), [[id, 'open', 3, 3]]);
    assert.deepEqual(await json<unknown[]>(['incidents', 'list', '--status', 'resolved']), []);
    assert.deepEqual(await json<unknown[]>(['incidents', 'list', '--tenant', 'lyon']), []);
    const shown = await json<{ incident: { incidentId: string }; members: unknown[]; timeline: { type: string }[] }>(['incidents', 'show', id]);
    assert.equal(shown.incident.incidentId, id);
    assert.equal(shown.members.length, 3);
    assert.equal(shown.timeline[0]!.type, 'opened');
    assert.equal(shown.timeline.filter((t) => t.type === 'alert-joined').length, 2);
    const table = await runCli(['incidents', 'show', id, ...data]);
    assert.match(table.stdout, /timeline:/);
  });

  it('bad options and another tenant\'s incident are refused with their codes', async () => {
    const bad = await runCli(['incidents', 'list', '--status', 'bogus', ...data]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--status/);
    const since = await runCli(['incidents', 'list', '--since', 'yesterday', ...data]);
    assert.notEqual(since.code, 0);
    assert.match(since.stderr, /--since/);
    const foreign = await runCli(['incidents', 'ack', id, '--by', 'officer.martin', '--tenant', 'lyon', ...data]);
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.match(foreign.stderr, /DW_INCIDENT_NOT_FOUND/);
  });

  it('ack, assign, resolve cascade to the alerts and are audited', async () => {
    const ack = await runCli(['incidents', 'ack', id, '--by', 'officer.martin', '--note', 'on our way', ...data]);
    assert.equal(ack.code, 0, ack.stderr);
    assert.match(ack.stdout, new RegExp(`${id}: acknowledged; alerts changed 3, unchanged 0`));
    const alerts = await json<{ status: string }[]>(['alerts', 'list']);
    assert.deepEqual(alerts.map((a) => a.status), ['acknowledged', 'acknowledged', 'acknowledged']);
    const again = await runCli(['incidents', 'ack', id, '--by', 'officer.martin', ...data]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /DW_INCIDENT_BAD_TRANSITION/);
    const asg = await runCli(['incidents', 'assign', id, '--assignee', 'team-7', '--by', 'sergeant.roy', ...data]);
    assert.match(asg.stdout, /assigned to team-7; alerts changed 3/);
    const res = await runCli(['incidents', 'resolve', id, '--by', 'officer.martin', ...data]);
    assert.match(res.stdout, /resolved/);
    const after = await json<{ status: string; assignee: string }[]>(['alerts', 'list']);
    assert.deepEqual(after.map((a) => `${a.status}:${a.assignee}`), Array(3).fill('resolved:team-7'));
    const trail = await json<{ actor: string; action: string; target: string | null }[]>(['audit', 'list', '--limit', '1000']);
    for (const action of ['incident.list', 'incident.read', 'incident.acknowledge', 'incident.assign', 'incident.resolve']) {
      assert.ok(trail.some((e) => e.action === action && e.actor.startsWith('cli:')), `${action} by the CLI is audited`);
    }
  });
});
