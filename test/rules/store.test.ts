/**
 * The RuleStore conformance suite on every backend (test/backend/store-fixtures.ts): SQLite rules.db (embedded), the
 * shared bucket on log buckets over a stream (what the Kafka backend uses; here over the embedded log) and on
 * JetStream KV (a real nats-server; skipped with the reason when it is missing, a failure with CI=true).
 */
import { KvRuleStore } from '../../src/backend/shared/rules.ts';
import { SqliteRuleStore } from '../../src/backend/sqlite/rules.ts';
import { onEveryBackend } from '../backend/store-fixtures.ts';
import { runRuleStoreConformance } from './store-conformance.ts';

onEveryBackend({
  title: 'rule store conformance',
  sqlite: (dir) => new SqliteRuleStore(dir),
  kv: (store, tenant) => KvRuleStore.open({ store, tenant, ownsStore: true }),
}, runRuleStoreConformance);
