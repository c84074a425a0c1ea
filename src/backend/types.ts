import type { AlertState } from '../alerts/state.ts';
import type { SavedQueryStore } from '../analysis/saved-queries.ts';
import type { Config } from '../config/schema.ts';
import type { CredentialStore } from '../security/credentials.ts';
import type { ScryptParams } from '../security/passwords.ts';
import type { Stream } from '../stream/types.ts';
import type { Logger } from '../util/log.ts';

/** Which system a deployment's processes share: the embedded SQLite log, NATS JetStream or Apache Kafka. */
export type BackendKind = 'sqlite' | 'nats' | 'kafka';

/** The part of the configuration a backend reads. */
export type BackendConfig = Pick<Config, 'dataDir' | 'tenant' | 'stream' | 'alerts' | 'security'>;

export interface BackendOptions {
  logger?: Logger;
  /** Password hashing cost of the credential store (tests lower it). */
  scrypt?: ScryptParams;
  /**
   * Embedded backend: checkpoint the stream's and the alert store's WAL in worker threads (util/wal-checkpointer.ts;
   * default true). A one-shot CLI command says false: two thread starts (~0.1-0.2 s) for a few writes, which SQLite's
   * own auto-checkpoint handles.
   */
  checkpointThreads?: boolean;
}

export interface CredentialOptions {
  /**
   * `refuse` (default): a shared store that is empty while security.db beside it holds accounts is a configuration
   * error (the deployment moved without copying its credentials). `allow`: the migration itself opens it so.
   */
  unmigrated?: 'refuse' | 'allow';
}

/**
 * Everything a process shares with the other processes of its deployment, opened from one configuration. Each part is
 * opened on first use (a CLI command that only lists users opens no stream) and once; `close()` closes what was opened.
 * Where each part lives is decided here and nowhere else (docs/ARCHITECTURE.md, "Backends").
 */
export interface Backend {
  readonly kind: BackendKind;
  /**
   * The tenant this deployment's stream connection is scoped to: NATS and Kafka namespace subjects, topics, groups and
   * shared state by tenant, so a process serves one tenant; undefined on the embedded log, which carries every tenant's.
   */
  readonly tenantScope: string | undefined;
  stream(): Promise<Stream>;
  /** `alerts.state`: SQLite alerts.db (`local`), or the backend's shared state. */
  alertState(): Promise<AlertState>;
  /** `security.store`: SQLite security.db in `security.dir` (`local`), or the backend's shared store. */
  credentials(opts?: CredentialOptions): Promise<CredentialStore>;
  /** Officers' saved queries: SQLite analysis.db, or the backend's shared store where it has one that the deployment opted into. */
  savedQueries(): Promise<SavedQueryStore>;
  close(): Promise<void>;
}

/** What one backend implementation provides; openBackend() caches and closes the parts. */
export interface BackendParts {
  stream(): Promise<Stream>;
  /** The shared alert state; absent where the backend has none yet (then `alerts.state` resolves to `local`). */
  sharedAlertState?: () => Promise<AlertState>;
  /** The shared credential store; absent where the backend has none yet. */
  sharedCredentials?: (opts: CredentialOptions) => Promise<CredentialStore>;
  /** Saved queries shared by every host; absent: analysis.db under the data directory. */
  sharedSavedQueries?: () => Promise<SavedQueryStore>;
}
