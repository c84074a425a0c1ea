/**
 * One conformance suite for every credential store (src/security/credentials.ts): SQLite (store.test.ts) and
 * JetStream KV (kv-store.test.ts). Each backend gives stores on one shared backing (a directory, a NATS server) and
 * the raw bytes it keeps, to check that no secret is stored in clear.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { permissionsOf, type CredentialStore, type Permission } from '../../src/security/index.ts';

export const FAST = { log2N: 10, r: 8, p: 1 };

export interface CredentialBackend {
  /** A new store on the shared backing (processes sharing `security.dir`, or connected to one NATS deployment). */
  open(): Promise<CredentialStore>;
  /** Everything the backing keeps on disk, as text, to search for secrets. */
  rawBytes(): string | Promise<string>;
  cleanup(): Promise<void>;
}

/** Waits until `check` holds: another store sees a change through its own copy (at once for SQLite, ms for KV). */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function credentialStoreConformance(name: string, backend: () => Promise<CredentialBackend>, opts: { skip?: string } = {}): void {
  describe(`credential store conformance: ${name}`, { ...(opts.skip ? { skip: opts.skip } : {}), timeout: 120_000 }, () => {
    let b: CredentialBackend;
    let store: CredentialStore;
    const opened: CredentialStore[] = [];
    const open = async (): Promise<CredentialStore> => {
      const s = await b.open();
      opened.push(s);
      return s;
    };
    before(async () => {
      b = await backend();
      store = await open();
      await store.createTenant('paris');
      await store.createTenant('lyon');
      await store.createUser({ tenant: 'paris', username: 'alice', roles: ['officer'], password: 'alice-password-1' });
      await store.createUser({ tenant: 'lyon', username: 'bob', roles: ['analyst', 'supervisor'], password: 'bob-password-12' });
    });
    after(async () => {
      for (const s of opened) await s.close();
      await b?.cleanup();
    });

    it('refuses bad input with the field, and duplicates with DW_CONFLICT', async () => {
      await assert.rejects(async () => store.createTenant('Bad Name'), /tenant: must be/);
      await assert.rejects(async () => store.createTenant('paris'), (e: Error & { code?: string }) => e.code === 'DW_CONFLICT');
      await assert.rejects(store.createUser({ tenant: 'paris', username: 'c', roles: ['root'], password: 'long-enough-pw' }), /roles: must be/);
      await assert.rejects(store.createUser({ tenant: 'paris', username: 'c', roles: ['officer'], password: 'short' }), /password: must be at least 12/);
      await assert.rejects(store.createUser({ tenant: 'nowhere', username: 'c', roles: ['officer'], password: 'long-enough-pw' }), /unknown tenant/);
      await assert.rejects(store.createUser({ tenant: 'paris', username: 'alice', roles: ['officer'], password: 'long-enough-pw' }), /exists already/);
      await assert.rejects(async () => store.registerDrone('paris', 'bad id with spaces'), /droneId/);
      await assert.rejects(async () => store.registerDrone('nowhere', 'd-1'), /unknown tenant/);
    });

    it('lists tenants and users, per tenant, in name order; user names may hold . _ @ -', async () => {
      await store.createUser({ tenant: 'paris', username: 'zoe.martin@paris', roles: ['analyst', 'analyst', 'officer'], password: 'zoe-password-123' });
      assert.deepEqual(store.listTenants().map((t) => t.id).filter((t) => t === 'paris' || t === 'lyon'), ['lyon', 'paris']);
      assert.deepEqual(store.listUsers('paris').map((u) => u.username), ['alice', 'zoe.martin@paris']);
      assert.deepEqual(store.getUser('zoe.martin@paris').roles, ['analyst', 'officer'], 'roles once each');
      assert.equal(store.findUser('nobody'), undefined);
      assert.throws(() => store.getUser('nobody'), (e: Error & { code?: string }) => e.code === 'DW_NOT_FOUND');
      assert.ok(store.countUsers() >= 3, 'counted');
    });

    it('checks passwords; a disabled account cannot log in or use its sessions and tokens', async () => {
      assert.equal((await store.checkPassword('alice', 'alice-password-1'))?.username, 'alice', 'right password');
      assert.equal(await store.checkPassword('alice', 'wrong-password'), undefined, 'wrong password');
      assert.equal(await store.checkPassword('nobody', 'alice-password-1'), undefined, 'unknown user');
      const session = await store.createSession(store.getUser('bob'), 60_000);
      const api = await store.createApiToken('bob', 'script');
      assert.equal((await store.resolveSession(session.token))?.principal.name, 'bob', 'session resolves');
      assert.equal((await store.resolveSession(session.token))?.csrf, session.csrf, 'csrf bound to the session');
      assert.equal((await store.resolveBearer(api.token))?.name, 'bob', 'API token resolves');
      await store.setDisabled('bob', true);
      assert.equal(await store.resolveSession(session.token), undefined, 'session ended');
      assert.equal(await store.resolveBearer(api.token), undefined, 'token refused while disabled');
      assert.equal(await store.checkPassword('bob', 'bob-password-12'), undefined, 'disabled cannot log in');
      await store.setDisabled('bob', false);
      assert.equal((await store.resolveBearer(api.token))?.name, 'bob', 'token works again once enabled');
      assert.equal(await store.resolveSession(session.token), undefined, 'the ended session stays ended');
      assert.deepEqual(store.listApiTokens('bob').map((t) => [t.name, t.revokedAt]), [['script', null]]);
      assert.deepEqual(store.findApiToken(api.id) && [store.findApiToken(api.id)!.username, store.findApiToken(api.id)!.tenant], ['bob', 'lyon']);
      await store.revokeApiToken(api.id);
      assert.equal(await store.resolveBearer(api.token), undefined, 'revoked token refused at once');
      await assert.rejects(async () => store.revokeApiToken(api.id), (e: Error & { code?: string }) => e.code === 'DW_NOT_FOUND', 'revoked twice');
    });

    it('a new password ends every session of the account; logout ends one; expired sessions are refused', async () => {
      const a = await store.createSession(store.getUser('alice'), 60_000);
      const b2 = await store.createSession(store.getUser('alice'), 60_000);
      await store.deleteSession(a.token);
      assert.equal(await store.resolveSession(a.token), undefined, 'logged out');
      assert.equal((await store.resolveSession(b2.token))?.principal.name, 'alice', 'the other session lives');
      await store.setPassword('alice', 'alice-password-2');
      assert.equal(await store.resolveSession(b2.token), undefined, 'ended by the new password');
      assert.equal((await store.checkPassword('alice', 'alice-password-2'))?.username, 'alice', 'new password');
      await assert.rejects(store.setPassword('alice', 'short'), /password: must be at least 12/);
      const expired = await store.createSession(store.getUser('alice'), -1);
      assert.equal(await store.resolveSession(expired.token), undefined, 'expired');
      assert.equal(await store.resolveSession('dw_sess_forged'), undefined, 'malformed');
    });

    it('principals carry the permissions of their roles, and admin sees no personal data', async () => {
      const p = (await store.resolveSession((await store.createSession(store.getUser('bob'), 60_000)).token))!.principal;
      assert.equal(p.tenant, 'lyon', 'tenant');
      for (const perm of ['analysis:query', 'alerts:assign', 'reaction-time:read', 'audit:read'] as Permission[]) assert.ok(p.permissions.has(perm), perm);
      const admin = permissionsOf(['admin']);
      for (const perm of ['alerts:read', 'analysis:query', 'analysis:export'] as Permission[]) assert.equal(admin.has(perm), false, `admin must not have ${perm}`);
    });

    it('drone credentials: one per drone, rotated by re-registering, revoked at once; gateways publish for any drone', async () => {
      const first = await store.registerDrone('paris', 'drone:00001');
      assert.equal((await store.resolveBearer(first.token))?.droneId, 'drone:00001', 'drone resolves');
      assert.equal((await store.resolveBearer(first.token))?.tenant, 'paris', 'in its tenant');
      const second = await store.registerDrone('paris', 'drone:00001');
      assert.equal(await store.resolveBearer(first.token), undefined, 'old credential replaced');
      assert.equal((await store.resolveBearer(second.token))?.name, 'drone:drone:00001', 'new one works');
      await store.revokeDrone('paris', 'drone:00001');
      assert.equal(await store.resolveBearer(second.token), undefined, 'revoked');
      await assert.rejects(async () => store.revokeDrone('paris', 'drone:00001'), (e: Error & { code?: string }) => e.code === 'DW_NOT_FOUND', 'revoked twice');
      const gw = await store.registerDrone('paris', '*');
      assert.ok((await store.resolveBearer(gw.token))?.permissions.has('ingest:any-drone'), 'gateway permission');
      assert.equal(await store.resolveBearer('dw_drone_forged'), undefined, 'malformed');
      assert.deepEqual(store.listDrones('paris').map((d) => [d.droneId, d.revokedAt === null]), [['*', true], ['drone:00001', false]]);
      assert.deepEqual(store.listDrones('lyon'), [], 'per tenant');
    });

    it('another store on the same backing sees every change: new accounts, revocations, logouts, disabled users', async () => {
      const other = await open();
      await store.createUser({ tenant: 'paris', username: 'carl', roles: ['officer'], password: 'carl-password-12' });
      assert.equal((await other.checkPassword('carl', 'carl-password-12'))?.username, 'carl', 'an account created elsewhere logs in here at once');
      const s = await store.createSession(store.getUser('carl'), 60_000);
      assert.equal((await other.resolveSession(s.token))?.principal.name, 'carl', 'a session made elsewhere works here at once');
      const api = await other.createApiToken('carl', 'x');
      assert.equal((await store.resolveBearer(api.token))?.name, 'carl', 'a token made elsewhere works here at once');
      const drone = await store.registerDrone('paris', 'drone-9');
      await eventually('the drone credential to reach the other store', async () => (await other.resolveBearer(drone.token))?.droneId === 'drone-9');
      await store.deleteSession(s.token);
      await eventually('the logout to reach the other store', async () => (await other.resolveSession(s.token)) === undefined);
      await other.revokeApiToken(api.id);
      await eventually('the revocation to reach the first store', async () => (await store.resolveBearer(api.token)) === undefined);
      await store.revokeDrone('paris', 'drone-9');
      await eventually('the drone revocation to reach the other store', async () => (await other.resolveBearer(drone.token)) === undefined);
      const s2 = await other.createSession(other.getUser('carl'), 60_000);
      await store.setDisabled('carl', true);
      await eventually('the disabled account to reach the other store', async () => (await other.resolveSession(s2.token)) === undefined);
      await assert.rejects(async () => other.createTenant('paris'), (e: Error & { code?: string }) => e.code === 'DW_CONFLICT', 'tenant ids unique across stores');
    });

    it('stores no secret in clear: only hashes are kept', async () => {
      const { token } = await store.registerDrone('lyon', 'drone-x');
      const api = await store.createApiToken('bob', 'cli');
      const s = await store.createSession(store.getUser('bob'), 60_000);
      await new Promise((r) => setTimeout(r, 100)); // written through to disk
      const raw = await b.rawBytes();
      assert.ok(raw.includes('drone-x') || raw.includes(Buffer.from('drone-x').toString('base64url')), 'the dump holds the store (sanity)');
      for (const secret of [token, api.token, s.token, 'bob-password-12', 'alice-password-1']) {
        assert.equal(raw.includes(secret), false, `secret kept in clear: ${secret.slice(0, 8)}`);
      }
    });

    it('creates the first administrator exactly once, whichever of several stores gets there first', async () => {
      const fresh = await b.open(); // the shared backing already has users: never
      opened.push(fresh);
      assert.equal(await fresh.bootstrapAdmin('default', 'admin', 'first-password-1-long'), false, 'never once a user exists');
    });
  });
}

/** The bootstrap race on an empty backing (regression: two processes sharing the store both started at once). */
export function bootstrapRace(name: string, backend: () => Promise<CredentialBackend>, opts: { skip?: string } = {}): void {
  describe(`first administrator: ${name} (regression: two processes both started at once)`, { ...(opts.skip ? { skip: opts.skip } : {}) }, () => {
    it('is created exactly once, whichever of several stores gets there first', async () => {
      const b = await backend();
      const stores = await Promise.all([0, 1, 2].map(() => b.open()));
      try {
        const created = await Promise.all(stores.map((s, i) => s.bootstrapAdmin('default', 'admin', `first-password-${i}-long`)));
        assert.equal(created.filter(Boolean).length, 1, `exactly one creates it: ${JSON.stringify(created)}`);
        await eventually('every store to see the admin', () => stores.every((s) => s.countUsers() === 1));
        assert.deepEqual(stores[1]!.getUser('admin').roles, ['admin']);
        assert.equal(await stores[2]!.bootstrapAdmin('default', 'admin2', 'another-password-1'), false, 'never once a user exists');
      } finally {
        for (const s of stores) await s.close();
        await b.cleanup();
      }
    });
  });
}
