/** The NATS backend: the stream on JetStream, alert state, credentials and failed logins in JetStream KV (any host). */
import { ConfigError } from '../../errors/index.ts';
import type { Stream } from '../../stream/types.ts';
import type { BackendConfig, BackendOptions, BackendParts } from '../types.ts';
import { KvAlertState, KvCredentialStore, type KvAlertStateOptions, type KvCredentialStoreOptions } from '../shared/index.ts';
import { NatsKvStore, type NatsKvStoreOptions } from './kv.ts';
import { NatsStream } from './stream/index.ts';
import type { NatsClientSecurity } from './stream/client-security.ts';

export { NatsStream, type NatsStreamOptions } from './stream/index.ts';
export { natsSecurityOptions, type NatsClientSecurity } from './stream/client-security.ts';
export { NatsKvStore, type NatsKvStoreOptions } from './kv.ts';

/** Where a NATS deployment's shared state is: the stream's servers, credentials and replicas. */
export interface NatsKvTarget {
  servers: string[];
  security?: NatsClientSecurity | undefined;
  replicas?: number;
  requestTimeoutMs?: number;
}

/** The alert state in JetStream KV (bucket `dw_alerts_<tenant>`), on its own connection. */
export async function connectKvAlertState(o: NatsKvTarget & Omit<KvAlertStateOptions, 'store'>): Promise<KvAlertState> {
  return KvAlertState.open({ ...o, store: await NatsKvStore.connect(kvStoreOptions(o, 'dronewatch-alerts')) });
}

/** The credential store in JetStream KV (buckets `dw_security`, `dw_sessions`, `dw_login_failures`), on its own connection. */
export async function connectKvCredentialStore(o: NatsKvTarget & Omit<KvCredentialStoreOptions, 'store' | 'backend'>): Promise<KvCredentialStore> {
  return KvCredentialStore.open({ ...o, backend: 'nats', store: await NatsKvStore.connect(kvStoreOptions(o, 'dronewatch-security')) });
}

function kvStoreOptions(o: NatsKvTarget, name: string): NatsKvStoreOptions {
  return {
    servers: o.servers, name, ...(o.security ? { security: o.security } : {}), ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
    ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
  };
}

/** `nats://a:4222,b:4222` -> ['nats://a:4222', 'nats://b:4222']; refuses empty entries and paths. */
export function natsServers(url: string): string[] {
  const entries = url.slice('nats://'.length).split(',').map((e) => e.trim());
  const servers: string[] = [];
  for (const e of entries) {
    const full = /^[a-z]+:\/\//.test(e) ? e : `nats://${e}`;
    let parsed: URL | undefined;
    try { parsed = new URL(full); } catch { parsed = undefined; }
    if (!parsed || !parsed.hostname || (parsed.pathname !== '' && parsed.pathname !== '/') || !['nats:', 'tls:'].includes(parsed.protocol)) {
      throw new ConfigError(`stream.url "${url.replace(/\/\/[^@/]*@/, '//')}": "${e.replace(/^.*@/, '')}" is not a NATS server address (nats://host:port)`, [
        { field: 'stream.url', reason: 'expected nats://host:port[,host:port]' },
      ]);
    }
    servers.push(full);
  }
  return servers;
}

export function natsBackend(config: BackendConfig, opts: BackendOptions): BackendParts {
  const servers = natsServers(config.stream.url);
  const logger = opts.logger ? { logger: opts.logger } : {};
  return {
    stream: (): Promise<Stream> => NatsStream.connect({
      servers, tenant: config.tenant, replicas: config.stream.replicas, ...(config.stream.nats ? { security: config.stream.nats } : {}), ...logger,
    }),
    sharedAlertState: () => connectKvAlertState({
      servers, tenant: config.tenant, replicas: config.stream.replicas, dedupWindowMs: config.alerts.dedupWindowMs, security: config.stream.nats,
      retentionMs: config.alerts.stateRetentionHours * 3600_000, ...logger,
    }),
    sharedCredentials: () => connectKvCredentialStore({
      servers, replicas: config.stream.replicas, security: config.stream.nats, ...(opts.scrypt ? { scrypt: opts.scrypt } : {}), ...logger,
    }),
  };
}
