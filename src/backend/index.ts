/**
 * The backend seam: one place decides where a process's shared parts live (the stream, alert state, credentials and
 * failed logins, saved queries), from `stream.url`, `alerts.state` and `security.store`. Domain folders keep their
 * interfaces and logic; each backend's code is in its own folder (sqlite/, nats/, kafka/).
 */
export type { Backend, BackendConfig, BackendKind, BackendOptions, CredentialOptions } from './types.ts';
export { backendKindOf, sharedStateKind, openBackend, openStream, type OpenStreamOptions } from './open.ts';
// Incidents live beside the alert state they group, opened from it (incidents.ts says why): no setting of their own.
export { openIncidentState, SqliteIncidentStore, KvIncidentState, incidentBucketName, type IncidentStateConfig } from './incidents.ts';
export { KafkaStream, kafkaBrokers, DEPLOYMENT_SCOPE, type KafkaStreamOptions } from './kafka/index.ts';
export { SqliteStream, AlertStore, openAlertStore, SecurityStore, openSavedQueryStore, type SqliteStreamOptions, type SyncLevel, type AlertStoreOptions } from './sqlite/index.ts';
export {
  NatsStream, natsServers, natsSecurityOptions, connectKvAlertState, connectKvCredentialStore, NatsKvStore,
  type NatsStreamOptions, type NatsClientSecurity,
} from './nats/index.ts';
export {
  KvAlertState, alertBucketName, KvCredentialStore, KvConflictError, LogKvStore, KvSavedQueryStore,
  type KvAlertStateOptions, type AlertRecord, type KvCredentialStoreOptions, type SharedKv, type SharedKvStore,
} from './shared/index.ts';
