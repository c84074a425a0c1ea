/**
 * The incident state conformance suite (state-conformance.ts) on every backend: SQLite incidents.db, JetStream KV on a
 * real nats-server and log-backed buckets on a real Kafka broker (each skipped with its install hint when missing).
 */
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { connectKvAlertState, KafkaStream, KvAlertState, LogKvStore } from '../../src/backend/index.ts';
import { KvIncidentState, SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { kafkaOrSkip, natsServerOrSkip, startKafka, startNatsServer, tempDir, type KafkaTestCluster, type NatsTestServer } from '../../src/testkit/index.ts';
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

const natsSkip = natsServerOrSkip();
if (natsSkip) {
  describe('incident state conformance: nats', () => {
    it('needs nats-server >= 2.10', { skip: natsSkip }, () => undefined);
  });
} else {
  let server: Promise<NatsTestServer> | undefined;
  after(async () => {
    if (server) await (await server).stop();
  });
  runIncidentStateConformance('nats', async () => {
    const { url } = await (server ??= startNatsServer());
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const alerts: KvAlertState[] = [];
    const open = async (): Promise<KvIncidentState> => {
      const a = await connectKvAlertState({ servers: [url], tenant });
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
  });
}

const kafkaSkip = kafkaOrSkip();
if (kafkaSkip) {
  describe('incident state conformance: kafka', () => {
    it('needs Kafka 4 jars and Java >= 17', { skip: kafkaSkip }, () => undefined);
  });
} else {
  let cluster: Promise<KafkaTestCluster> | undefined;
  after(async () => {
    if (cluster) await (await cluster).stop();
  });
  runIncidentStateConformance('kafka', async () => {
    const { bootstrap } = await (cluster ??= startKafka({ nodes: 1 }));
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const stores: LogKvStore[] = [];
    const incidents: KvIncidentState[] = [];
    const open = async (): Promise<KvIncidentState> => {
      const store = new LogKvStore(await KafkaStream.connect({ brokers: bootstrap.split(','), tenant }), { ownsStream: true, topicOf: (b) => `kv-${b}` });
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
  });
}
