/**
 * The alert state conformance suite (state-conformance.ts) on every backend: SQLite alerts.db, and JetStream KV on a
 * real nats-server (skipped with the install recipe when nats-server >= 2.10 is missing; a failure with CI=true).
 */
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { connectKvAlertState, KvAlertState, openAlertStore } from '../../src/backend/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { runAlertStateConformance } from './state-conformance.ts';

const WINDOW = 60_000;

runAlertStateConformance('sqlite', async () => {
  const tmp = tempDir('dw-alert-state-');
  const opened: { close(): unknown }[] = [];
  const open = async (): Promise<ReturnType<typeof openAlertStore>> => {
    const s = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: WINDOW });
    opened.push(s);
    return s;
  };
  return {
    state: await open(), tenant: 'default', windowMs: WINDOW, reopen: open,
    cleanup: async () => {
      for (const s of opened) await Promise.resolve().then(() => s.close()).catch(() => undefined);
      tmp.cleanup();
    },
  };
});

const skip = natsServerOrSkip();
if (skip) {
  describe('alert state conformance: nats', () => {
    it('needs nats-server >= 2.10', { skip }, () => undefined);
  });
} else {
  let server: Promise<NatsTestServer> | undefined;
  after(async () => {
    if (server) await (await server).stop();
  });
  runAlertStateConformance('nats', async () => {
    const { url } = await (server ??= startNatsServer());
    // A fresh tenant per test: its own buckets, so tests do not see each other's alerts.
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const opened: KvAlertState[] = [];
    const open = async (): Promise<KvAlertState> => {
      const s = await connectKvAlertState({ servers: [url], tenant, dedupWindowMs: WINDOW });
      opened.push(s);
      return s;
    };
    return {
      state: await open(), tenant, windowMs: WINDOW, reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close().catch(() => undefined);
      },
    };
  });
}
