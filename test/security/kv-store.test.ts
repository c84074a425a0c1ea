/**
 * The credential store of distributed mode in JetStream KV, against a real nats-server (skipped without
 * nats-server >= 2.10; a failure with CI=true): the same conformance suite as the SQLite store.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { connectKvCredentialStore, KvCredentialStore } from '../../src/backend/index.ts';
import { natsServerOrSkip, startNatsServer } from '../../src/testkit/index.ts';
import { bootstrapRace, credentialStoreConformance, FAST, type CredentialBackend } from './credentials-suite.ts';

const skip = natsServerOrSkip();

/** A nats-server of its own; stores connected to it are processes of one deployment (any host). */
async function kvBackend(): Promise<CredentialBackend> {
  const nats = await startNatsServer();
  return {
    open: () => connectKvCredentialStore({ servers: [nats.url], scrypt: FAST }),
    // The server's JetStream files (the buckets' streams): a secret must be in none of them.
    rawBytes: () => readdirSync(nats.dir, { recursive: true }).map(String).map((f) => path.join(nats.dir, f))
      .filter((f) => { try { return readFileSync(f).length >= 0; } catch { return false; } })
      .map((f) => readFileSync(f).toString('latin1')).join(''),
    cleanup: () => nats.stop(),
  };
}

credentialStoreConformance('nats kv', kvBackend, skip ? { skip } : {});
bootstrapRace('nats kv', kvBackend, skip ? { skip } : {});
