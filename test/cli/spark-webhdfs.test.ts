import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli } from './helpers.ts';

// `dronewatch spark` on a webhdfs:// lake: pyspark's Hadoop cannot read it, so the command must refuse before it starts
// anything (the job's own refusal comes after a JVM start). The Python it would run is a stand-in script that records
// each call in a file: the refusal must leave no record, and the accepted case (an hdfs:// --spark-lake beside the
// webhdfs:// lake dronewatch uses) must reach it with that address. No Spark needed: this is about what the CLI starts.
describe('dronewatch spark: a webhdfs:// lake is refused before anything starts', () => {
  /** A "python" that logs its arguments, one call per line; `-c import pyspark` (findSpark's probe) succeeds. */
  function fakePython(dir: string): { python: string; calls: () => string[] } {
    const log = path.join(dir, 'python-calls.log');
    const python = path.join(dir, 'python');
    writeFileSync(python, `#!/bin/sh\necho "$*" >> '${log}'\nexit 0\n`);
    chmodSync(python, 0o755);
    return { python, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
  }

  const WEBHDFS = 'webhdfs://nn.example:9870/data/lake/';
  for (const { named, before, after } of [
    { named: 'the configured lake', before: ['--lake', WEBHDFS], after: [] },
    { named: '--spark-lake', before: [], after: ['--spark-lake', WEBHDFS] },
  ]) {
    it(`${named} on webhdfs://: exit 2, DW_CONFIG_INVALID naming the hdfs:// address, no Python started`, async () => {
      const tmp = tempDir('dw-spark-webhdfs-');
      try {
        const fake = fakePython(tmp.dir);
        const out = path.join(tmp.dir, 'out');
        const started = Date.now();
        const r = await runCli(['--data', tmp.dir, ...before, 'spark', 'reports-daily', ...after, '--out', out], { env: { DRONEWATCH_SPARK_PYTHON: fake.python } });
        const ms = Date.now() - started;
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`${named} is webhdfs://nn\\.example:9870/data/lake/?: Spark cannot read webhdfs://`));
        assert.match(r.stderr, /--spark-lake hdfs:\/\/nn\.example:8020\/data\/lake /);
        assert.match(r.stderr, /DW_CONFIG_INVALID/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.deepEqual(fake.calls(), [], 'no Python process started (not even findSpark\'s probe)');
        assert.ok(!existsSync(out), 'nothing written');
        // A CLI start, not a JVM start: generous for a loaded 2-core machine running the sources through tsx.
        assert.ok(ms < 20_000, `refused in ${ms} ms`);
      } finally {
        tmp.cleanup();
      }
    });
  }

  it('a webhdfs:// lake with an hdfs:// --spark-lake runs the job on the hdfs:// address', async () => {
    const tmp = tempDir('dw-spark-webhdfs-');
    try {
      const fake = fakePython(tmp.dir);
      const r = await runCli(['--data', tmp.dir, '--lake', 'webhdfs://nn.example:9870/data/lake', 'spark', 'reports-daily',
        '--spark-lake', 'hdfs://nn.example:8020/data/lake', '--out', path.join(tmp.dir, 'out')], { env: { DRONEWATCH_SPARK_PYTHON: fake.python } });
      assert.equal(r.code, 0, r.stderr);
      const job = fake.calls().filter((c) => c.includes('lake_stats.py'));
      assert.equal(job.length, 1, fake.calls().join('\n'));
      assert.match(job[0]!, / --lake hdfs:\/\/nn\.example:8020\/data\/lake /);
    } finally {
      tmp.cleanup();
    }
  });
});
