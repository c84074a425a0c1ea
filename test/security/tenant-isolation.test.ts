import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };

/** One instant for the whole file: two reports built at different moments must still be able to share a time. */
const MINUTE_AGO = Math.floor(Date.now() / 1000) * 1000 - 60_000;

/** A report of `droneId` a minute before the file started (plus `ms`), with one citizen. */
function report(droneId: string, citizen: string, score: number, lat: number, ms = 0): string {
  return JSON.stringify({
    droneId, timestamp: new Date(MINUTE_AGO + ms).toISOString(),
    position: { lat, lon: 2.35 }, citizens: [{ name: citizen, score }], words: ['bonjour'],
  });
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

/**
 * Two police forces on one embedded platform (authentication on, as `dronewatch up` runs it): each force's officers,
 * analysts and drones reach their own force's reports, alerts, live feed, fleet and dead letters only.
 */
describe('tenant isolation over HTTP (issue 7)', () => {
  const tmp = tempDir('dw-tenants-');
  let platform: Platform;
  let url: string;
  const tok: Record<string, string> = {};
  let admin: { username: string; password: string };

  const req = async (who: string, path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${tok[who]}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string> | undefined) } });
  const json = async <T>(who: string, path: string): Promise<T> => {
    const res = await req(who, path);
    assert.equal(res.status, 200, `${who} GET ${path}: ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const alertsOf = async (who: string): Promise<Alert[]> => (await json<{ alerts: Alert[] }>(who, '/v1/alerts?limit=100')).alerts;

  before(async () => {
    platform = await Platform.open(validateConfig({
      dataDir: tmp.dir, tenant: 'paris', http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 },
    }), { scrypt: FAST });
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
    const sec = platform.security!;
    admin = platform.takeBootstrapCredential()!;
    assert.ok(admin, 'a first administrator was created');
    assert.equal(platform.takeBootstrapCredential(), undefined, 'its password is handed out once');
    await sec.createTenant('lyon');
    for (const [tenant, role] of [['paris', 'officer'], ['lyon', 'officer'], ['paris', 'analyst'], ['lyon', 'analyst']] as const) {
      const name = `${tenant}-${role}`;
      await sec.createUser({ tenant, username: name, roles: [role], password: 'a-long-password-1' });
      tok[name] = (await sec.createApiToken(name, 'test')).token;
    }
    // The same drone id in both forces: ids are unique within a tenant only.
    tok['paris-drone'] = (await sec.registerDrone('paris', 'drone-1')).token;
    tok['lyon-drone'] = (await sec.registerDrone('lyon', 'drone-1')).token;
    tok['lyon-gateway'] = (await sec.registerDrone('lyon', '*')).token;
  });
  after(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  it('each force ingests into its own tenant; the same drone id and instant in two forces are two reports', async () => {
    const paris = await req('paris-drone', '/v1/reports', { method: 'POST', body: report('drone-1', 'Alice Parisienne', 3, 48.85) });
    const lyon = await req('lyon-drone', '/v1/reports', { method: 'POST', body: report('drone-1', 'Bob Lyonnais', 3, 45.76) });
    assert.equal(paris.status, 202, await paris.clone().text());
    assert.equal(lyon.status, 202, await lyon.clone().text());
    const a = (await paris.json()) as { accepted: { reportId: string; duplicate: boolean }[] };
    const b = (await lyon.json()) as { accepted: { reportId: string; duplicate: boolean }[] };
    assert.equal(a.accepted[0]!.reportId, b.accepted[0]!.reportId, 'same drone id and time');
    assert.equal(b.accepted[0]!.duplicate, false, "lyon's report is not a duplicate of paris's");

    const mine = await until('paris alert', async () => {
      const list = await alertsOf('paris-officer');
      return list.length > 0 ? list : undefined;
    });
    assert.deepEqual(mine.map((x) => [x.tenant, x.citizen]), [['paris', 'Alice Parisienne']]);
    const theirs = await until('lyon alert', async () => {
      const list = await alertsOf('lyon-officer');
      return list.length > 0 ? list : undefined;
    });
    assert.deepEqual(theirs.map((x) => [x.tenant, x.citizen]), [['lyon', 'Bob Lyonnais']]);

    // Another force's alert does not exist for an officer: not readable, not changeable.
    const lyonAlert = theirs[0]!.alertId;
    assert.equal((await req('paris-officer', `/v1/alerts/${lyonAlert}`)).status, 404);
    const ack = await req('paris-officer', `/v1/alerts/${lyonAlert}/ack`, { method: 'POST', body: JSON.stringify({ note: 'not mine' }) });
    assert.equal(ack.status, 404, await ack.text());
    assert.equal((await json<Alert>('lyon-officer', `/v1/alerts/${lyonAlert}`)).status, 'open', 'untouched');
    // Changes are made in the caller's name, whatever the body says.
    const own = await req('paris-officer', `/v1/alerts/${mine[0]!.alertId}/ack`, { method: 'POST', body: JSON.stringify({ by: 'someone-else' }) });
    assert.equal(own.status, 200, await own.clone().text());
    assert.equal(((await own.json()) as Alert).acknowledgedBy, 'paris-officer');
  });

  it('a drone publishes only as itself and only into its own force; the refused report is dead-lettered', async () => {
    const res = await req('paris-drone', '/v1/reports', { method: 'POST', body: report('drone-2', 'Carla', 80, 48.86) });
    assert.equal(res.status, 403, await res.clone().text());
    const body = (await res.json()) as { code: string; errors: { field: string }[]; deadLettered: boolean };
    assert.equal(body.code, 'DW_AUTH_FORBIDDEN');
    assert.equal(body.errors[0]!.field, 'droneId');
    assert.equal(body.deadLettered, true);
    // A gateway publishes for any drone of its own tenant: the tenant is the credential's; a body cannot name one.
    const named = await req('lyon-gateway', '/v1/reports', { method: 'POST', body: JSON.stringify({ ...JSON.parse(report('drone-7', 'Dan', 80, 45.7)), tenant: 'paris' }) });
    assert.equal(named.status, 400, await named.clone().text());
    assert.match(((await named.json()) as { message: string }).message, /tenant/);
    const gw = await req('lyon-gateway', '/v1/reports', { method: 'POST', body: report('drone-7', 'Dan', 80, 45.7) });
    assert.equal(gw.status, 202, await gw.clone().text());
    // An officer's token cannot ingest at all.
    assert.equal((await req('paris-officer', '/v1/reports', { method: 'POST', body: report('drone-1', 'Eve', 80, 48.8) })).status, 403);

    const letters = (who: string) => json<{ deadLetters: { tenant: string; reason: string }[] }>(who, '/v1/dead-letters?limit=100');
    const parisLetters = (await letters('paris-analyst')).deadLetters;
    assert.ok(parisLetters.some((l) => l.tenant === 'paris' && /drone-1/.test(l.reason)), JSON.stringify(parisLetters));
    assert.deepEqual((await letters('lyon-analyst')).deadLetters.filter((l) => l.tenant !== 'lyon'), [], "lyon sees none of paris's dead letters");

    const fleet = await until('lyon drone-7 on the map', async () => {
      const f = await json<{ drones: { droneId: string; lat: number }[] }>('lyon-officer', '/v1/fleet');
      return f.drones.some((d) => d.droneId === 'drone-7') ? f : undefined;
    });
    assert.ok(fleet.drones.every((d) => d.lat < 46), `lyon's map shows lyon's drones only: ${JSON.stringify(fleet.drones)}`);
    const parisFleet = await json<{ drones: { droneId: string; lat: number }[] }>('paris-officer', '/v1/fleet');
    assert.deepEqual(parisFleet.drones.map((d) => d.droneId), ['drone-1']);
    assert.ok(parisFleet.drones[0]!.lat > 48, "paris's drone-1, not lyon's");
    const track = await json<{ track: { lat: number }[] }>('lyon-officer', '/v1/fleet/drones/drone-1/track');
    assert.ok(track.track.length > 0 && track.track.every((p) => p.lat < 46), "lyon's drone-1 track is lyon's");
  });

  it("the live feed carries the subscriber's force's alerts only", async () => {
    const feed = await req('paris-officer', '/v1/alerts/stream');
    assert.equal(feed.status, 200);
    const reader = feed.body!.getReader();
    let text = '';
    const read = (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        text += Buffer.from(chunk.value).toString();
      }
    })().catch(() => undefined);
    // Lyon's alert first, then paris's: once paris's has arrived, lyon's would have too.
    assert.equal((await req('lyon-drone', '/v1/reports', { method: 'POST', body: report('drone-1', 'Lyon Second', 2, 45.76, 1000) })).status, 202);
    assert.equal((await req('paris-drone', '/v1/reports', { method: 'POST', body: report('drone-1', 'Paris Second', 2, 48.85, 1000) })).status, 202);
    await until('paris alert on the feed', async () => (text.includes('Paris Second') ? true : undefined));
    await reader.cancel();
    await read;
    assert.ok(!text.includes('Lyon Second'), `no lyon alert on paris's feed:\n${text}`);
    assert.ok(!text.includes('"tenant":"lyon"'), 'no lyon event at all');
  });

  it('a live feed ends when its credential is revoked (within the 5 s re-check)', async () => {
    const { id, token } = await platform.security!.createApiToken('paris-officer', 'short-lived');
    const feed = await fetch(`${url}/v1/alerts/stream`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(feed.status, 200);
    const reader = feed.body!.getReader();
    await reader.read(); // the banner: the stream is open
    await platform.security!.revokeApiToken(id);
    const ended = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })(),
      new Promise<false>((r) => setTimeout(() => r(false), 9000)),
    ]);
    assert.equal(ended, true, 'the server closed the stream');
  });

  it('the first administrator replaces its one-time password; the old one stops working', async () => {
    const login = (password: string) => fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: admin.username, password }) });
    const first = await login(admin.password);
    assert.equal(first.status, 200);
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrf } = (await first.json()) as { csrf: string };
    const change = (currentPassword: string) => fetch(`${url}/v1/auth/password`, {
      method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ currentPassword, newPassword: 'a brand new passphrase' }),
    });
    assert.equal((await change('not the password')).status, 401, 'the current password is required');
    assert.equal((await change(admin.password)).status, 204);
    assert.equal((await fetch(`${url}/v1/auth/me`, { headers: { cookie } })).status, 401, 'sessions end with the change');
    assert.equal((await login(admin.password)).status, 401, 'the one-time password no longer works');
    assert.equal((await login('a brand new passphrase')).status, 200);
  });

  it('every access to personal data is in the audit log with who, what and from where', () => {
    const entries = platform.audit!.list({ tenant: 'paris', limit: 1000 });
    const has = (action: string, actor: string) => entries.some((e) => e.action === action && e.actor === actor);
    assert.ok(has('alert.list', 'paris-officer'), 'alert list');
    assert.ok(has('alert.acknowledge', 'paris-officer'), 'ack');
    assert.ok(has('feed.subscribe', 'paris-officer'), 'feed');
    assert.ok(has('fleet.read', 'paris-officer'), 'fleet');
    assert.ok(has('dead-letters.read', 'paris-analyst'), 'dead letters');
    assert.ok(has('user.password', admin.username), 'password change');
    assert.ok(entries.filter((e) => e.actor !== 'system').every((e) => e.ip !== null && e.ip !== ''), 'from where');
    assert.equal(platform.audit!.verify().ok, true, 'hash chain intact');
  });
});
