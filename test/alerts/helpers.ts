import type { AcceptedReport, Citizen } from '../../src/contract/types.ts';
import { reportIdOf } from '../../src/contract/report-id.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../../src/stream/topics.ts';
import type { Stream } from '../../src/stream/types.ts';

/** A valid accepted report; only what a test cares about needs saying. */
export function report(opts: {
  droneId?: string;
  ts?: number;
  citizens?: Citizen[];
  words?: string[];
  position?: { lat: number; lon: number };
  tenant?: string;
}): AcceptedReport {
  const droneId = opts.droneId ?? 'drone-1';
  const ts = opts.ts ?? 1_700_000_000_000;
  return {
    droneId,
    timestamp: new Date(ts).toISOString(),
    position: opts.position ?? { lat: 48.85, lon: 2.35 },
    citizens: opts.citizens ?? [],
    words: opts.words ?? [],
    reportId: reportIdOf(droneId, ts),
    ts,
    receivedAt: ts + 5,
    tenant: opts.tenant ?? 'default',
  };
}

export const alertsConfig = {
  threshold: 20,
  criticalThreshold: 5,
  dedupWindowMs: 60_000,
  wordRules: [],
  webhooks: [],
};

/** A clock tests move by hand. */
export function manualClock(start = 1_800_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}


const enc = new TextEncoder();

/** Publishes reports as ingestion does: key droneId, de-duplication id reportId, JSON value. */
export async function publishReports(stream: Stream, reports: readonly AcceptedReport[]): Promise<void> {
  await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
  await stream.publish(TOPICS.reports, reports.map((r) => ({ key: r.droneId, id: r.reportId, value: enc.encode(JSON.stringify(r)) })));
}

/** Every event on the `alerts` topic, partition by partition. */
export async function readAlertTopic(stream: Stream): Promise<AlertEvent[]> {
  const batch = await stream.read(TOPICS.alerts, { from: 'earliest', limit: 1_000_000 });
  return batch.map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as AlertEvent);
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function totalLag(stream: Stream, topic: string, group: string): Promise<number> {
  return (await stream.lag(topic, group)).reduce((n, p) => n + p.lag, 0);
}
