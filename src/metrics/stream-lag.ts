import { TOPICS, type Stream } from '../stream/index.ts';
import { streamLag, streamUp } from './definitions.ts';

/** A scrape waits this long for the lag at most: a broker failing over must not hold Prometheus' scrape (10 s default). */
const LAG_READ_LIMIT_MS = 3000;
const TOPICS_WATCHED = [TOPICS.reports, TOPICS.alerts, TOPICS.incidents] as const;

const streams = new Set<Stream>();
/** A read that outlived its scrape: the next scrapes wait for it rather than pile more reads on a stalled stream. */
let straggler: Promise<unknown> | undefined;

/**
 * Reads the lag of every consumer group of `reports`, `alerts` and `incidents`, per partition, on each scrape (not on a timer:
 * nobody pays for it when nobody scrapes). Series of groups that disappeared (a process's transient feed) go with them.
 */
async function collectLag(): Promise<void> {
  if (straggler) {
    streamUp.set(0);
    return;
  }
  const values: { topic: string; group: string; partition: string; lag: number }[] = [];
  const read = (async () => {
    for (const stream of streams) {
      for (const topic of TOPICS_WATCHED) {
        for (const group of await stream.groups(topic)) {
          for (const p of await stream.lag(topic, group)) values.push({ topic, group, partition: String(p.partition), lag: p.lag });
        }
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), LAG_READ_LIMIT_MS); });
  try {
    const r = await Promise.race([read.then(() => 'ok' as const), limit]);
    if (r === 'timeout') {
      straggler = read.catch(() => undefined).finally(() => { straggler = undefined; });
      streamUp.set(0);
      return; // the last values stay: a gap is worse than a stale figure next to stream_up 0
    }
  } catch {
    streamUp.set(0);
    return;
  } finally {
    clearTimeout(timer);
  }
  streamUp.set(streams.size > 0 ? 1 : 0);
  streamLag.reset();
  for (const v of values) streamLag.set({ topic: v.topic, group: v.group, partition: v.partition }, v.lag);
}

let installed = false;
let inFlight: Promise<void> | undefined;

/** Both gauges are rendered in parallel: one read serves the two. */
function collectOnce(): Promise<void> {
  inFlight ??= collectLag().finally(() => { inFlight = undefined; });
  return inFlight;
}

/** Reports `stream`'s consumer lag in this process's metrics until the returned function is called. */
export function watchStreamLag(stream: Stream): () => void {
  if (!installed) {
    installed = true;
    // prom-client calls a gauge's collect() before rendering it; both gauges are filled by one read.
    for (const g of [streamLag, streamUp]) (g as unknown as { collect: () => Promise<void> }).collect = collectOnce;
  }
  streams.add(stream);
  return () => {
    streams.delete(stream);
  };
}
