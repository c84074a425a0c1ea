import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../stream/topics.ts';
import type { OutgoingRecord, Stream } from '../stream/types.ts';
import type { AlertState } from './state.ts';
import type { AlertEvent } from './types.ts';

const encoder = new TextEncoder();

/** An event as an `alerts` topic record: keyed by drone (per-drone order), de-duplicated by event id. */
export function alertEventRecord(e: AlertEvent): OutgoingRecord {
  return { key: e.alert.droneId, id: e.eventId, value: encoder.encode(JSON.stringify(e)), headers: { type: e.type } };
}

export async function ensureAlertsTopic(stream: Stream): Promise<void> {
  await stream.ensureTopic(TOPICS.alerts, DEFAULT_TOPIC_CONFIG.alerts);
}

/**
 * Publishes events on the `alerts` topic, then removes them from the store's outbox. If this process dies in between,
 * the next outbox drain publishes them again with the same ids, and the topic's duplicate window drops the repeat.
 */
export async function publishAlertEvents(stream: Stream, store: Pick<AlertState, 'markPublished'>, events: readonly AlertEvent[], alsoBefore?: Promise<void>): Promise<void> {
  if (events.length === 0) return;
  await stream.publish(TOPICS.alerts, events.map(alertEventRecord));
  // The caller's other writes for these events (the alert worker's incident events) must be out before they leave
  // the outbox; they run beside this publish rather than before it.
  await alsoBefore;
  await store.markPublished(events.map((e) => e.eventId));
}

/** Publishes what the outbox still holds (left by a crash or a failed publish); returns how many events. */
export async function drainOutbox(stream: Stream, store: Pick<AlertState, 'pendingEvents' | 'markPublished'>, opts: { olderThanMs?: number } = {}): Promise<number> {
  let total = 0;
  for (;;) {
    const pending = await store.pendingEvents({ olderThanMs: opts.olderThanMs ?? 0, limit: 1000 });
    if (pending.length === 0) return total;
    await publishAlertEvents(stream, store, pending);
    total += pending.length;
    if (pending.length < 1000) return total;
  }
}
