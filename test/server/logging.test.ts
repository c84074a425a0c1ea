/**
 * Logs operators can use (issue 17): one JSON line per API request at info (method, route pattern, status, duration,
 * tenant, request id, component), the request id echoed in x-request-id, no personal data in any line (citizen
 * names, report bodies, SQL and its results, query strings), a readable one-line format for terminals, and the real
 * process choosing JSON when stderr is not a terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir, waitUntil } from '../../src/testkit/index.ts';
import { createLogger, logFormat } from '../../src/util/log.ts';
import { formatLogLine } from '../../src/util/log-pretty.ts';
import { report } from './helpers.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dronewatch.js');
const CITIZEN = 'Jeanne Martin';
const SQL_MARKER = 'secret-marker-sql';

type Line = Record<string, unknown>;

describe('request log of an API process', { timeout: 120_000 }, () => {
  const tmp = tempDir('dw-log-');
  const lines: Line[] = [];
  const raw: string[] = [];
  let platform: Platform;
  before(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) {
          if (l === '') continue;
          raw.push(l);
          lines.push(JSON.parse(l) as Line);
        }
        done();
      },
    });
    const logger = createLogger('serve', 'info', { format: 'json', destination: capture });
    platform = await Platform.open(validateConfig({ security: { enabled: false }, dataDir: tmp.dir, http: { port: 0, host: '127.0.0.1' }, archive: { maxBatchAgeMs: 200 } }), { logger });
    await platform.start({ alerts: true, archive: true, http: 'api' });
  });
  after(async () => {
    await platform.stop();
    tmp.cleanup();
  });

  const requestLines = (): Line[] => lines.filter((l) => l.msg === 'request');

  it('one info line per request: method, route pattern, status, duration, tenant, request id, component', async () => {
    const r = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: report({ citizens: [{ name: CITIZEN, score: 4 }] }) });
    assert.equal(r.statusCode, 202, r.body);
    const reqId = String(r.headers['x-request-id']);
    assert.match(reqId, /^[0-9a-f-]{36}$/);
    const mine = requestLines().filter((l) => l.reqId === reqId);
    assert.equal(mine.length, 1, JSON.stringify(requestLines()));
    const l = mine[0]!;
    assert.equal(l.level, 30);
    assert.equal(l.component, 'serve');
    assert.equal(l.method, 'POST');
    assert.equal(l.route, '/v1/reports');
    assert.equal(l.status, 202);
    assert.equal(l.tenant, 'default');
    assert.equal(typeof l.ms, 'number');

    // The route pattern, never the URL: the id and the query string stay out.
    const one = await platform.server!.inject({ method: 'GET', url: `/v1/alerts/${encodeURIComponent(CITIZEN)}?q=${SQL_MARKER}`, headers: { 'x-request-id': 'proxy-abc.123' } });
    assert.equal(one.statusCode, 404);
    assert.equal(one.headers['x-request-id'], 'proxy-abc.123', 'a sane request id from a proxy is kept');
    const line = requestLines().find((x) => x.reqId === 'proxy-abc.123')!;
    assert.equal(line.route, '/v1/alerts/:id');
    assert.equal(line.status, 404);
    assert.equal(line.code, 'DW_ALERT_NOT_FOUND');
    const weird = await platform.server!.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'a b\nforged line' } });
    assert.match(String(weird.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'anything else gets a fresh id');
  });

  it('no personal data: no citizen name, no SQL, no query result, no rejected body in any line', async () => {
    const q = await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT '${CITIZEN}' AS who, '${SQL_MARKER}' AS m` } });
    assert.equal(q.statusCode, 200, q.body);
    assert.ok(q.body.includes(CITIZEN), 'the answer has it; the log must not');
    const failed = await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT nope FROM reports WHERE x = '${SQL_MARKER}'` } });
    assert.equal(failed.statusCode, 400);
    // A rejected report whose unknown field is named after a citizen: its dead letter keeps it, the log does not.
    const bad = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: { ...report(), [CITIZEN]: 1 } });
    assert.equal(bad.statusCode, 400, bad.body);
    await waitUntil('the request lines', () => requestLines().some((l) => l.route === '/v1/query' && l.status === 400), 5000);
    assert.ok(lines.some((l) => l.msg === 'reports rejected' && l.firstCode === 'DW_INGEST_INVALID'), 'the rejection is logged, by its code');
    for (const l of raw) {
      for (const secret of [CITIZEN, 'Jeanne', SQL_MARKER, 'SELECT']) assert.ok(!l.includes(secret), `"${secret}" in a log line: ${l}`);
    }
    const query = requestLines().filter((l) => l.route === '/v1/query');
    assert.deepEqual(query.map((l) => [l.status, l.code ?? null]), [[200, null], [400, 'DW_QUERY_FAILED']]);
  });
});

describe('log formats', () => {
  it('a pino line on a terminal: time, level, component, message, fields; one line; the error stack below', () => {
    const json = JSON.stringify({ level: 40, time: Date.UTC(2026, 11, 6, 8, 1, 2, 345), component: 'alerts', pid: 1, hostname: 'h', msg: 'offset commit refused\nforged', partition: 3, group: 'alerts team', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at f (a.ts:1)' } });
    const out = formatLogLine(json);
    assert.equal(out, '08:01:02.345 WARN  alerts  offset commit refused\\x0aforged  partition=3 group="alerts team"\n    Error: x\n        at f (a.ts:1)\n');
    assert.equal(formatLogLine('not json'), 'not json\n');
  });

  it('DRONEWATCH_LOG_FORMAT: auto is pretty on a terminal and JSON elsewhere; anything else is refused by name', () => {
    assert.equal(logFormat({}, true), 'pretty');
    assert.equal(logFormat({}, false), 'json');
    assert.equal(logFormat({ DRONEWATCH_LOG_FORMAT: 'json' }, true), 'json');
    assert.throws(() => logFormat({ DRONEWATCH_LOG_FORMAT: 'xml' }, false), /DRONEWATCH_LOG_FORMAT: must be auto, json or pretty, got "xml"/);
    assert.throws(() => createLogger('x', 'loud', { format: 'json' }), /DRONEWATCH_LOG_LEVEL: must be one of/);
  });

  it('a real `dronewatch ingest`: JSON lines on a piped stderr, pretty ones when asked, each request logged', { timeout: 90_000 }, async () => {
    const tmp = tempDir('dw-log-proc-');
    try {
      for (const format of ['auto', 'pretty'] as const) {
        const child = spawn(process.execPath, [BIN, '--data', path.join(tmp.dir, format), 'ingest', '--port', '0'], {
          env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'info', DRONEWATCH_LOG_FORMAT: format, DRONEWATCH_SECURITY__ENABLED: 'false' }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
        try {
          await waitUntil('ingest to listen', () => /listening on (http:\/\/\S+)/.test(out) || child.exitCode !== null, 60_000);
          const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
          assert.ok(url, `no banner; stdout ${out} stderr ${err}`);
          const r = await fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report({ citizens: [{ name: CITIZEN, score: 50 }] })) });
          assert.equal(r.status, 202);
          const reqId = r.headers.get('x-request-id')!;
          await waitUntil('the request line', () => err.includes(reqId), 10_000);
          const line = err.split('\n').find((l) => l.includes(reqId))!;
          if (format === 'auto') {
            const o = JSON.parse(line) as Line;
            assert.deepEqual([o.component, o.msg, o.method, o.route, o.status, o.tenant], ['ingest', 'request', 'POST', '/v1/reports', 202, 'default']);
          } else {
            assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  ingest  request  reqId=${reqId} method=POST route=/v1/reports status=202 ms=[\\d.]+ tenant=default$`));
          }
          assert.ok(!err.includes(CITIZEN));
        } finally {
          child.kill('SIGINT');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      }
    } finally {
      tmp.cleanup();
    }
  });
});
