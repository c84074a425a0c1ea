import { setTimeout as sleep } from 'node:timers/promises';
import type { AcceptedReport } from '../../src/contract/types.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS, type Stream } from '../../src/stream/index.ts';

const encoder = new TextEncoder();

/** Publishes reports (key droneId, de-duplication id reportId) and alert events the way ingestion and alerts do. */
export async function publishAll(stream: Stream, reports: readonly AcceptedReport[], events: readonly AlertEvent[] = [], partitions = 4): Promise<void> {
  await stream.ensureTopic(TOPICS.reports, { ...DEFAULT_TOPIC_CONFIG.reports, partitions });
  await stream.ensureTopic(TOPICS.alerts, { ...DEFAULT_TOPIC_CONFIG.alerts, partitions });
  for (let i = 0; i < reports.length; i += 1000) {
    await stream.publish(TOPICS.reports, reports.slice(i, i + 1000).map((r) => ({ key: r.droneId, value: encoder.encode(JSON.stringify(r)), id: r.reportId })));
  }
  for (let i = 0; i < events.length; i += 1000) {
    await stream.publish(TOPICS.alerts, events.slice(i, i + 1000).map((e) => ({ key: e.alert.droneId, value: encoder.encode(JSON.stringify(e)), id: e.eventId })));
  }
}

/** Total lag of a group over the archived topics (records not yet committed). */
export async function totalLag(stream: Stream, group = 'archive'): Promise<number> {
  let n = 0;
  for (const t of [TOPICS.reports, TOPICS.alerts]) for (const l of await stream.lag(t, group)) n += l.lag;
  return n;
}

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
