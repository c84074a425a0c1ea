import { TOPICS, type Stream } from '../stream/index.ts';

const dec = new TextDecoder();

/**
 * The report time (`ts`) of the newest report the `reports` topic holds, or undefined when it is empty: where a
 * restarted simulator carries on, instead of replaying the same day again (regression: after Ctrl-C, `npm start`
 * replayed the 24 hours it had already sent, and for as long as the first run lasted nothing new arrived).
 * Reads the last record of each partition (a drone's reports are in order within its partition).
 */
export async function newestReportTime(stream: Stream): Promise<number | undefined> {
  let newest: number | undefined;
  let ends;
  try {
    // Any group name: only the partitions' end offsets are used.
    ends = await stream.lag(TOPICS.reports, 'archive');
  } catch {
    return undefined;
  }
  for (const { partition, end } of ends) {
    if (end < 0) continue;
    const [last] = await stream.read(TOPICS.reports, { partition, from: { offset: end }, limit: 1 });
    if (!last) continue;
    try {
      const ts = (JSON.parse(dec.decode(last.value)) as { ts?: unknown }).ts;
      if (typeof ts === 'number' && Number.isFinite(ts) && (newest === undefined || ts > newest)) newest = ts;
    } catch {
      // Not a report we can read: ignore it.
    }
  }
  return newest;
}
