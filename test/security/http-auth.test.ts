import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AlertBus, AlertService } from '../../src/alerts/index.ts';
import { AnalysisService } from '../../src/analysis/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { localLakeFiles } from '../../src/lake/index.ts';
import { AuditLog, LoginRateLimiter, permissionsOf, ROLES, type Role } from '../../src/security/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { ACCESS } from '../../src/server/auth/access.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { openAlertStore, type AlertStore, SecurityStore } from '../../src/backend/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const PASSWORD = 'a-long-password-1';

/** A concrete URL for a route pattern. */
function urlOf(pattern: string): string {
  return pattern.replace(':id', 'no-such-alert').replace(':name', 'reports-daily').replace(':username', 'nobody').replace(':droneId', 'no-drone');
}

describe('HTTP authentication, roles and audit (issue 7)', () => {
  const tmp = tempDir('dw-http-auth-');
  let security: SecurityStore;
  let audit: AuditLog;
  let store: AlertStore;
  let analysis: AnalysisService;
  let app: FastifyInstance;
  const tokens = {} as Record<Role, string>;

  before(async () => {
    security = SecurityStore.open(tmp.dir, { scrypt: FAST });
    audit = AuditLog.open(tmp.dir);
    security.createTenant('paris');
    for (const role of ROLES) {
      await security.createUser({ tenant: 'paris', username: `${role}1`, roles: [role], password: PASSWORD });
      tokens[role] = security.createApiToken(`${role}1`, 'test').token;
    }
    store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 });
    const config = loadConfig({ flags: {} });
    analysis = new AnalysisService({ source: localLakeFiles(path.join(tmp.dir, 'lake')), config: config.analysis });
    app = await buildServer({
      auth: { security, audit, limiter: new LoginRateLimiter({ perAccount: 3, perAddress: 100, windowMs: 60_000 }) },
      alerts: new AlertService({ store, bus: new AlertBus() }),
      analysis,
    });
  });
  after(async () => {
    await app.close();
    await analysis.close();
    store.close();
    audit.close();
    security.close();
    tmp.cleanup();
  });

  it('refuses to register a /v1/ route that has no access rule (fail closed)', async () => {
    const bad = await buildServer({ auth: { security, audit } });
    assert.throws(() => bad.get('/v1/secret', async () => 'x'), /has no access rule/);
    await bad.close();
  });

  it('every route x every role: 401 without credentials, 403 without the permission, through with it', async () => {
    const routes = app.printRoutes({ commonPrefix: false });
    let checked = 0;
    for (const [key, rule] of Object.entries(ACCESS)) {
      const [method, pattern] = key.split(' ') as [string, string];
      if (rule.access.kind !== 'permission' || pattern.endsWith('/stream')) continue;
      if (!routes.includes(pattern.replace(/^\/v1/, '').split('/').pop()!)) continue; // route of a component not in this server
      const url = urlOf(pattern);
      const payload = method === 'GET' || method === 'DELETE' ? undefined : {};
      const anon = await app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) });
      if (anon.statusCode === 404 && anon.json().code === 'DW_NOT_FOUND' && /no route/.test(anon.json().message)) continue;
      assert.equal(anon.statusCode, 401, `${key} without credentials: ${anon.body}`);
      for (const role of ROLES) {
        const r = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${tokens[role]}` }, ...(payload ? { payload } : {}) });
        const allowed = permissionsOf([role]).has(rule.access.permission);
        if (allowed) assert.ok(r.statusCode !== 401 && r.statusCode !== 403, `${key} as ${role} must pass: ${r.statusCode} ${r.body}`);
        else assert.equal(r.statusCode, 403, `${key} as ${role} must be refused: ${r.body}`);
        checked++;
      }
    }
    assert.ok(checked >= 60, `checked ${checked} route x role pairs`);
  });

  it('login: session cookie (HttpOnly, SameSite=Strict), CSRF on changes, logout, no account enumeration', async () => {
    const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'officer1', password: 'nope' } });
    const unknown = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'ghost', password: 'nope' } });
    assert.equal(wrong.statusCode, 401, wrong.body);
    assert.deepEqual(wrong.json(), unknown.json(), 'same answer for a wrong password and an unknown user');
    const ok = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'supervisor1', password: PASSWORD } });
    assert.equal(ok.statusCode, 200, ok.body);
    const setCookie = String(ok.headers['set-cookie']);
    assert.match(setCookie, /^dw_session=dw_sess_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+/, setCookie);
    const cookie = setCookie.split(';')[0]!;
    const { csrf } = ok.json() as { csrf: string };
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
    assert.equal(me.json().name, 'supervisor1', me.body);
    const noCsrf = await app.inject({ method: 'POST', url: '/v1/query', headers: { cookie }, payload: { sql: 'SELECT 1' } });
    assert.equal(noCsrf.statusCode, 403, noCsrf.body);
    assert.equal(noCsrf.json().code, 'DW_AUTH_CSRF', noCsrf.body);
    const badCsrf = await app.inject({ method: 'POST', url: '/v1/query', headers: { cookie, 'x-csrf-token': `${csrf}x` }, payload: { sql: 'SELECT 1' } });
    assert.equal(badCsrf.json().code, 'DW_AUTH_CSRF', badCsrf.body);
    const withCsrf = await app.inject({ method: 'POST', url: '/v1/query', headers: { cookie, 'x-csrf-token': csrf }, payload: { sql: 'SELECT 1 AS one' } });
    assert.equal(withCsrf.statusCode, 200, withCsrf.body);
    const out = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(out.statusCode, 204, out.body);
    const after = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
    assert.equal(after.statusCode, 401, 'session gone after logout');
  });

  it('rate-limits failed logins with 429 and Retry-After, even for the right password', async () => {
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'analyst1', password: 'wrong' } });
    const locked = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'analyst1', password: PASSWORD } });
    assert.equal(locked.statusCode, 429, locked.body);
    assert.ok(Number(locked.headers['retry-after']) > 0, 'retry-after');
  });

  it('a drone credential cannot act as an officer, an officer cannot ingest, a revoked token is refused at once', async () => {
    const { token } = security.registerDrone('paris', 'drone-1');
    const asDrone = await app.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${token}` } });
    assert.equal(asDrone.statusCode, 403, asDrone.body);
    const t = security.createApiToken('officer1', 'temp');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${t.token}` } })).statusCode, 200, 'token works');
    security.revokeApiToken(t.id);
    const revoked = await app.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(revoked.statusCode, 401, revoked.body);
  });

  it('audits each access with who, what and from where; denied accesses too; the chain verifies', async () => {
    const sql = 'SELECT 42 AS answer';
    await app.inject({ method: 'POST', url: '/v1/query', headers: { authorization: `Bearer ${tokens.analyst}` }, payload: { sql } });
    await app.inject({ method: 'GET', url: '/v1/alerts/a-1', headers: { authorization: `Bearer ${tokens.officer}` } });
    await app.inject({ method: 'GET', url: '/v1/stats/reports-daily?from=2026-01-01', headers: { authorization: `Bearer ${tokens.supervisor}` } });
    await app.inject({ method: 'POST', url: '/v1/query', headers: { authorization: `Bearer ${tokens.admin}` }, payload: { sql } });
    const entries = audit.list({ limit: 100 });
    const find = (action: string, actor: string) => entries.find((e) => e.action === action && e.actor === actor);
    assert.equal(find('query.run', 'analyst1')?.details.sql, sql, 'the SQL text is recorded');
    assert.equal(find('alert.read', 'officer1')?.target, 'a-1', 'the alert id is recorded');
    assert.equal(find('stat.run', 'supervisor1')?.target, 'reports-daily', 'the statistic');
    assert.ok(find('access.denied', 'admin1'), 'denied access recorded');
    assert.ok(find('login.failure', 'officer1') && find('login.success', 'supervisor1'), 'logins recorded');
    assert.ok(entries.every((e) => e.ip !== null || e.action.startsWith('login')), 'from where');
    const v = audit.verify();
    assert.equal(v.ok, true, JSON.stringify(v));
    const viaApi = await app.inject({ method: 'GET', url: '/v1/audit?action=query.run', headers: { authorization: `Bearer ${tokens.supervisor}` } });
    assert.equal(viaApi.statusCode, 200, viaApi.body);
    assert.ok((viaApi.json().entries as unknown[]).length >= 1, 'queryable by supervisors');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Bearer ${tokens.analyst}` } })).statusCode, 403, 'not by analysts');
  });
});
