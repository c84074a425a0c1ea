import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../errors/index.ts';
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

/**
 * Opens the credential store this configuration asks for (docs/security.md, "Distributed mode"). An empty KV store
 * next to a security.db that holds accounts is refused (DW_CONFIG_INVALID): the deployment moved to `kv` without
 * copying its credentials, and starting would create a new first administrator while every officer, token and drone
 * of the old store is locked out. `dronewatch security migrate-to-kv` copies them (it opens with `unmigrated: 'allow'`).
 */
export async function openCredentialStore(
  config: Pick<Config, 'security' | 'stream'>,
  opts: { dir: string; scrypt?: ScryptParams; logger?: Logger; unmigrated?: 'refuse' | 'allow' },
): Promise<CredentialStore> {
  if (credentialStoreKind(config) === 'local') return SecurityStore.open(opts.dir, opts.scrypt ? { scrypt: opts.scrypt } : {});
  const kv = await KvCredentialStore.connect({
    servers: natsServers(config.stream.url), replicas: config.stream.replicas, security: config.stream.nats,
    ...(opts.scrypt ? { scrypt: opts.scrypt } : {}), ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const local = path.join(opts.dir, 'security.db');
  if (opts.unmigrated !== 'allow' && kv.countUsers() === 0 && existsSync(local)) {
    const old = SecurityStore.open(opts.dir);
    const users = old.countUsers();
    old.close();
    if (users > 0) {
      await kv.close();
      throw new ConfigError(`security.store is kv (JetStream KV) but the ${users} accounts of this deployment are in ${local}: `
        + 'copy them with `dronewatch security migrate-to-kv` (same --stream and --data), or set security.store to local', [
        { field: 'security.store', reason: 'kv store empty, credentials still in security.db' },
      ]);
    }
  }
  return kv;
}
