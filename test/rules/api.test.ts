/**
 * Rules and silences over HTTP on a running embedded platform with authentication on, as `dronewatch up` runs it:
 * who may read and change them, tenant isolation, the audit trail, a change taken up by the running worker (its
 * alerts name the version), a silence kept out of the live feed (SSE) but listed, and a dry run that raises nothing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import type { RuleSetVersion, Silence } from '../../src/rules/types.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { archiveReports } from '../analysis/helpers.ts';
import { knownReports, PROPOSED } from './dry-run-fixture.ts';
import { CITE, INSIDE, OUTSIDE } from './fixtures/zones.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const NOW = Math.floor(Date.now() / 1000) * 1000 - 60_000;

describe('rules and silences over HTTP (issue 19)', () => {
  const tmp = tempDir('dw-rules-api-');
  let platform: Platform;
  let url: string;
  const tok: Record<string, string> = {};

  const req = (who: string, p: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${tok[who]}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const send = async (who: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await req(who, p, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    assert.ok(!/\n\s+at /.test(text), `no stack trace: ${text}`);
    return { status: res.status, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
  };
  const post = (droneTok: string, droneId: string, ms: number, pos: { lat: number; lon: number }, name: string, score: number): Promise<Response> =>
    req(droneTok, '/v1/reports', { method: 'POST', body: JSON.stringify({ droneId, timestamp: new Date(NOW + ms).toISOString(), position: pos, citizens: [{ name, score }], words: [] }) });
  const alerts = async (who: string): Promise<Alert[]> => (await send(who, 'GET', '/v1/alerts?limit=100')).body.alerts as Alert[];
  const until = async (what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    await archiveReports(path.join(tmp.dir, 'lake'), knownReports());
    platform = await Platform.open(validateConfig({ dataDir: tmp.dir, tenant: 'paris', http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 } }), { scrypt: FAST });
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
    const sec = platform.security!;
    platform.takeBootstrapCredential();
    await sec.createTenant('lyon');
    for (const [tenant, role] of [['paris', 'officer'], ['paris', 'supervisor'], ['paris', 'analyst'], ['lyon', 'supervisor']] as const) {
      const name = `${tenant}-${role}`;
      await sec.createUser({ tenant, username: name, roles: [role], password: 'a-long-password-1' });
      tok[name] = (await sec.createApiToken(name, 'test')).token;
    }
    tok.drone = (await sec.registerDrone('paris', '*')).token;
  });
  after(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  it('officers read the rules (the configuration\'s are version 1), only supervisors change them; every change audited', async () => {
    const v1 = (await send('paris-officer', 'GET', '/v1/rules')).body as unknown as RuleSetVersion;
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.rules.map((r) => r.id), ['score-below-threshold']);
    assert.equal((await send('paris-analyst', 'GET', '/v1/rules')).status, 403);
    const change = { rules: [{ id: 'strict', kind: 'score', threshold: 40, criticalThreshold: 5 }], reason: 'event week', baseVersion: 1 };
    assert.equal((await send('paris-officer', 'POST', '/v1/rules', change)).status, 403);
    const v2 = await send('paris-supervisor', 'POST', '/v1/rules', change);
    assert.equal(v2.status, 201, JSON.stringify(v2.body));
    assert.deepEqual([v2.body.version, v2.body.author, v2.body.reason], [2, 'paris-supervisor', 'event week']);
    const again = await send('paris-supervisor', 'POST', '/v1/rules', change);
    assert.deepEqual([again.status, again.body.code], [409, 'DW_RULES_CONFLICT']);
    const bad = await send('paris-supervisor', 'POST', '/v1/rules', { rules: [{ id: 'x', kind: 'score', threshold: 10, criticalThreshold: 30 }], reason: 'oops' });
    assert.deepEqual([bad.status, bad.body.code, (bad.body.errors as { field: string }[])[0]!.field], [400, 'DW_RULES_INVALID', 'rules[0].criticalThreshold']);
    const noReason = await send('paris-supervisor', 'POST', '/v1/rules', { rules: [] });
    assert.deepEqual([noReason.status, noReason.body.code], [400, 'DW_REQUEST_INVALID']);
    const audited = platform.audit!.list({ action: 'rules.change', tenant: 'paris', limit: 100 });
    assert.ok(audited.some((e) => e.actor === 'paris-supervisor' && (e.details as { reason?: string }).reason === 'event week'), 'the change is in the audit log with its reason');
    assert.ok(platform.audit!.list({ action: 'access.denied', actor: 'paris-officer', limit: 100 }).length > 0, 'the refused attempt too');
  });

  it('the running worker takes up the new version; its alerts name it', async () => {
    await until('v2 in force in the worker', async () => platform.rules!.book!.versionOf('paris') === 2);
    assert.equal((await post('drone', 'd-rule', 0, OUTSIDE, 'Under Forty', 30)).status, 202);
    await until('the alert', async () => (await alerts('paris-officer')).some((a) => a.citizen === 'Under Forty'));
    const a = (await alerts('paris-officer')).find((x) => x.citizen === 'Under Forty')!;
    assert.deepEqual([a.rule, a.ruleVersion], ['strict', 2]);
  });

  it('PUT adds a zone rule, DELETE disables it; tenants are apart', async () => {
    const put = await send('paris-supervisor', 'PUT', '/v1/rules/near-cite', { rule: { kind: 'score', threshold: 60, criticalThreshold: 5, zone: 'cite' }, zones: [{ id: 'cite', geometry: CITE }], reason: 'summit' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual([put.body.version, (put.body.rules as { id: string }[]).map((r) => r.id)], [3, ['strict', 'near-cite']]);
    const del = await send('paris-supervisor', 'DELETE', '/v1/rules/near-cite?reason=summit%20over');
    assert.equal(del.status, 200);
    assert.deepEqual([del.body.version, (del.body.rules as { id: string; enabled: boolean }[]).find((r) => r.id === 'near-cite')!.enabled], [4, false]);
    assert.equal((await send('paris-supervisor', 'DELETE', '/v1/rules/nope?reason=x')).body.code, 'DW_RULE_NOT_FOUND');
    const versions = (await send('paris-officer', 'GET', '/v1/rules/versions')).body.versions as { version: number; author: string }[];
    assert.deepEqual(versions.map((v) => v.version), [1, 2, 3, 4]);
    assert.equal(((await send('paris-officer', 'GET', '/v1/rules?version=3')).body.rules as unknown[]).length, 2);
    // Lyon's rules are its own: still the configuration's.
    const lyon = (await send('lyon-supervisor', 'GET', '/v1/rules')).body;
    assert.deepEqual([lyon.tenant, lyon.version], ['lyon', 1]);
  });

  it('a silence keeps the alert (listed, marked) out of the live feed; silences are per tenant', async () => {
    const s = await send('paris-supervisor', 'POST', '/v1/silences', { match: { kind: 'drone', value: 'd-quiet' }, endsAt: new Date(Date.now() + 3600_000).toISOString(), reason: 'drone on a test flight' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const silence = s.body as unknown as Silence;
    assert.equal((await send('paris-officer', 'POST', '/v1/silences', { match: { kind: 'drone', value: 'x' }, endsAt: new Date(Date.now() + 1000).toISOString(), reason: 'r' })).status, 403);
    assert.deepEqual((await send('lyon-supervisor', 'GET', '/v1/silences')).body.silences, []);
    assert.equal((await send('lyon-supervisor', 'DELETE', `/v1/silences/${silence.id}`)).body.code, 'DW_SILENCE_NOT_FOUND');
    await new Promise((r) => setTimeout(r, 500)); // the worker's book polls rules.db every 250 ms

    const abort = new AbortController();
    const sse = await req('paris-officer', '/v1/alerts/stream', { signal: abort.signal });
    const reader = sse.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const c = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (c.done) return;
        text += new TextDecoder().decode(c.value);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await post('drone', 'd-quiet', 1000, OUTSIDE, 'Quiet One', 1)).status, 202);
    assert.equal((await post('drone', 'd-loud', 2000, OUTSIDE, 'Loud One', 1)).status, 202);
    await until('both stored', async () => {
      const l = await alerts('paris-officer');
      return l.some((a) => a.citizen === 'Quiet One') && l.some((a) => a.citizen === 'Loud One');
    });
    await until('the loud one on the live feed', async () => text.includes('Loud One'));
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    await reading;
    assert.ok(!text.includes('Quiet One'), `the silenced alert never reached the live feed: ${text}`);
    const quiet = (await alerts('paris-officer')).find((a) => a.citizen === 'Quiet One')!;
    assert.equal(quiet.silenced, silence.id, 'listed, marked with the silence');
    assert.equal((await send('paris-supervisor', 'DELETE', `/v1/silences/${silence.id}`)).status, 200);
    assert.ok(platform.audit!.list({ action: 'silence.add', tenant: 'paris', limit: 10 }).length === 1);
  });

  it('a dry run answers over the lake and raises nothing live', async () => {
    const before = (await alerts('paris-officer')).length;
    const body = { ...PROPOSED, from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' };
    assert.equal((await send('paris-officer', 'POST', '/v1/rules/dry-run', body)).status, 403);
    const r = await send('paris-supervisor', 'POST', '/v1/rules/dry-run', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.reports, r.body.replayed, (r.body.proposed as { alerts: number }).alerts, (r.body.inForce as { version: number }).version], [46, 6, 4, 4]);
    assert.deepEqual((r.body.proposed as { perZone: unknown }).perZone, { cite: 3, '(none)': 1 });
    // Incidents too, grouped with the platform's incidents configuration (the defaults: 300 m, 5 minutes).
    assert.deepEqual((r.body.proposed as { incidents: unknown }).incidents,
      { incidents: 4, merged: 0, gatherings: 0, perDay: { '2026-11-01': 3, '2026-11-02': 1 }, perZone: { cite: 3, '(none)': 1 } });
    // The streamed form (progress lines, then the result).
    const streamed = await fetch(`${url}/v1/rules/dry-run`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${tok['paris-supervisor']}`, 'content-type': 'application/json', accept: 'application/x-ndjson' } });
    assert.equal(streamed.status, 200);
    assert.match(streamed.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await streamed.text()).trim().split('\n').map((l) => JSON.parse(l) as { result?: { proposed: { alerts: number } } });
    assert.equal(lines.at(-1)!.result!.proposed.alerts, 4);
    const refused = await fetch(`${url}/v1/rules/dry-run`, { method: 'POST', body: JSON.stringify({ ...body, from: 'x' }), headers: { authorization: `Bearer ${tok['paris-supervisor']}`, 'content-type': 'application/json', accept: 'application/x-ndjson' } });
    assert.equal(refused.status, 400, 'bad input is refused before anything streams');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await alerts('paris-officer')).length, before, 'no alert raised');
    const bad = await send('paris-supervisor', 'POST', '/v1/rules/dry-run', { ...body, to: '2025-01-01T00:00:00Z' });
    assert.deepEqual([bad.status, bad.body.code], [400, 'DW_RULES_INVALID']);
  });
});
