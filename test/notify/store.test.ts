/**
 * The NotifyStore conformance suite on every backend: SQLite notify.db (embedded), the shared buckets on log buckets
 * over a stream (the Kafka backend's; here over the embedded log) and on JetStream KV (a real nats-server; skipped
 * with the reason when it is missing).
 */
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { LogKvStore, NatsKvStore, SqliteStream } from '../../src/backend/index.ts';
import { KvNotifyStore } from '../../src/notify/kv-store.ts';
import { SqliteNotifyStore } from '../../src/notify/sqlite-store.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { runNotifyStoreConformance } from './store-conformance.ts';

const KV = { retentionMs: 24 * 3600_000, maxDeliveries: 1000 };

runNotifyStoreConformance('sqlite', async () => {
  const tmp = tempDir('dw-notify-');
  return { tenant: 'paris', open: async () => new SqliteNotifyStore(tmp.dir), cleanup: async () => tmp.cleanup() };
});

runNotifyStoreConformance('log buckets (Kafka backend) over the embedded log', async () => {
  const tmp = tempDir('dw-notify-log-');
  return {
    tenant: 'paris',
    open: async () => KvNotifyStore.open({ store: new LogKvStore(await SqliteStream.open(path.join(tmp.dir, 'stream.db')), { ownsStream: true }), tenant: 'paris', ownsStore: true, ...KV }),
    cleanup: async () => tmp.cleanup(),
  };
});

const skip = natsServerOrSkip();
if (skip) {
  describe('notify store conformance: nats', () => {
    it('needs nats-server >= 2.10', { skip }, () => undefined);
  });
} else {
  let server: Promise<NatsTestServer> | undefined;
  after(async () => {
    if (server) await (await server).stop();
  });
  runNotifyStoreConformance('nats', async () => {
    const { url } = await (server ??= startNatsServer());
    const tenant = `t${randomUUID().slice(0, 8)}`;
    return {
      tenant,
      open: async () => KvNotifyStore.open({ store: await NatsKvStore.connect({ servers: [url], name: 'notify-test' }), tenant, ownsStore: true, ...KV }),
      cleanup: async () => undefined,
    };
  });
}
