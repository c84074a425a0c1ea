/**
 * API processes on several hosts (each its own data directory, nothing shared but NATS and the lake): one set of
 * credentials in JetStream KV, one audit log per host, all of them in the lake. Regression: the credential store
 * was SQLite on one host, so an officer logged in on one API host was a stranger to the next.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { verifyArchivedAudit } from '../../src/security/index.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';

const skip = natsServerOrSkip();
const FAST = { log2N: 10, r: 8, p: 1 };

describe('API processes on several hosts (security.store kv)', { skip, timeout: 180_000 }, () => {
  const tmp = tempDir('dw-multi-host-');
  const lake = path.join(tmp.dir, 'lake');
  let nats: NatsTestServer;
  const hosts: Platform[] = [];
  const url = (i: number): string => hosts[i]!.address!;
  let admin: { username: string; password: string };

  const host = async (name: string): Promise<Platform> => {
    const p = await Platform.open(validateConfig({
      dataDir: path.join(tmp.dir, name), lake: { path: lake }, stream: { url: nats.url }, http: { port: 0, host: '127.0.0.1' },
      dashboard: { fleetLookbackSeconds: 0 }, security: { auditCopySeconds: 3600 }, // copied on shutdown
    }), { scrypt: FAST });
    await p.start({ http: 'api' });
    hosts.push(p);
    return p;
  };

  const login = async (i: number, username: string, password: string): Promise<{ cookie: string; csrf: string }> => {
    const r = await fetch(`${url(i)}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal(r.status, 200, await r.clone().text());
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    return { cookie, csrf: ((await r.json()) as { csrf: string }).csrf };
  };
  const me = async (i: number, headers: Record<string, string>): Promise<number> => (await fetch(`${url(i)}/v1/auth/me`, { headers })).status;

  before(async () => {
    nats = await startNatsServer();
    const [a, b] = await Promise.all([host('host-a'), host('host-b')]);
    const creds = [a.takeBootstrapCredential(), b.takeBootstrapCredential()].filter((c) => c !== undefined);
    assert.equal(creds.length, 1, 'one first administrator for the whole deployment, whichever host started first');
    admin = creds[0]!;
  });
  after(async () => {
    for (const h of hosts) await h.stop();
    await nats?.stop();
    tmp.cleanup();
  });

  it('a session opened on one host is valid on the other; logging out on either ends it on both', async () => {
    const s = await login(0, admin.username, admin.password);
    assert.equal(await me(1, { cookie: s.cookie }), 200, 'host B knows host A\'s session at once');
    const out = await fetch(`${url(1)}/v1/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(out.status, 204);
    assert.equal(await me(1, { cookie: s.cookie }), 401, 'ended on the host that logged out');
    const deadline = Date.now() + 5000;
    while ((await me(0, { cookie: s.cookie })) !== 401) {
      assert.ok(Date.now() < deadline, 'the logout reaches host A within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('an account created on one host logs in on the other; disabling it there ends its token everywhere', async () => {
    const s = await login(0, admin.username, admin.password);
    const created = await fetch(`${url(0)}/v1/users`, {
      method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'remi', roles: ['officer'], password: 'remi-password-123' }),
    });
    assert.equal(created.status, 201, await created.text());
    const remi = await login(1, 'remi', 'remi-password-123');
    const token = (await hosts[1]!.security!.createApiToken('remi', 'script')).token;
    assert.equal(await me(0, { authorization: `Bearer ${token}` }), 200, 'a token made on host B works on host A');
    await hosts[0]!.security!.setDisabled('remi', true);
    const deadline = Date.now() + 5000;
    while ((await me(1, { cookie: remi.cookie })) !== 401 || (await me(1, { authorization: `Bearer ${token}` })) !== 401) {
      assert.ok(Date.now() < deadline, 'the disabled account reaches host B within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('failed logins count across hosts: guesses spread over both meet one limit (5 per account)', async () => {
    const attempt = (i: number) => fetch(`${url(i)}/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: admin.username, password: 'not-the-password' }),
    });
    for (let n = 0; n < 5; n++) assert.equal((await attempt(n % 2)).status, 401, `guess ${n + 1} is answered (wrong password)`);
    // Host A made 3 of the 5 guesses, host B 2: each alone is under the limit, together they reach it. One more
    // attempt on B, once A's failures had time to arrive (milliseconds; 1 s given), must be refused: a retry loop
    // here would let B reach the limit with its own failures and prove nothing.
    await new Promise((r) => setTimeout(r, 1000));
    const res = await attempt(1);
    assert.equal(res.status, 429, `host B counts host A's failures: ${await res.clone().text()}`);
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal((await attempt(0)).status, 429, 'and host A refuses too');
  });

  it('each host copies its own audit log to the lake; the lake verifies both chains', async () => {
    for (const h of hosts.splice(0)) await h.stop(); // a stopping API process copies its log
    const v = await verifyArchivedAudit(new LocalObjectStore(lake));
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.logs.length, 2, `one log per host: ${JSON.stringify(v)}`);
    assert.ok(v.logs.every((l) => l.ok && l.entries > 0), JSON.stringify(v));
  });
});
