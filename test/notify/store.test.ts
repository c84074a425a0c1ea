/**
 * The NotifyStore conformance suite on every backend (test/backend/store-fixtures.ts): SQLite notify.db (embedded),
 * the shared buckets on log buckets over a stream (the Kafka backend's; here over the embedded log) and on JetStream
 * KV (a real nats-server; skipped with the reason when it is missing).
 */
import { KvNotifyStore } from '../../src/notify/kv-store.ts';
import { SqliteNotifyStore } from '../../src/notify/sqlite-store.ts';
import { onEveryBackend } from '../backend/store-fixtures.ts';
import { runNotifyStoreConformance } from './store-conformance.ts';

onEveryBackend({
  title: 'notify store conformance',
  sqlite: (dir) => new SqliteNotifyStore(dir),
  kv: (store, tenant) => KvNotifyStore.open({ store, tenant, ownsStore: true, retentionMs: 24 * 3600_000, maxDeliveries: 1000 }),
}, runNotifyStoreConformance);
