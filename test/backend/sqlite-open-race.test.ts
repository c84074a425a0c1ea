/**
 * Processes opening the same new SQLite file at once. The first to open a new file switches it to WAL, and SQLite
 * answers "database is locked" at once (without waiting busy_timeout) to another connection that reads the file at
 * that moment: two `dronewatch stats` started together on a fresh data directory failed on the audit log's open in
 * CI (Node 24 run, 2026-12-07). Before the fix this test failed in each of three runs
 * (2 to 4 of the 900 opens failed). The open now tries the switch again for up to busy_timeout.
 * The race depends on timing, so a regression shows as a failure of this test on most runs, not all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { openWalDatabase } from '../../src/backend/sqlite/open-db.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-open-race-child.ts');
const PROCESSES = 3;
const DIRECTORIES = 300;

test('processes opening the same new audit log at once all succeed', async () => {
  const tmp = tempDir('dw-open-race-');
  try {
    const runs = await Promise.all(Array.from({ length: PROCESSES }, () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, tmp.dir, String(DIRECTORIES)], { timeout: 120_000 })));
    const results = runs.map((r) => JSON.parse(r.stdout) as { failed: number; first: string[] });
    assert.deepEqual(results.map((r) => r.failed), Array(PROCESSES).fill(0), `failed opens: ${JSON.stringify(results.flatMap((r) => r.first))}`);
  } finally {
    tmp.cleanup();
  }
});

test('a database that cannot use WAL is refused with a configuration error, not a crash', () => {
  // An in-memory database keeps its journal in memory: the switch answers "memory", as a filesystem without shared
  // memory support would answer "delete".
  assert.throws(() => openWalDatabase(':memory:'), (e: unknown) => e instanceof ConfigError && /cannot switch to WAL mode \(got memory/.test(e.message));
});
