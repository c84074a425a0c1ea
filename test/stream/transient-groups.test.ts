/**
 * Transient groups left by a dead process (kill -9, no close) are removed when another transient group of the topic
 * starts, once the dead member's lease expired; durable groups are never removed. Both streams, each member in a
 * process of its own. Regression: every API process start left a `feed-*` and a `fleet-*` group behind for ever.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Stream } from '../../src/stream/index.ts';
import { killChild, natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { spawnFixture, waitUntil, type Child } from './child.ts';
import { NatsStream, SqliteStream } from '../../src/backend/index.ts';

const SESSION_MS = 1000;

function assigned(c: Child): boolean {
  return c.lines.some((l) => (JSON.parse(l) as { t: string }).t === 'assign');
}

function suite(name: string, setup: () => Promise<{ target: string; open: () => Promise<Stream>; cleanup: () => Promise<void> }>, skip?: string): void {
  describe(`transient groups of a dead process: ${name}`, { ...(skip ? { skip } : {}), timeout: 60_000 }, () => {
    const children: Child[] = [];
    let cleanup: (() => Promise<void>) | undefined;
    after(async () => {
      for (const c of children) await killChild(c);
      await cleanup?.();
    });

    it('are removed by the next transient group once the lease expired; durable groups stay', async () => {
      const env = await setup();
      cleanup = env.cleanup;
      const stream = await env.open();
      try {
        await stream.ensureTopic('alerts-t', { partitions: 2 });
        const feed = spawnFixture('group-consumer.ts', [env.target, 'alerts-t', 'feed-dead', 'member-x', String(SESSION_MS), '0', 'transient']);
        const durable = spawnFixture('group-consumer.ts', [env.target, 'alerts-t', 'archive', 'member-y', String(SESSION_MS), '0']);
        children.push(feed, durable);
        await waitUntil('both children to join', () => assigned(feed) && assigned(durable), 20_000);
        assert.deepEqual((await stream.groups('alerts-t')).sort(), ['archive', 'feed-dead']);
        await killChild(feed); // SIGKILL: no close, no leave
        await killChild(durable);
        // A new transient group while the dead member's lease still runs: nothing is removed (it may be alive).
        const early = await stream.consumer({ topic: 'alerts-t', group: 'feed-early', transient: true, start: 'latest' });
        assert.ok((await stream.groups('alerts-t')).includes('feed-dead'), 'a lease still running protects the group');
        await early.close();
        await sleep(SESSION_MS + 300);
        const next = await stream.consumer({ topic: 'alerts-t', group: 'feed-next', transient: true, start: 'latest' });
        assert.deepEqual((await stream.groups('alerts-t')).sort(), ['archive', 'feed-next'], 'the dead transient group is gone, the durable one stays');
        await next.close();
        assert.deepEqual(await stream.groups('alerts-t'), ['archive']);
      } finally {
        await stream.close();
      }
    });
  });
}

suite('sqlite', async () => {
  const tmp = tempDir('dw-transient-');
  const file = path.join(tmp.dir, 'stream.db');
  return { target: file, open: () => SqliteStream.open(file), cleanup: async () => tmp.cleanup() };
});

const skip = natsServerOrSkip();
suite('nats', async () => {
  const nats: NatsTestServer = await startNatsServer();
  return { target: nats.url, open: () => NatsStream.connect({ servers: nats.url }), cleanup: () => nats.stop() };
}, skip);
