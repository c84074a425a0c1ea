/**
 * The SharedKv conformance suite on each implementation: JetStream KV on a real nats-server, and log-backed buckets
 * on the embedded stream (the same code that runs on Kafka, test/backend/kafka-state.test.ts). nats-server missing:
 * skipped with the install recipe (a failure with CI=true).
 */
import path from 'node:path';
import { LogKvStore, NatsKvStore, SqliteStream } from '../../src/backend/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { onNatsServer } from './store-fixtures.ts';
import { runSharedKvConformance } from './shared-kv-conformance.ts';

runSharedKvConformance('log on the embedded stream', async () => {
  const tmp = tempDir('dw-logkv-');
  const streams: Stream[] = [];
  return {
    open: async () => {
      // Each store its own connection to the same log file, as two processes have.
      const s = await SqliteStream.open(path.join(tmp.dir, 'stream.db'));
      streams.push(s);
      return new LogKvStore(s, { ownsStream: true });
    },
    cleanup: async () => {
      tmp.cleanup();
    },
  };
});

onNatsServer('shared KV conformance: nats', (url) => runSharedKvConformance('JetStream KV', async () => {
  const servers = [await url()];
  return {
    open: () => NatsKvStore.connect({ servers, name: 'kv-test' }),
    cleanup: async () => undefined,
  };
}));
