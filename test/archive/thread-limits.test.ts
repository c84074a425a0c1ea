import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/index.ts';
import { ArchiveThread } from '../../src/runtime/archive-host.ts';
import { tempDir, waitUntil } from '../../src/testkit/index.ts';
import { silentLogger } from '../../src/util/log.ts';

/**
 * The archive worker's thread runs with the young generation of archive.threadYoungGenerationMb (issue 14's soak:
 * V8 sized it by allocation rate, ~100 MiB of heap for ~50 live).
 */
describe('archive thread V8 limits', { timeout: 120_000 }, () => {
  const tmp = tempDir('dw-archive-thread-');
  after(() => tmp.cleanup());

  for (const [given, expect] of [[undefined, 8], [16, 16]] as const) {
    it(`young generation ${given ?? 'by default'}: the thread reports ${expect} MiB`, async () => {
      const config = validateConfig({ dataDir: `${tmp.dir}/${given ?? 'default'}`, security: { enabled: false }, archive: { ...(given ? { threadYoungGenerationMb: given } : {}), compactMinFiles: 0 } });
      const thread = new ArchiveThread(config, silentLogger);
      await thread.start();
      try {
        await waitUntil('the thread\'s memory report', () => thread.memory() !== undefined, 30_000);
        assert.equal(thread.memory()!.youngGenerationMb, expect);
      } finally {
        await thread.stop();
      }
    });
  }
});
