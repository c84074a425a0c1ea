/** Shared state over any SharedKv (JetStream KV on NATS, log-backed buckets on Kafka): alerts, credentials, failed logins. */
export { LogKvStore, type LogKvStoreOptions } from './log-kv.ts';
export { KvSavedQueryStore, SAVED_QUERIES_BUCKET } from './saved-queries.ts';
export { KvConflictError, type BucketOptions, type KvEntry, type KvFollowing, type KvFollowOptions, type SharedKv, type SharedKvStore } from './kv.ts';
export { KvAlertState, alertBucketName, type KvAlertStateOptions, type AlertRecord } from './alerts/index.ts';
export { KvCredentialStore, type KvCredentialStoreOptions } from './security/credential-store.ts';
