/**
 * Opening a backend (see index.ts): the stream, alert state, credentials and saved queries a configuration names. Its
 * own module so that a caller that only opens a backend (the CLI) does not load the NATS and Kafka clients that
 * index.ts re-exports.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AlertState } from '../alerts/state.ts';
import type { SavedQueryStore } from '../analysis/saved-queries.ts';
import { ConfigError } from '../errors/index.ts';
import type { CredentialStore } from '../security/credentials.ts';
import type { Stream } from '../stream/types.ts';
import { validateConfig } from '../config/load.ts';
import type { Logger } from '../util/log.ts';
import type { NatsClientSecurity } from './nats/index.ts';
import { openAlertStore, openSavedQueryStore, SecurityStore, sqliteBackend } from './sqlite/index.ts';
import type { Backend, BackendConfig, BackendKind, BackendOptions, BackendParts, CredentialOptions } from './types.ts';

export type { Backend, BackendConfig, BackendKind, BackendOptions, CredentialOptions } from './types.ts';

const SCHEMES = '"sqlite", "sqlite:/absolute/path.db", "nats://host:port[,host:port]" or "kafka://host:port[,host:port]"';

/** The backend a stream URL names; a ConfigError naming `stream.url` for anything else. */
export function backendKindOf(url: string): BackendKind {
  if (url === 'sqlite' || url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('nats://')) return 'nats';
  if (url.startsWith('kafka://')) return 'kafka';
  throw new ConfigError(`stream.url "${url.replace(/\/\/[^@/]*@/, '//')}" is not supported: use ${SCHEMES}`, [
    { field: 'stream.url', reason: 'unknown stream URL scheme' },
  ]);
}

/**
 * NATS and Kafka code is imported only when the URL names it: their clients take up to a second to load (Kafka's
 * ~0.8 s), which every CLI command on the embedded log would otherwise pay at start.
 */
async function partsOf(kind: BackendKind, config: BackendConfig, opts: BackendOptions): Promise<BackendParts> {
  switch (kind) {
    case 'sqlite': return sqliteBackend(config, opts);
    case 'nats': return (await import('./nats/index.ts')).natsBackend(config, opts);
    case 'kafka': return (await import('./kafka/backend.ts')).kafkaBackend(config, opts);
  }
}

/**
 * Where a piece of shared state lives (`alerts.state`, `security.store`): `auto` is the backend's shared store where it
 * has one (every process on any host), else `local` (SQLite under the data directory); `kv` on a backend without a
 * shared store is a configuration error naming the field.
 */
export function sharedStateKind(setting: 'auto' | 'local' | 'kv', kind: BackendKind, available: boolean, field: string): 'local' | 'shared' {
  if (setting === 'kv' && !available) {
    throw new ConfigError(`${field} "kv" needs a backend with shared state (stream.url nats:// or kafka://), not the ${kind} backend`, [
      { field, reason: `no shared store on the ${kind} backend` },
    ]);
  }
  return setting === 'local' || (setting === 'auto' && !available) ? 'local' : 'shared';
}

