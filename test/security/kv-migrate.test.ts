/**
 * Moving a deployment's credentials from security.db to JetStream KV (`dronewatch security migrate-to-kv`). Regression
 * guard: with `security.store` `auto`, a deployment on NATS whose accounts were in security.db would have started on an
 * empty KV store, created a new first administrator and locked every officer, token and drone out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { AuditLog } from '../../src/security/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { runCli } from '../cli/helpers.ts';
import { FAST } from './credentials-suite.ts';
import { connectKvCredentialStore, KvCredentialStore, SecurityStore } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();

describe('credentials from security.db to JetStream KV', { skip, timeout: 120_000 }, () => {
  const tmp = tempDir('dw-kv-migrate-');
  const dir = path.join(tmp.dir, 'host');
  let nats: NatsTestServer;
  const secrets: Record<string, string> = {};

  before(async () => {
    nats = await startNatsServer();
    const local = SecurityStore.open(dir, { scrypt: FAST });
    local.createTenant('paris');
    await local.createUser({ tenant: 'paris', username: 'lucie@paris', roles: ['supervisor'], password: 'lucie-password-1' });
    await local.createUser({ tenant: 'paris', username: 'marc', roles: ['officer'], password: 'marc-password-12' });
    local.setDisabled('marc', true);
    secrets.api = local.createApiToken('lucie@paris', 'script').token;
    const revoked = local.createApiToken('lucie@paris', 'old');
    local.revokeApiToken(revoked.id);
    secrets.revoked = revoked.token;
    secrets.drone = local.registerDrone('paris', 'drone:7').token;
    secrets.gateway = local.registerDrone('paris', '*').token;
    local.close();
  });
  after(async () => {
    await nats?.stop();
    tmp.cleanup();
  });

  const platform = async (): Promise<Platform> => Platform.open(validateConfig({
    dataDir: dir, stream: { url: nats.url }, http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 }, security: { auditCopySeconds: 0 },
  }), { scrypt: FAST });

  it('an API process on an empty KV store refuses to start while the accounts are still in security.db', async () => {
    const p = await platform();
    try {
      await assert.rejects(p.start({ http: 'api' }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DW_CONFIG_INVALID', String(e));
        assert.match(e.message, /migrate-to-kv/);
        return true;
      });
      assert.equal(p.takeBootstrapCredential(), undefined, 'no new administrator was created');
    } finally {
      await p.stop();
    }
  });

  it('migrate-to-kv copies accounts, tokens and drones with their hashes: every credential keeps working, once', async () => {
    const args = ['security', 'migrate-to-kv', '--data', dir, '--stream', nats.url];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /copied 7 credentials to JetStream KV \(0 were there already\): 1 tenants, 2 accounts, 2 API tokens, 2 drone credentials/);
    const again = await runCli(args);
    assert.match(again.stdout, /copied 0 credentials to JetStream KV \(7 were there already\)/, 'a re-run copies nothing');

    const kv = await connectKvCredentialStore({ servers: [nats.url], scrypt: FAST });
    try {
      assert.equal((await kv.checkPassword('lucie@paris', 'lucie-password-1'))?.tenant, 'paris', 'the same password logs in');
      assert.equal(await kv.checkPassword('marc', 'marc-password-12'), undefined, 'a disabled account stays disabled');
      assert.equal((await kv.resolveBearer(secrets.api!))?.name, 'lucie@paris', 'the API token works');
      assert.equal(await kv.resolveBearer(secrets.revoked!), undefined, 'a revoked token stays revoked');
      assert.equal((await kv.resolveBearer(secrets.drone!))?.droneId, 'drone:7', 'the drone credential works');
      assert.ok((await kv.resolveBearer(secrets.gateway!))?.permissions.has('ingest:any-drone'), 'the gateway works');
    } finally {
      await kv.close();
    }
    const audit = AuditLog.open(dir);
    try {
      assert.ok(audit.list({ limit: 100 }).some((e) => e.action === 'security.migrate' && e.actor.startsWith('cli:')), 'the migration is audited');
    } finally {
      audit.close();
    }

    const p = await platform();
    try {
      await p.start({ http: 'api' });
      assert.equal(p.takeBootstrapCredential(), undefined, 'no new administrator: the accounts are there');
      const me = await fetch(`${p.address!}/v1/auth/me`, { headers: { authorization: `Bearer ${secrets.api}` } });
      assert.equal(me.status, 200, 'the migrated token is accepted by the API');
    } finally {
      await p.stop();
    }
  });
});
