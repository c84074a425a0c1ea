/**
 * The RuleStore conformance suite on every backend: SQLite rules.db (embedded), the shared bucket on log buckets over
 * a stream (what the Kafka backend uses; here over the embedded log) and on JetStream KV (a real nats-server; skipped
 * with the reason when it is missing, a failure with CI=true).
 */
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { LogKvStore, NatsKvStore, SqliteStream } from '../../src/backend/index.ts';
import { KvRuleStore } from '../../src/backend/shared/rules.ts';
import { SqliteRuleStore } from '../../src/backend/sqlite/rules.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { runRuleStoreConformance } from './store-conformance.ts';

runRuleStoreConformance('sqlite', async () => {
  const tmp = tempDir('dw-rules-');
  return { tenant: 'paris', open: async () => new SqliteRuleStore(tmp.dir), cleanup: async () => tmp.cleanup() };
});

runRuleStoreConformance('log bucket (Kafka backend) over the embedded log', async () => {
  const tmp = tempDir('dw-rules-log-');
  return {
    tenant: 'paris',
    // Each store its own stream connection on the same file: two processes.
    open: async () => KvRuleStore.open({ store: new LogKvStore(await SqliteStream.open(path.join(tmp.dir, 'stream.db')), { ownsStream: true }), tenant: 'paris', ownsStore: true }),
    cleanup: async () => tmp.cleanup(),
  };
});

const skip = natsServerOrSkip();
if (skip) {
  describe('rule store conformance: nats', () => {
    it('needs nats-server >= 2.10', { skip }, () => undefined);
  });
} else {
  let server: Promise<NatsTestServer> | undefined;
  after(async () => {
    if (server) await (await server).stop();
  });
  runRuleStoreConformance('nats', async () => {
    const { url } = await (server ??= startNatsServer());
    const tenant = `t${randomUUID().slice(0, 8)}`;
    return {
      tenant,
      open: async () => KvRuleStore.open({ store: await NatsKvStore.connect({ servers: [url], name: 'rules-test' }), tenant, ownsStore: true }),
      cleanup: async () => undefined,
    };
  });
}
