import type { Config } from '../config/schema.ts';
import { sharedStateKind } from '../config/shared-state.ts';
import { natsServers } from '../stream/index.ts';
import type { Logger } from '../util/log.ts';
import type { CredentialStore } from './credentials.ts';
import { KvCredentialStore } from './kv-store.ts';
import type { ScryptParams } from './passwords.ts';
import { SecurityStore } from './store.ts';

/** `security.store` resolved against the stream: `auto` is `kv` on a nats:// stream (every host shares it), else `local`. */
export function credentialStoreKind(config: Pick<Config, 'security' | 'stream'>): 'local' | 'kv' {
  return sharedStateKind(config.security.store, config.stream.url, 'security.store');
}

/** Opens the credential store this configuration asks for (docs/security.md, "Distributed mode"). */
export async function openCredentialStore(
  config: Pick<Config, 'security' | 'stream'>,
  opts: { dir: string; scrypt?: ScryptParams; logger?: Logger },
): Promise<CredentialStore> {
  if (credentialStoreKind(config) === 'local') return SecurityStore.open(opts.dir, opts.scrypt ? { scrypt: opts.scrypt } : {});
  return KvCredentialStore.connect({
    servers: natsServers(config.stream.url), replicas: config.stream.replicas, security: config.stream.nats,
    ...(opts.scrypt ? { scrypt: opts.scrypt } : {}), ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
