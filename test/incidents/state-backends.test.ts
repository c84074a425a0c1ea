/**
 * The incident state conformance suite (state-conformance.ts) on every backend: SQLite incidents.db, JetStream KV on a
 * real nats-server and log-backed buckets on a real Kafka broker (each skipped with its install hint when missing).
 */
import { randomUUID } from 'node:crypto';
import { connectKvAlertState, KafkaStream, KvAlertState, LogKvStore } from '../../src/backend/index.ts';
import { KvIncidentState, SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { onKafka, onNatsServer } from '../backend/store-fixtures.ts';
import { GROUPING } from './helpers.ts';
import { runIncidentStateConformance } from './state-conformance.ts';

runIncidentStateConformance('sqlite', async () => {
  const tmp = tempDir('dw-incidents-');
  const opened: SqliteIncidentStore[] = [];
  const open = async (): Promise<SqliteIncidentStore> => {
    const s = new SqliteIncidentStore({ dir: tmp.dir, grouping: GROUPING, pollMs: 50 });
    opened.push(s);
    return s;
  };
  return {
    state: await open(), tenant: 'default', reopen: open,
    cleanup: async () => {
      for (const s of opened) s.close();
      tmp.cleanup();
    },
  };
});

onNatsServer('incident state conformance: nats', (url) => runIncidentStateConformance('nats', async () => {
  const servers = [await url()];
  const tenant = `t${randomUUID().slice(0, 8)}`;
  const alerts: KvAlertState[] = [];
  const open = async (): Promise<KvIncidentState> => {
    const a = await connectKvAlertState({ servers, tenant });
    alerts.push(a);
    return KvIncidentState.open({ store: a.kvStore, tenant, grouping: GROUPING });
  };
  const incidents: KvIncidentState[] = [];
  const track = async (): Promise<KvIncidentState> => {
    const s = await open();
    incidents.push(s);
    return s;
  };
  return {
    state: await track(), tenant, reopen: track,
    cleanup: async () => {
      for (const s of incidents) s.close();
      for (const a of alerts) await a.close().catch(() => undefined);
    },
  };
}));

onKafka('incident state conformance: kafka', (bootstrap) => runIncidentStateConformance('kafka', async () => {
  const brokers = (await bootstrap()).split(',');
  const tenant = `t${randomUUID().slice(0, 8)}`;
  const stores: LogKvStore[] = [];
  const incidents: KvIncidentState[] = [];
  const open = async (): Promise<KvIncidentState> => {
    const store = new LogKvStore(await KafkaStream.connect({ brokers, tenant }), { ownsStream: true, topicOf: (b) => `kv-${b}` });
    stores.push(store);
    const s = await KvIncidentState.open({ store, tenant, grouping: GROUPING });
    incidents.push(s);
    return s;
  };
  return {
    state: await open(), tenant, reopen: open,
    cleanup: async () => {
      for (const s of incidents) s.close();
      for (const s of stores) await s.close().catch(() => undefined);
    },
  };
}));
