/**
 * The Kafka backend: the stream on Kafka topics and broker consumer groups; alert state, credentials, failed logins and
 * saved queries in log-backed buckets on Kafka topics (src/backend/shared/log-kv.ts), so a deployment needs Kafka alone.
 */
import { KvAlertState, KvCredentialStore, KvSavedQueryStore, LogKvStore } from '../shared/index.ts';
import type { BackendConfig, BackendOptions, BackendParts } from '../types.ts';
import { DEPLOYMENT_SCOPE } from './names.ts';
import { KafkaStream } from './stream.ts';
import { kafkaBrokers } from './url.ts';

export function kafkaBackend(config: BackendConfig, opts: BackendOptions): BackendParts {
  const brokers = kafkaBrokers(config.stream.url);
  const logger = opts.logger ? { logger: opts.logger } : {};
  const connect = (scope: string, clientId: string): Promise<KafkaStream> =>
    KafkaStream.connect({ brokers, tenant: scope, replicas: config.stream.replicas, clientId, ...logger });
  // Each part its own connection (as on NATS): closing one never cuts another's requests short.
  // Bucket topics: `dw.<tenant>.kv-<bucket>`; credentials and saved queries are the deployment's, every tenant's
  // processes share them: `dw._deployment.kv-<bucket>`.
  const buckets = async (scope: string, what: string): Promise<LogKvStore> =>
    new LogKvStore(await connect(scope, `dronewatch-${what}`), { ownsStream: true, topicOf: (b) => `kv-${b}`, ...logger });
  return {
    stream: () => connect(config.tenant, 'dronewatch'),
    sharedAlertState: async () => KvAlertState.open({
      store: await buckets(config.tenant, 'alerts'), tenant: config.tenant, dedupWindowMs: config.alerts.dedupWindowMs,
      retentionMs: config.alerts.stateRetentionHours * 3600_000, ...logger,
    }),
    sharedCredentials: async () => KvCredentialStore.open({
      store: await buckets(DEPLOYMENT_SCOPE, 'security'), backend: 'kafka', ...(opts.scrypt ? { scrypt: opts.scrypt } : {}), ...logger,
    }),
    sharedSavedQueries: async () => KvSavedQueryStore.open(await buckets(DEPLOYMENT_SCOPE, 'queries'), logger),
  };
}
