/**
 * The incident API on one embedded platform with two police forces (authentication on, as `dronewatch up` runs it):
 * a gathering posted by drones becomes one incident; each force sees and changes only its own; roles are the alert
 * permissions; changes are made in the caller's name, cascade to the incident's alerts and are audited; incident
 * events reach the live feed; bad input is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { Incident, IncidentMember, TimelineEntry } from '../../src/incidents/types.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { offset } from './helpers.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const MINUTE_AGO = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const PARIS = { lat: 48.8566, lon: 2.3522 };
const LYON = { lat: 45.764, lon: 4.8357 };

/** A report of `droneId` seeing `citizens` (score 5) `northM` metres north of a place, `ms` after a minute ago. */
function report(droneId: string, at: { lat: number; lon: number }, citizens: string[], northM: number, ms: number): object {
  return {
    droneId, timestamp: new Date(MINUTE_AGO + ms).toISOString(), position: offset(at.lat, at.lon, northM, 0),
    citizens: citizens.map((name) => ({ name, score: 5 })), words: [],
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('incident API: tenants, roles, cascade, audit, live feed', () => {
  const tmp = tempDir('dw-incident-api-');
  let platform: Platform;
  let url: string;
  const tok: Record<string, string> = {};

  const req = async (who: string, path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${tok[who]}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const json = async <T>(who: string, path: string): Promise<T> => {
    const res = await req(who, path);
    assert.equal(res.status, 200, `${who} GET ${path}: ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const post = (who: string, path: string, body: object): Promise<Response> => req(who, path, { method: 'POST', body: JSON.stringify(body) });
  const incidentsOf = async (who: string, q = ''): Promise<Incident[]> => (await json<{ incidents: Incident[] }>(who, `/v1/incidents${q}`)).incidents;

  before(async () => {
    platform = await Platform.open(validateConfig({
      dataDir: tmp.dir, tenant: 'paris', http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 },
    }), { scrypt: FAST });
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
    const sec = platform.security!;
    await sec.createTenant('lyon');
    for (const [tenant, role] of [['paris', 'officer'], ['paris', 'supervisor'], ['paris', 'analyst'], ['lyon', 'officer']] as const) {
      const name = `${tenant}-${role}`;
      await sec.createUser({ tenant, username: name, roles: [role], password: 'a-long-password-1' });
      tok[name] = (await sec.createApiToken(name, 'test')).token;
    }
    tok['paris-gw'] = (await sec.registerDrone('paris', '*')).token;
    tok['lyon-gw'] = (await sec.registerDrone('lyon', '*')).token;
  });
  after(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  let parisIncident: Incident;

  it('a gathering seen by several drones is one incident per force; citizens seen twice count once', async () => {
    // The live feed, opened before the gathering forms: incident events come on the alert stream.
    const ctrl = new AbortController();
    const feed = await fetch(`${url}/v1/alerts/stream`, { headers: { authorization: `Bearer ${tok['paris-officer']}` }, signal: ctrl.signal });
    assert.equal(feed.status, 200);
    let text = '';
    const reading = (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of feed.body!) text += dec.decode(chunk as Uint8Array, { stream: true });
      } catch { /* aborted */ }
    })();

    // Paris: 4 citizens around one square, seen by 3 drones; "P-1" is seen by two of them.
    const paris = [
      report('p-drone-1', PARIS, ['P-1', 'P-2'], 0, 0),
      report('p-drone-2', PARIS, ['P-1', 'P-3'], 60, 5_000),
      report('p-drone-3', PARIS, ['P-4'], -50, 10_000),
    ];
    const lyon = [report('l-drone-1', LYON, ['L-1'], 0, 0), report('l-drone-2', LYON, ['L-2'], 40, 3_000)];
    for (const r of paris) assert.equal((await post('paris-gw', '/v1/reports', r)).status, 202);
    for (const r of lyon) assert.equal((await post('lyon-gw', '/v1/reports', r)).status, 202);

    const mine = await until('the paris incident with 4 citizens', async () => {
      const list = await incidentsOf('paris-officer', '?status=open,acknowledged');
      return list.length === 1 && list[0]!.citizenCount === 4 ? list : undefined;
    });
    parisIncident = mine[0]!;
    assert.equal(parisIncident.tenant, 'paris');
    assert.equal(parisIncident.alertCount, 5);
    assert.equal(parisIncident.droneCount, 3);
    // 4 citizens of score 5 (not below alerts.criticalThreshold): a gathering under incidents.criticalCitizens is a warning.
    assert.equal(parisIncident.severity, 'warning');
    assert.ok(Math.abs(parisIncident.centroid.lat - PARIS.lat) < 0.002);
    for (const k of ['incidentId', 'status', 'severity', 'alertCount', 'citizenCount', 'droneCount', 'centroid', 'firstAt', 'lastAt', 'growing']) {
      assert.ok(k in parisIncident, `list field ${k}`);
    }
    const theirs = await until('the lyon incident', async () => {
      const list = await incidentsOf('lyon-officer');
      return list.length === 1 && list[0]!.citizenCount === 2 ? list : undefined;
    });
    assert.equal(theirs[0]!.tenant, 'lyon');
    // Filters: a bbox around Lyon finds nothing for Paris; since in the future neither.
    assert.deepEqual(await incidentsOf('paris-officer', `?bbox=${LYON.lat - 0.1},${LYON.lon - 0.1},${LYON.lat + 0.1},${LYON.lon + 0.1}`), []);
    assert.deepEqual(await incidentsOf('paris-officer', `?since=${new Date(Date.now() + 3_600_000).toISOString()}`), []);

    await until('incident events on the feed', async () => (text.includes('event: incident.opened') && text.includes('event: incident.updated') ? true : undefined));
    ctrl.abort();
    await reading;
    assert.ok(!text.includes('"tenant":"lyon"'), 'no other force on the feed');
  });

  it('reads: its alerts and timeline; another force\'s incident does not exist; an analyst may not read incidents', async () => {
    const id = parisIncident.incidentId;
    const one = await json<{ incident: Incident; members: IncidentMember[]; alerts: Alert[]; timeline: TimelineEntry[] }>('paris-officer', `/v1/incidents/${id}`);
    assert.equal(one.incident.incidentId, id);
    assert.equal(one.members.length, 5);
    assert.equal(one.alerts.length, 5);
    assert.deepEqual(new Set(one.alerts.map((a) => a.citizen)), new Set(['P-1', 'P-2', 'P-3', 'P-4']));
    assert.equal(one.timeline[0]!.type, 'opened');
    const lyonId = (await incidentsOf('lyon-officer'))[0]!.incidentId;
    assert.equal((await req('paris-officer', `/v1/incidents/${lyonId}`)).status, 404);
    const nf = await req('paris-officer', '/v1/incidents/nope');
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { code: string }).code, 'DW_INCIDENT_NOT_FOUND');
    assert.equal((await req('paris-analyst', '/v1/incidents')).status, 403);
    assert.equal((await req('paris-analyst', `/v1/incidents/${id}`)).status, 403);
  });

  it('bad input is a 400 naming the field, never a stack trace', async () => {
    for (const q of ['?status=bogus', '?limit=0', '?limit=5000', '?bbox=1,2,3', '?since=yesterday']) {
      const res = await req('paris-officer', `/v1/incidents${q}`);
      assert.equal(res.status, 400, q);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'DW_REQUEST_INVALID', q);
      assert.doesNotMatch(body.message, /\n\s+at /);
    }
    const res = await post('paris-supervisor', `/v1/incidents/${parisIncident.incidentId}/assign`, {});
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /assignee/);
  });

  it('acknowledge, assign, resolve: per force, per role, in the caller\'s name, cascading to the alerts, audited', async () => {
    const id = parisIncident.incidentId;
    const lyonId = (await incidentsOf('lyon-officer'))[0]!.incidentId;
    // Another force's incident cannot be changed, and stays as it was.
    assert.equal((await post('paris-officer', `/v1/incidents/${lyonId}/ack`, {})).status, 404);
    assert.equal((await incidentsOf('lyon-officer'))[0]!.status, 'open');

    const ack = await post('paris-officer', `/v1/incidents/${id}/ack`, { by: 'someone-else', note: 'team on the way' });
    assert.equal(ack.status, 200, await ack.clone().text());
    const acked = (await ack.json()) as { incident: Incident; alertsChanged: number; alertsUnchanged: number };
    assert.equal(acked.incident.status, 'acknowledged');
    assert.equal(acked.incident.acknowledgedBy, 'paris-officer');
    assert.equal(acked.alertsChanged, 5);
    const alerts = (await json<{ alerts: Alert[] }>('paris-officer', '/v1/alerts?limit=100')).alerts;
    assert.deepEqual(alerts.map((a) => `${a.status}:${a.acknowledgedBy}`), Array(5).fill('acknowledged:paris-officer'));
    const again = await post('paris-officer', `/v1/incidents/${id}/ack`, {});
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'DW_INCIDENT_BAD_TRANSITION');

    // An officer may not assign (alerts:assign); a supervisor may.
    assert.equal((await post('paris-officer', `/v1/incidents/${id}/assign`, { assignee: 'team-7' })).status, 403);
    const asg = await post('paris-supervisor', `/v1/incidents/${id}/assign`, { assignee: 'team-7' });
    assert.equal(asg.status, 200, await asg.clone().text());
    const res = await post('paris-officer', `/v1/incidents/${id}/resolve`, {});
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { incident: Incident }).incident.resolvedBy, 'paris-officer');
    const after = (await json<{ alerts: Alert[] }>('paris-officer', '/v1/alerts?limit=100')).alerts;
    assert.deepEqual(after.map((a) => `${a.status}:${a.assignee}:${a.resolvedBy}`), Array(5).fill('resolved:team-7:paris-officer'));

    const audit = platform.audit!.list({ tenant: 'paris', limit: 1000 });
    const of = (action: string) => audit.filter((e) => e.action === action).sort((a, b) => a.seq - b.seq);
    // Every attempt is recorded before the handler runs: the one at lyon's incident (404) too, in the caller's tenant.
    assert.deepEqual(of('incident.acknowledge').map((e) => [e.actor, e.target]), [['paris-officer', lyonId], ['paris-officer', id], ['paris-officer', id]]);
    assert.deepEqual(of('incident.assign').map((e) => [e.actor, e.target]), [['paris-supervisor', id]]);
    assert.deepEqual(of('incident.resolve').map((e) => [e.actor, e.target]), [['paris-officer', id]]);
    assert.ok(of('incident.read').some((e) => e.actor === 'paris-officer' && e.target === id));
    assert.ok(of('incident.list').length > 0);
    assert.ok(audit.some((e) => e.action === 'access.denied' && e.actor === 'paris-officer'), 'the refused assign is recorded');
    assert.equal(platform.audit!.list({ tenant: 'lyon', action: 'incident.acknowledge' }).length, 0, "the refused change to lyon's incident changed nothing there");

    const rt = await json<{ incidents: number; toAcknowledge: { count: number }; toResolve: { count: number } }>(
      'paris-supervisor', `/v1/incidents/reaction-time?from=${new Date(Date.now() - 3_600_000).toISOString()}`);
    assert.equal(rt.incidents, 1);
    assert.equal(rt.toAcknowledge.count, 1);
    assert.equal(rt.toResolve.count, 1);
    assert.equal((await req('paris-officer', `/v1/incidents/reaction-time?from=${new Date().toISOString()}`)).status, 403);
  });
});
