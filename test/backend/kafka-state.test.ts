/**
 * The Kafka backend's shared state against a real Kafka 4 broker (one KRaft node started once for the file), opened
 * as the platform opens it (openBackend with a kafka:// stream.url): the SharedKv suite on log-backed buckets over
 * KafkaStream, the alert state, credential store, first-administrator race and saved queries. Skipped with the install
 * hint when the Kafka jars or Java 17 are missing (a failure with CI=true).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DEPLOYMENT_SCOPE, KafkaStream, KvCredentialStore, LogKvStore, openBackend, type Backend } from '../../src/backend/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runAlertStateConformance } from '../alerts/state-conformance.ts';
import { bootstrapRace, credentialStoreConformance, FAST, type CredentialBackend } from '../security/credentials-suite.ts';
import { runSharedKvConformance } from './shared-kv-conformance.ts';
import { onKafka } from './store-fixtures.ts';

const WINDOW = 60_000;

onKafka('shared state on kafka', (clusterBootstrap) => {
  /** A backend as a process of a deployment opens it; `tenant` scopes its stream and alert buckets. */
  const backendOf = async (tenant: string, security: { store: 'kv' } | object = {}): Promise<Backend> => {
    const bootstrap = await clusterBootstrap();
    const tmp = tempDir('dw-kafka-backend-');
    const config = validateConfig({ dataDir: tmp.dir, tenant, stream: { url: `kafka://${bootstrap}` }, security, alerts: { dedupWindowMs: WINDOW } });
    const b = await openBackend(config, { scrypt: FAST });
    return { ...b, close: async () => { await b.close(); tmp.cleanup(); } };
  };

  runSharedKvConformance('log buckets on Kafka', async () => {
    const bootstrap = await clusterBootstrap();
    return {
      open: async () => new LogKvStore(await KafkaStream.connect({ brokers: bootstrap.split(','), tenant: DEPLOYMENT_SCOPE }), { ownsStream: true, topicOf: (b) => `kv-${b}` }),
      cleanup: async () => undefined,
    };
  });

  runAlertStateConformance('kafka', async () => {
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const opened: Backend[] = [];
    const open = async () => {
      const b = await backendOf(tenant);
      opened.push(b);
      return b.alertState();
    };
    return {
      state: await open(), tenant, windowMs: WINDOW, reopen: open,
      cleanup: async () => {
        for (const b of opened) await b.close().catch(() => undefined);
      },
    };
  });

  // Each suite on buckets of its own (a fresh namespace on the one cluster), so that it starts from an empty store.
  const credentialBackend = async (): Promise<CredentialBackend> => {
    const bootstrap = await clusterBootstrap();
    const scope = `c${randomUUID().slice(0, 8)}`;
    return {
      open: async () => KvCredentialStore.open({
        store: new LogKvStore(await KafkaStream.connect({ brokers: bootstrap.split(','), tenant: scope }), { ownsStream: true, topicOf: (b) => `kv-${b}` }),
        backend: 'kafka', scrypt: FAST,
      }),
      // Every record the buckets' topics hold, read back through the stream (the broker's files are compressed).
      rawBytes: async () => {
        const s = await KafkaStream.connect({ brokers: bootstrap.split(','), tenant: scope });
        try {
          let raw = '';
          for (const bucket of ['dw_security', 'dw_sessions', 'dw_login_failures']) {
            for (const r of await s.read(`kv-${bucket}`, { limit: 100_000 })) raw += r.key + Buffer.from(r.value).toString('latin1') + JSON.stringify(r.headers);
          }
          return raw;
        } finally {
          await s.close();
        }
      },
      cleanup: async () => undefined,
    };
  };
  credentialStoreConformance('kafka', credentialBackend);
  bootstrapRace('kafka', credentialBackend);

  describe('kafka backend', { timeout: 120_000 }, () => {
    it('opens every part from a kafka:// URL; credentials and saved queries are the deployment\'s, alerts the tenant\'s', async () => {
      const a = await backendOf('paris');
      const b = await backendOf('lyon');
      try {
        assert.equal(a.kind, 'kafka');
        assert.equal(a.tenantScope, 'paris');
        const stream = await a.stream();
        assert.match(stream.name, /^kafka:/);
        const ca = await a.credentials();
        const cb = await b.credentials();
        const tenant = `f${randomUUID().slice(0, 8)}`;
        await ca.createTenant(tenant);
        await ca.createUser({ tenant, username: `u-${tenant}`, roles: ['officer'], password: 'a-long-enough-password' });
        const until = Date.now() + 10_000;
        while (!cb.findUser(`u-${tenant}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        assert.ok(cb.findUser(`u-${tenant}`), 'a process of another tenant authenticates the same accounts');
        const qa = await a.savedQueries();
        const qb = await b.savedQueries();
        await qa.save(tenant, { name: 'q1', sql: 'SELECT 1' });
        while (qb.list(tenant).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        assert.equal(qb.get(tenant, 'q1').sql, 'SELECT 1', 'saved queries are shared by every host');
        const sa = await a.alertState();
        const sb = await b.alertState();
        assert.notEqual(sa, sb);
        assert.equal((await sb.list({ tenant: 'paris' })).length, 0, 'another tenant\'s process holds none of paris\'s alerts');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
