import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tempDir } from '../../src/testkit/index.ts';
import { BIN } from './helpers.ts';

/**
 * The CLI's quick commands start without the heavy clients: DuckDB, the AWS SDK, NATS, Kafka, fastify, MQTT and the
 * metrics client load in the actions that use them (docs/runtime.md, "The compiled CLI"). One top-level import of a
 * barrel such as lake/index.ts brings DuckDB back into every start; this catches it. It runs the sources
 * (DRONEWATCH_FROM_SOURCE=1), whose import graph is the one dist/ is built from, so it does not depend on a fresh dist/.
 */
const HEAVY = ['@duckdb/node-api', '@aws-sdk/client-s3', '@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv', '@platformatic/kafka', 'fastify', 'mqtt', 'prom-client'];

// Resolve hooks that print each package the process resolves, once, as `PKG <name>` on stderr.
const HOOKS = `
const seen = new Set();
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m && !seen.has(m[1])) { seen.add(m[1]); process.stderr.write('PKG ' + m[1] + '\\n'); }
  return r;
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

function packagesLoaded(args: string[], dataDir: string): Promise<{ packages: string[]; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, ...args], {
      env: { ...process.env, DRONEWATCH_FROM_SOURCE: '1', DRONEWATCH_DATA: dataDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ packages: [...stderr.matchAll(/^PKG (\S+)$/gm)].map((m) => m[1]!), stdout, stderr });
    });
  });
}

describe('CLI start imports', () => {
  for (const args of [['--help'], ['users', 'list'], ['alerts', 'ack', 'no-such-alert', '--by', 'test']]) {
    it(`dronewatch ${args.join(' ')} loads none of the heavy clients`, async () => {
      const tmp = tempDir();
      try {
        const r = await packagesLoaded(args, tmp.dir);
        // The hooks saw the process's imports (so an empty list below means something): commander is always there.
        assert.ok(r.packages.includes('commander'), `no import seen; stderr:\n${r.stderr.slice(-2000)}`);
        assert.deepEqual(r.packages.filter((p) => HEAVY.includes(p)), [], `loaded at start: ${r.packages.join(', ')}`);
      } finally {
        tmp.cleanup();
      }
    });
  }
});
