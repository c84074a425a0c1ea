import { DEFAULT_TOPIC_CONFIG, TOPICS, type Stream } from '../../src/stream/index.ts';
import type { AcceptedReport } from '../../src/contract/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { openStream } from '../../src/backend/index.ts';

/** A real embedded stream in a temp dir with every platform topic created. */
export async function openTestStream(topics: (keyof typeof TOPICS)[] = ['reports', 'alerts', 'deadLetters']): Promise<{ stream: Stream; cleanup: () => Promise<void> }> {
  const tmp = tempDir('dronewatch-ingest-');
  const stream = await openStream('sqlite', { dataDir: tmp.dir });
  for (const t of topics) await stream.ensureTopic(TOPICS[t], DEFAULT_TOPIC_CONFIG[t]);
  return {
    stream,
    cleanup: async () => {
      await stream.close();
      tmp.cleanup();
    },
  };
}

export async function storedReports(stream: Stream): Promise<{ key: string; report: AcceptedReport }[]> {
  const records = await stream.read(TOPICS.reports, { limit: 100_000 });
  return records.map((r) => ({ key: r.key, report: JSON.parse(Buffer.from(r.value).toString('utf8')) as AcceptedReport }));
}
