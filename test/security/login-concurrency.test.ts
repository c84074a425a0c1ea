/**
 * Regression (issue 15, defect 4): concurrent logins got past the login limiter. 60 simultaneous wrong-password logins
 * from one address, 30 of them for one account, were all checked against limits of 5 per account and 20 per address,
 * because each request checked the limit before any of them had counted its failure. Now an attempt is counted when
 * it is admitted. Checked on the in-memory limiter (embedded) and on the shared one (two API hosts on one deployment's
 * buckets: log-backed, as on Kafka; JetStream KV runs the same code).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { KvCredentialStore, LogKvStore, SecurityStore, SqliteStream } from '../../src/backend/index.ts';
import { AuditLog, DEFAULT_LOGIN_LIMITS, LoginRateLimiter, type CredentialStore } from '../../src/security/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const PASSWORD = 'the-victims-password-1';
const ADDRESS = '10.9.8.7';

async function appFor(security: CredentialStore, audit: AuditLog, limiter = security.loginLimiter()): Promise<FastifyInstance> {
  return buildServer({ auth: { security, audit, limiter } });
}

/** 60 wrong-password logins at once from one address, 30 for `victim`, spread over the given servers. */
async function storm(apps: FastifyInstance[]): Promise<{ victimChecked: number; checked: number; limited: number }> {
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => apps[i % apps.length]!.inject({
    method: 'POST', url: '/v1/auth/login', remoteAddress: ADDRESS,
    payload: { username: i % 2 === 0 ? 'victim' : `someone${i}`, password: `guess-number-${i}` },
  }).then((r) => ({ status: r.statusCode, victim: i % 2 === 0 }))));
  for (const a of answers) assert.ok(a.status === 401 || a.status === 429, `a wrong password is refused: ${a.status}`);
  return {
    victimChecked: answers.filter((a) => a.victim && a.status === 401).length,
    checked: answers.filter((a) => a.status === 401).length,
    limited: answers.filter((a) => a.status === 429).length,
  };
}

async function victimLocked(app: FastifyInstance): Promise<void> {
  const right = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.1.1.1', payload: { username: 'victim', password: PASSWORD } });
  assert.equal(right.statusCode, 429, 'the account is locked even for the right password from another address');
}

describe('concurrent logins cannot get past the login limiter (regression)', { timeout: 60_000 }, () => {
  it('embedded: in-memory limiter, one API process', async () => {
    const tmp = tempDir('dw-login-storm-');
    const security = SecurityStore.open(tmp.dir, { scrypt: FAST });
    const audit = AuditLog.open(tmp.dir);
    try {
      security.createTenant('paris');
      await security.createUser({ tenant: 'paris', username: 'victim', roles: ['officer'], password: PASSWORD });
      const app = await appFor(security, audit, new LoginRateLimiter());
      const r = await storm([app]);
      assert.ok(r.victimChecked <= DEFAULT_LOGIN_LIMITS.perAccount, `at most ${DEFAULT_LOGIN_LIMITS.perAccount} guesses checked for one account, got ${r.victimChecked}`);
      assert.ok(r.checked <= DEFAULT_LOGIN_LIMITS.perAddress, `at most ${DEFAULT_LOGIN_LIMITS.perAddress} guesses checked from one address, got ${r.checked}`);
      assert.ok(r.limited >= 40, `the rest refused with 429, got ${r.limited}`);
      await victimLocked(app);
      await app.close();
    } finally {
      audit.close();
      security.close();
      tmp.cleanup();
    }
  });

  it('distributed: the shared limiter, two API hosts', async () => {
    const tmp = tempDir('dw-login-storm-kv-');
    const file = path.join(tmp.dir, 'stream.db');
    const open = async (): Promise<KvCredentialStore> => KvCredentialStore.open({
      store: new LogKvStore(await SqliteStream.open(file), { ownsStream: true }), backend: 'kafka', scrypt: FAST,
    });
    const a = await open();
    const b = await open();
    const audit = AuditLog.open(tmp.dir);
    try {
      await a.createTenant('paris');
      await a.createUser({ tenant: 'paris', username: 'victim', roles: ['officer'], password: PASSWORD });
      const until = Date.now() + 5000;
      while (!b.findUser('victim') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      const apps = [await appFor(a, audit), await appFor(b, audit)];
      const r = await storm(apps);
      assert.ok(r.victimChecked <= DEFAULT_LOGIN_LIMITS.perAccount, `at most ${DEFAULT_LOGIN_LIMITS.perAccount} guesses checked for one account across hosts, got ${r.victimChecked}`);
      assert.ok(r.checked <= DEFAULT_LOGIN_LIMITS.perAddress, `at most ${DEFAULT_LOGIN_LIMITS.perAddress} guesses checked from one address across hosts, got ${r.checked}`);
      await victimLocked(apps[1]!);
      for (const app of apps) await app.close();
    } finally {
      audit.close();
      await a.close();
      await b.close();
      tmp.cleanup();
    }
  });

  it('a successful login takes its attempt back: an office behind one address is not locked out by its own logins', async () => {
    const tmp = tempDir('dw-login-ok-');
    const security = SecurityStore.open(tmp.dir, { scrypt: FAST });
    const audit = AuditLog.open(tmp.dir);
    try {
      security.createTenant('paris');
      await security.createUser({ tenant: 'paris', username: 'lucie', roles: ['officer'], password: PASSWORD });
      const app = await appFor(security, audit, new LoginRateLimiter());
      for (let i = 0; i < DEFAULT_LOGIN_LIMITS.perAddress + 5; i++) {
        const r = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: ADDRESS, payload: { username: 'lucie', password: PASSWORD } });
        assert.equal(r.statusCode, 200, `login ${i + 1} of one officer from the office's address`);
      }
      await app.close();
    } finally {
      audit.close();
      security.close();
      tmp.cleanup();
    }
  });
});
