import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli } from './helpers.ts';

describe('CLI errors are one clear line, never a stack trace', () => {
  const tmp = tempDir('dw-cli-err-');
  after(() => tmp.cleanup());

  it('names a bad flag value', async () => {
    const r = await runCli(['up', '--port', 'abc', '--data', tmp.dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port: must be an integer >= 0, got "abc"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('names a bad key from the environment', async () => {
    const r = await runCli(['up', '--data', tmp.dir], { env: { DRONEWATCH_ALERTS__THRESHOLD: '150' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid configuration: alerts\.threshold: .*100/);
    assert.match(r.stderr, /DW_CONFIG_INVALID/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('names an unknown key in a config file', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = `${tmp.dir}/bad.json`;
    writeFileSync(file, JSON.stringify({ http: { prot: 1 } }));
    const r = await runCli(['--config', file, 'alerts', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /http: unknown key\(s\) prot/);
  });

  it('reports SQL errors from query without a stack', async () => {
    const r = await runCli(['query', 'SELECT nope FROM reports', '--data', tmp.dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^error: .*nope/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('refuses an unknown command with usage help', async () => {
    const r = await runCli(['fly']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown command 'fly'/);
  });
});

describe('a port already in use', () => {
  const tmp = tempDir('dw-cli-port-');
  after(() => tmp.cleanup());

  it('is reported with the setting to change, and nothing is left running', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--port', String(port), '--data', tmp.dir]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\); choose another with --port`));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      server.close();
    }
  });
});
