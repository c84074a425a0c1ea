/**
 * The shared state (alert state, credential store with its login limiter) on log-backed buckets: the design the Kafka
 * backend uses (src/backend/shared/log-kv.ts), here on the embedded stream so that it is checked without a broker.
 * Each store has its own connection to one log file, as processes of one deployment have to one Kafka cluster.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { KvAlertState, KvCredentialStore, LogKvStore, SqliteStream } from '../../src/backend/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runAlertStateConformance } from '../alerts/state-conformance.ts';
import { bootstrapRace, credentialStoreConformance, FAST, type CredentialBackend } from '../security/credentials-suite.ts';

const WINDOW = 60_000;

async function logStore(file: string): Promise<LogKvStore> {
  return new LogKvStore(await SqliteStream.open(file), { ownsStream: true });
}

runAlertStateConformance('log-backed buckets', async () => {
  const tmp = tempDir('dw-logstate-');
  const file = path.join(tmp.dir, 'stream.db');
  const tenant = `t${randomUUID().slice(0, 8)}`;
  const opened: KvAlertState[] = [];
  const open = async (): Promise<KvAlertState> => {
    const s = await KvAlertState.open({ store: await logStore(file), tenant, dedupWindowMs: WINDOW });
    opened.push(s);
    return s;
  };
  return {
    state: await open(), tenant, windowMs: WINDOW, reopen: open,
    cleanup: async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      tmp.cleanup();
    },
  };
});

async function credentialBackend(): Promise<CredentialBackend> {
  const tmp = tempDir('dw-logcreds-');
  const file = path.join(tmp.dir, 'stream.db');
  return {
    open: async () => KvCredentialStore.open({ store: await logStore(file), backend: 'kafka', scrypt: FAST }),
    rawBytes: () => ['', '-wal'].map((s) => { try { return readFileSync(file + s).toString('latin1'); } catch { return ''; } }).join(''),
    cleanup: async () => tmp.cleanup(),
  };
}

credentialStoreConformance('log-backed buckets', credentialBackend);
bootstrapRace('log-backed buckets', credentialBackend);