/** Opens the backend named by the configuration. Nothing connects until a part is asked for. */
export async function openBackend(config: BackendConfig, opts: BackendOptions = {}): Promise<Backend> {
  const kind = backendKindOf(config.stream.url);
  const parts = await partsOf(kind, config, opts);
  const dataDir = path.resolve(config.dataDir);
  const alertsWhere = sharedStateKind(config.alerts.state, kind, parts.sharedAlertState !== undefined, 'alerts.state');
  const credentialsWhere = sharedStateKind(config.security.store, kind, parts.sharedCredentials !== undefined, 'security.store');
  const securityDir = path.resolve(config.security.dir ?? dataDir);

  // Each part opened once; closed in reverse order of opening (state before the stream it may publish to).
  const closers: (() => Promise<void> | void)[] = [];
  const once = <T>(open: () => Promise<T>, close: (v: T) => Promise<void> | void): (() => Promise<T>) => {
    let opened: Promise<T> | undefined;
    return () => (opened ??= open().then((v) => {
      closers.push(() => close(v));
      return v;
    }, (e: unknown) => {
      opened = undefined;
      throw e;
    }));
  };
  const stream = once<Stream>(() => parts.stream(), (s) => s.close());
  const alertState = once<AlertState>(async () => {
    if (alertsWhere === 'shared') return parts.sharedAlertState!();
    const store = openAlertStore({ dataDir, dedupWindowMs: config.alerts.dedupWindowMs, sync: config.stream.sync });
    if (opts.checkpointThreads !== false) await store.offloadCheckpoints();
    return store;
  }, (s) => s.close());
  let credentialsOpen: Promise<CredentialStore> | undefined;
  const credentials = (o: CredentialOptions = {}): Promise<CredentialStore> => (credentialsOpen ??= openCredentials(o).then((c) => {
    closers.push(() => c.close());
    return c;
  }, (e: unknown) => {
    credentialsOpen = undefined;
    throw e;
  }));
  const openCredentials = async (o: CredentialOptions): Promise<CredentialStore> => {
    if (credentialsWhere === 'local') return SecurityStore.open(securityDir, opts.scrypt ? { scrypt: opts.scrypt } : {});
    const shared = await parts.sharedCredentials!(o);
    await refuseUnmigrated(shared, securityDir, o);
    return shared;
  };
  const savedQueries = once<SavedQueryStore>(async () => parts.sharedSavedQueries?.() ?? openSavedQueryStore(dataDir), (s) => s.close());
  let closed = false;
  return {
    kind,
    tenantScope: kind === 'sqlite' ? undefined : config.tenant,
    stream,
    alertState,
    credentials,
    savedQueries,
    async close() {
      if (closed) return;
      closed = true;
      for (const close of closers.reverse()) await close();
    },
  };
}

/**
 * An empty shared store next to a security.db that holds accounts is refused (DW_CONFIG_INVALID): the deployment moved
 * to the shared store without copying its credentials, and starting would create a new first administrator while every
 * officer, token and drone of the old store is locked out. `dronewatch security migrate-to-kv` copies them (it opens
 * with `unmigrated: 'allow'`).
 */
async function refuseUnmigrated(shared: CredentialStore, dir: string, o: CredentialOptions): Promise<void> {
  const local = path.join(dir, 'security.db');
  if (o.unmigrated === 'allow' || shared.countUsers() > 0 || !existsSync(local)) return;
  const old = SecurityStore.open(dir);
  const users = old.countUsers();
  old.close();
  if (users === 0) return;
  await shared.close();
  throw new ConfigError(`security.store is shared (${shared.kind}) but the ${users} accounts of this deployment are in ${local}: `
    + 'copy them with `dronewatch security migrate-to-kv` (same --stream and --data), or set security.store to local', [
    { field: 'security.store', reason: 'shared store empty, credentials still in security.db' },
  ]);
}

export interface OpenStreamOptions {
  dataDir: string;
  /** Embedded log only (see SqliteStreamOptions.sync). */
  sync?: 'normal' | 'full';
  /** NATS and Kafka: the tenant whose subjects or topics the stream reads and writes (config `tenant`). Default `default`. */
  tenant?: string;
  /** NATS and Kafka: replicas of what the stream creates (config `stream.replicas`). */
  replicas?: number;
  /** NATS only: credentials and TLS (config `stream.nats`). */
  nats?: NatsClientSecurity;
  logger?: Logger;
}

/**
 * Opens only the stream a URL names, for tools and tests that have a URL rather than a configuration. A process of the
 * platform uses `openBackend(config).stream()`, which is the same call.
 */
export async function openStream(url: string, o: OpenStreamOptions): Promise<Stream> {
  const config: BackendConfig = {
    dataDir: o.dataDir, tenant: o.tenant ?? 'default',
    stream: { ...DEFAULTS.stream, url, ...(o.sync ? { sync: o.sync } : {}), ...(o.replicas !== undefined ? { replicas: o.replicas } : {}), ...(o.nats ? { nats: o.nats } : {}) },
    alerts: DEFAULTS.alerts, security: DEFAULTS.security,
  };
  return (await partsOf(backendKindOf(url), config, o.logger ? { logger: o.logger } : {})).stream();
}

const DEFAULTS = validateConfig({});
