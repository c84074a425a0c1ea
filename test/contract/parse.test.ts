import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_REPORT_BYTES, parseReport } from '../../src/contract/index.ts';
import { InvalidReportError, MalformedReportError, ReportTooLargeError } from '../../src/errors/index.ts';
import { NOW, validReport } from './fixtures.ts';

/** A valid report serialised to exactly `bytes` bytes, padded with a long (multi-byte) name and JSON whitespace. */
function reportOfSize(bytes: number): string {
  const name = 'é'.repeat(100); // 200 bytes, within the 200-character limit
  const json = JSON.stringify(validReport({ citizens: Array.from({ length: 50 }, () => ({ name, score: 1 })) }));
  const pad = bytes - Buffer.byteLength(json);
  assert.ok(pad >= 0, `base report is ${Buffer.byteLength(json)} bytes`);
  return json.replace('{', `{${' '.repeat(pad)}`);
}

describe('parseReport', () => {
  it('parses bytes and strings into the report, its time and its id', () => {
    const json = JSON.stringify(validReport({ droneId: 'd-9', timestamp: '2026-11-28T04:10:00.250+01:00' }));
    for (const raw of [json, new TextEncoder().encode(json)]) {
      const p = parseReport(raw, { now: NOW });
      assert.equal(p.report.droneId, 'd-9');
      assert.equal(p.ts, Date.UTC(2026, 10, 28, 3, 10, 0, 250));
      assert.equal(p.reportId, `d-9:${p.ts}`);
    }
  });

  it(`accepts exactly ${DEFAULT_MAX_REPORT_BYTES} bytes and refuses one more, counting bytes not characters`, () => {
    const atLimit = reportOfSize(DEFAULT_MAX_REPORT_BYTES);
    assert.ok(atLimit.length < DEFAULT_MAX_REPORT_BYTES, 'multi-byte characters make the byte count larger');
    assert.equal(parseReport(atLimit, { now: NOW }).report.citizens.length, 50);
    assert.equal(parseReport(Buffer.from(atLimit), { now: NOW }).report.citizens.length, 50);
    const over = reportOfSize(DEFAULT_MAX_REPORT_BYTES + 1);
    for (const raw of [over, Buffer.from(over)]) {
      assert.throws(() => parseReport(raw, { now: NOW }), (e: unknown) => {
        assert.ok(e instanceof ReportTooLargeError);
        assert.equal(e.code, 'DW_INGEST_TOO_LARGE');
        assert.equal(e.message, `report is ${DEFAULT_MAX_REPORT_BYTES + 1} bytes; the limit is ${DEFAULT_MAX_REPORT_BYTES} bytes`);
        return true;
      });
    }
  });

  it('honours a configured size limit', () => {
    const json = JSON.stringify(validReport());
    const size = Buffer.byteLength(json);
    assert.ok(parseReport(json, { now: NOW, maxReportBytes: size }));
    assert.throws(() => parseReport(json, { now: NOW, maxReportBytes: size - 1 }), ReportTooLargeError);
  });

  it('refuses malformed JSON and invalid UTF-8 as malformed', () => {
    for (const raw of ['{"droneId":', '', 'nope', Buffer.from([0x7b, 0xff, 0x7d])]) {
      assert.throws(() => parseReport(raw, { now: NOW }), (e: unknown) => {
        assert.ok(e instanceof MalformedReportError);
        assert.equal(e.code, 'DW_INGEST_MALFORMED');
        assert.match(e.details?.[0]?.reason ?? '', /^not valid JSON: /);
        return true;
      });
    }
  });

  it('ignores a leading UTF-8 byte order mark', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(validReport()))]);
    assert.equal(parseReport(bytes, { now: NOW }).report.droneId, 'paris-07.alpha_1');
  });

  it('refuses invalid reports with every field error', () => {
    const json = JSON.stringify(validReport({ droneId: 'a b', citizens: [{ name: 'x', score: 101 }], extra: true }));
    assert.throws(() => parseReport(json, { now: NOW }), (e: unknown) => {
      assert.ok(e instanceof InvalidReportError);
      assert.equal(e.code, 'DW_INGEST_INVALID');
      assert.equal(e.status, 400);
      assert.deepEqual(e.details, [
        { field: 'droneId', reason: 'must match [A-Za-z0-9._-]{1,64}' },
        { field: 'citizens[0].score', reason: 'must be <= 100' },
        { field: 'extra', reason: 'unknown field' },
      ]);
      assert.equal(e.message, 'droneId: must match [A-Za-z0-9._-]{1,64}; citizens[0].score: must be <= 100; extra: unknown field');
      return true;
    });
  });

  it('rejects a future timestamp relative to the injected clock', () => {
    const json = JSON.stringify(validReport({ timestamp: '2026-11-28T03:20:01Z' }));
    assert.throws(() => parseReport(json, { now: NOW }), /timestamp: must not be more than 300 s in the future/);
    assert.equal(parseReport(json, { now: NOW + 1000 }).ts, Date.parse('2026-11-28T03:20:01Z'));
  });
});
