/**
 * Part of the stream conformance suite (conformance.ts): the life of a group's state. A group keeps its positions
 * after its members leave; a transient group (a process's private feed) is gone with its last member.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '../../src/stream/index.ts';
import { drain, rec, uniq } from './conformance-helpers.ts';

export function groupLifecycleConformance(withStream: (fn: (f: { stream: Stream }) => Promise<void>) => Promise<void>, timeout: number): void {
  it('lists groups; a group keeps its state after its members leave, a transient one goes with its last member', { timeout }, () => withStream(async ({ stream }) => {
    const t = uniq('topic');
    await stream.ensureTopic(t, { partitions: 2 });
    await stream.publish(t, [rec('a', '1'), rec('b', '2'), rec('c', '3')]);
    const kept = uniq('kept');
    const feed = uniq('feed');
    const durable = await stream.consumer({ topic: t, group: kept });
    assert.equal((await drain(durable, 3)).length, 3, 'the durable group reads');
    const f1 = await stream.consumer({ topic: t, group: feed, transient: true });
    const f2 = await stream.consumer({ topic: t, group: feed, transient: true });
    assert.deepEqual((await stream.groups(t)).sort(), [feed, kept].sort(), 'both groups listed');
    await durable.close();
    assert.ok((await stream.groups(t)).includes(kept), 'a group outlives its members');
    assert.deepEqual((await stream.lag(t, kept)).reduce((n, l) => n + l.lag, 0), 0, 'with its committed positions');
    await f1.close();
    assert.ok((await stream.groups(t)).includes(feed), 'a transient group lives while a member is left');
    await f2.close();
    assert.deepEqual(await stream.groups(t), [kept], 'and is gone with its last member');
    const again = await stream.consumer({ topic: t, group: feed, transient: true, start: 'latest' });
    assert.deepEqual(await again.poll({ waitMs: 50 }), [], 'a new member of that name starts afresh');
    await again.close();
  }));
}
