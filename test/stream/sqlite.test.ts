import path from 'node:path';
import { type Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runStreamConformance } from './conformance.ts';
import { SqliteStream } from '../../src/backend/index.ts';

runStreamConformance('sqlite', async () => {
  const tmp = tempDir('dw-stream-');
  const file = path.join(tmp.dir, 'stream.db');
  const opened: Stream[] = [];
  const open = async (): Promise<Stream> => {
    const s = await SqliteStream.open(file);
    opened.push(s);
    return s;
  };
  return {
    stream: await open(),
    reopen: open,
    cleanup: async () => {
      for (const s of opened) await s.close();
      tmp.cleanup();
    },
  };
});
