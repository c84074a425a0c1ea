import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { hashPassword, permissionsOf, SecurityStore, verifyPassword, type Permission } from '../../src/security/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };

describe('passwords', () => {
  it('hashes with scrypt at OWASP parameters by default and verifies in constant time', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^scrypt\$17\$8\$1\$[\w-]{22}\$[\w-]{43}$/, h);
    assert.equal(await verifyPassword('correct horse battery staple', h), true, 'right password');
    assert.equal(await verifyPassword('correct horse battery stapl', h), false, 'wrong password');
    assert.notEqual(await hashPassword('same', FAST), await hashPassword('same', FAST), 'salted');
    assert.equal(await verifyPassword('x', 'md5$abc'), false, 'malformed hash');
  });
});

describe('security store', () => {
  const tmp = tempDir('dw-security-');
  let store: SecurityStore;
  before(async () => {
    store = SecurityStore.open(tmp.dir, { scrypt: FAST });
    store.createTenant('paris');
    store.createTenant('lyon');
    await store.createUser({ tenant: 'paris', username: 'alice', roles: ['officer'], password: 'alice-password-1' });
    await store.createUser({ tenant: 'lyon', username: 'bob', roles: ['analyst', 'supervisor'], password: 'bob-password-12' });
  });
  after(() => {
    store.close();
    tmp.cleanup();
  });

  it('refuses bad input with the field', async () => {
    assert.throws(() => store.createTenant('Bad Name'), /tenant: must be/);
    assert.throws(() => store.createTenant('paris'), (e: Error & { code?: string }) => e.code === 'DW_CONFLICT');
    await assert.rejects(store.createUser({ tenant: 'paris', username: 'c', roles: ['root'], password: 'long-enough-pw' }), /roles: must be/);
    await assert.rejects(store.createUser({ tenant: 'paris', username: 'c', roles: ['officer'], password: 'short' }), /password: must be at least 12/);
    await assert.rejects(store.createUser({ tenant: 'nowhere', username: 'c', roles: ['officer'], password: 'long-enough-pw' }), /unknown tenant/);
    await assert.rejects(store.createUser({ tenant: 'paris', username: 'alice', roles: ['officer'], password: 'long-enough-pw' }), /exists already/);
  });

  it('checks passwords, and a disabled account cannot log in or use its sessions and tokens', async () => {
    assert.equal((await store.checkPassword('alice', 'alice-password-1'))?.username, 'alice', 'right password');
    assert.equal(await store.checkPassword('alice', 'wrong-password'), undefined, 'wrong password');
    assert.equal(await store.checkPassword('nobody', 'alice-password-1'), undefined, 'unknown user');
    const u = store.getUser('bob');
    const session = store.createSession(u, 60_000);
    const api = store.createApiToken('bob', 'script');
    assert.equal(store.resolveSession(session.token)?.principal.name, 'bob', 'session resolves');
    assert.equal(store.resolveSession(session.token)?.csrf, session.csrf, 'csrf bound to the session');
    assert.equal(store.resolveBearer(api.token)?.name, 'bob', 'API token resolves');
    store.setDisabled('bob', true);
    assert.equal(store.resolveSession(session.token), undefined, 'session ended');
    assert.equal(store.resolveBearer(api.token), undefined, 'token refused while disabled');
    assert.equal(await store.checkPassword('bob', 'bob-password-12'), undefined, 'disabled cannot log in');
    store.setDisabled('bob', false);
    assert.equal(store.resolveBearer(api.token)?.name, 'bob', 'token works again once enabled');
    store.revokeApiToken(api.id);
    assert.equal(store.resolveBearer(api.token), undefined, 'revoked token refused at once');
  });

  it('expired sessions are refused', () => {
    const s = store.createSession(store.getUser('alice'), -1);
    assert.equal(store.resolveSession(s.token), undefined, 'expired');
  });

  it('principals carry the permissions of their roles, and admin sees no personal data', () => {
    const p = store.resolveSession(store.createSession(store.getUser('bob'), 60_000).token)!.principal;
    assert.equal(p.tenant, 'lyon', 'tenant');
    for (const perm of ['analysis:query', 'alerts:assign', 'reaction-time:read', 'audit:read'] as Permission[]) assert.ok(p.permissions.has(perm), perm);
    const admin = permissionsOf(['admin']);
    for (const perm of ['alerts:read', 'analysis:query', 'analysis:export'] as Permission[]) assert.equal(admin.has(perm), false, `admin must not have ${perm}`);
    assert.equal(permissionsOf(['officer']).has('analysis:query'), false, 'officer runs no SQL');
    assert.equal(permissionsOf(['analyst']).has('alerts:act'), false, 'analyst does not ack');
  });

  it('drone credentials: one per drone, rotated by re-registering, revoked at once; gateways publish for any drone', () => {
    const first = store.registerDrone('paris', 'drone-00001');
    assert.equal(store.resolveBearer(first.token)?.droneId, 'drone-00001', 'drone resolves');
    assert.equal(store.resolveBearer(first.token)?.tenant, 'paris', 'in its tenant');
    const second = store.registerDrone('paris', 'drone-00001');
    assert.equal(store.resolveBearer(first.token), undefined, 'old credential replaced');
    assert.equal(store.resolveBearer(second.token)?.name, 'drone:drone-00001', 'new one works');
    store.revokeDrone('paris', 'drone-00001');
    assert.equal(store.resolveBearer(second.token), undefined, 'revoked');
    const gw = store.registerDrone('paris', '*');
    assert.ok(store.resolveBearer(gw.token)?.permissions.has('ingest:any-drone'), 'gateway permission');
    assert.equal(store.resolveBearer('dw_drone_forged'), undefined, 'malformed');
    assert.throws(() => store.registerDrone('paris', 'bad id with spaces'), /droneId/);
  });

  it('stores no secret in clear: only hashes are on disk', async () => {
    const { token } = store.registerDrone('lyon', 'drone-x');
    const api = store.createApiToken('alice', 'cli');
    const s = store.createSession(store.getUser('alice'), 60_000);
    const db = new Database(path.join(tmp.dir, 'security.db'), { readonly: true });
    const dump = JSON.stringify([db.prepare('SELECT * FROM drones').all(), db.prepare('SELECT * FROM api_tokens').all(), db.prepare('SELECT * FROM sessions').all(), db.prepare('SELECT * FROM users').all()]);
    db.close();
    const files = readdirSync(tmp.dir).map((f) => readFileSync(path.join(tmp.dir, f)).toString('latin1')).join('');
    for (const secret of [token, api.token, s.token, 'alice-password-1']) {
      assert.equal(dump.includes(secret), false, `secret in a table: ${secret.slice(0, 8)}`);
      assert.equal(files.includes(secret), false, `secret in a file: ${secret.slice(0, 8)}`);
    }
  });
});

describe('first administrator (regression: two processes sharing security.dir both started at once)', () => {
  it('is created exactly once, whichever of several stores on one directory gets there first', async () => {
    const tmp = tempDir('dw-bootstrap-');
    const stores = [0, 1, 2].map(() => SecurityStore.open(tmp.dir, { scrypt: FAST }));
    try {
      const created = await Promise.all(stores.map((s, i) => s.bootstrapAdmin('default', 'admin', `first-password-${i}-long`)));
      assert.equal(created.filter(Boolean).length, 1, `exactly one creates it: ${JSON.stringify(created)}`);
      assert.equal(stores[0]!.countUsers(), 1, 'one user');
      assert.deepEqual(stores[1]!.getUser('admin').roles, ['admin']);
      assert.equal(await stores[2]!.bootstrapAdmin('default', 'admin2', 'another-password-1'), false, 'never once a user exists');
    } finally {
      for (const s of stores) s.close();
      tmp.cleanup();
    }
  });
});
