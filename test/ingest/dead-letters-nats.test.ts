/**
 * Dead letters on NATS JetStream: a rejected body larger than a NATS message (1 MiB by default) is kept whole, split
 * over several messages and joined when read. Regression: dead letters were cut at 1 MiB. Skipped without
 * nats-server >= 2.10 (a failure with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEAD_LETTER_PART_BYTES, Ingestor, deadLetterRaw, listDeadLetters } from '../../src/ingest/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../../src/stream/index.ts';
import { natsServerOrSkip, startNatsServer, type NatsTestServer } from '../../src/testkit/index.ts';
import { NatsStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();

describe('dead letters on NATS', { skip, timeout: 60_000 }, () => {
  let nats: NatsTestServer;
  let stream: NatsStream;
  before(async () => {
    nats = await startNatsServer();
    stream = await NatsStream.connect({ servers: nats.url, tenant: 'paris' });
    for (const t of ['reports', 'deadLetters'] as const) await stream.ensureTopic(TOPICS[t], DEFAULT_TOPIC_CONFIG[t]);
  });
  after(async () => {
    await stream?.close();
    await nats?.stop();
  });

  it('keeps a 3 MiB malformed body whole (under DEAD_LETTER_KEPT_BYTES) and lists it per tenant', async () => {
    const ingestor = new Ingestor({ stream, tenant: 'paris' });
    const body = `[${'{"droneId":"d-1"},'.repeat(Math.ceil((6 * DEAD_LETTER_PART_BYTES) / 17))}`; // an array never closed
    const res = await ingestor.ingestRaw(body, 'json', 'test');
    assert.equal(res.rejected[0]!.code, 'DW_INGEST_MALFORMED');
    const [letter, ...rest] = await listDeadLetters(stream, { limit: 10, tenant: 'paris' });
    assert.equal(rest.length, 0, 'one letter');
    assert.equal(letter!.truncated, false);
    assert.equal(letter!.rawBytes, Buffer.byteLength(body));
    assert.ok(deadLetterRaw(letter!).equals(Buffer.from(body)), 'every byte, in order');
    assert.deepEqual(await listDeadLetters(stream, { limit: 10, tenant: 'lyon' }), [], 'not another tenant\'s');
  });
});
