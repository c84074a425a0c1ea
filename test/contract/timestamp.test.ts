import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReportId, parseRfc3339, reportIdOf, validateReport } from '../../src/contract/index.ts';
import { isWhitespace } from '../../src/contract/text.ts';
import { validReport } from './fixtures.ts';

describe('parseRfc3339', () => {
  const valid: [string, number][] = [
    ['2026-11-28T03:10:00Z', Date.UTC(2026, 10, 28, 3, 10, 0)],
    ['2026-11-28T03:10:00.123+01:00', Date.UTC(2026, 10, 28, 2, 10, 0, 123)],
    ['2026-11-28t03:10:00z', Date.UTC(2026, 10, 28, 3, 10, 0)],
    ['2026-11-28T03:10:00.5Z', Date.UTC(2026, 10, 28, 3, 10, 0, 500)],
    ['2026-11-28T03:10:00.05Z', Date.UTC(2026, 10, 28, 3, 10, 0, 50)],
    ['2026-11-28T03:10:00-00:00', Date.UTC(2026, 10, 28, 3, 10, 0)],
    ['2026-11-28T00:30:00+23:59', Date.UTC(2026, 10, 27, 0, 31, 0)],
    ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['1970-01-01T00:00:00Z', 0],
    ['9999-12-31T23:59:59Z', Date.UTC(9999, 11, 31, 23, 59, 59)],
    ['0001-01-01T00:00:00Z', -62135596800000],
  ];
  for (const [s, ms] of valid) {
    it(`parses ${s}`, () => assert.equal(parseRfc3339(s), ms));
  }

  it('truncates fraction digits beyond milliseconds (never rounds up)', () => {
    assert.equal(parseRfc3339('2026-11-28T03:10:00.1239Z'), Date.UTC(2026, 10, 28, 3, 10, 0, 123));
    assert.equal(parseRfc3339('2026-12-31T23:59:59.999999999Z'), Date.UTC(2026, 11, 31, 23, 59, 59, 999));
    assert.equal(parseRfc3339('1969-12-31T23:59:59.9999Z'), -1);
  });

  const invalid = [
    '2026-11-28 03:10', '2026-11-28 03:10:00Z', '2026-11-28T03:10Z', '2026-11-28T03:10:00', '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z',
    '2026-11-00T00:00:00Z', '2026-11-28T24:00:00Z', '2026-11-28T23:60:00Z', '2026-12-31T23:59:60Z', '2026-11-28T03:10:00.Z',
    '2026-11-28T03:10:00+0100', '2026-11-28T03:10:00+01', '2026-11-28T03:10:00+24:00', '2026-11-28T03:10:00+01:60',
    '2026-11-28T03:10:00ZZ', '2026-11-28T03:10:00Z ', ' 2026-11-28T03:10:00Z', '26-11-28T03:10:00Z', '+2026-11-28T03:10:00Z',
    '2026-1-28T03:10:00Z', '2026-11-28T3:10:00Z', '2026/11/28T03:10:00Z', '2026-11-28T03:10:00,5Z', '２０２６-11-28T03:10:00Z',
    '2026-11-28T03:10:00.12a Z', '', 'now',
  ];
  for (const s of invalid) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.ok(Number.isNaN(parseRfc3339(s))));
  }

  it('agrees with Date.parse on 2000 random valid timestamps with offsets', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const p2 = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1970 + rnd(150), 0, 1) + rnd(366 * 86_400_000);
      const offMin = (rnd(2) ? 1 : -1) * rnd(24 * 60);
      const local = new Date(ms + offMin * 60_000).toISOString(); // UTC fields of the local time
      const frac = ['', '.' + local.slice(20, 21), '.' + local.slice(20, 22), '.' + local.slice(20, 23)][rnd(4)]!;
      const off = `${offMin < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(offMin) / 60))}:${p2(Math.abs(offMin) % 60)}`;
      const s = `${local.slice(0, 19)}${frac}${off}`;
      assert.equal(parseRfc3339(s), Date.parse(s), s);
    }
  });
});

describe('reportId', () => {
  it('is the same for every spelling of the same instant', () => {
    const spellings = [
      '2026-11-28T03:10:00Z', '2026-11-28T03:10:00+00:00', '2026-11-28T03:10:00.000Z', '2026-11-28T03:10:00.0000Z',
      '2026-11-28T04:10:00+01:00', '2026-11-27T22:40:00-04:30', '2026-11-28t03:10:00z', '2026-11-28T03:10:00-00:00',
      '2026-11-28T03:10:00.0009Z',
    ];
    const ids = spellings.map((timestamp) => {
      const r = validateReport(validReport({ droneId: 'd-1', timestamp }), { now: Date.parse('2026-11-28T04:00:00Z') });
      assert.ok(r.ok, timestamp);
      return reportIdOf(r.report.droneId, r.ts);
    });
    assert.deepEqual(new Set(ids), new Set([`d-1:${Date.UTC(2026, 10, 28, 3, 10)}`]));
  });

  it('differs for different milliseconds and drones', () => {
    const id = (droneId: string, timestamp: string) => {
      const r = validateReport(validReport({ droneId, timestamp }), { now: Date.parse('2026-11-28T04:00:00Z') });
      assert.ok(r.ok);
      return reportIdOf(droneId, r.ts);
    };
    assert.notEqual(id('d-1', '2026-11-28T03:10:00.001Z'), id('d-1', '2026-11-28T03:10:00Z'));
    assert.notEqual(id('d-2', '2026-11-28T03:10:00Z'), id('d-1', '2026-11-28T03:10:00Z'));
  });

  it('round-trips through parseReportId, including times before 1970', () => {
    for (const [droneId, ms] of [['a.b-c_d', 1795831800123], ['x', 0], ['x', -1]] as const) {
      assert.deepEqual(parseReportId(reportIdOf(droneId, ms)), { droneId, epochMs: ms });
    }
    assert.equal(parseReportId('no-colon'), undefined);
    assert.equal(parseReportId('d:abc'), undefined);
  });
});

describe('whitespace (the meaning of the schema\'s \\S)', () => {
  it('matches ECMAScript \\s for every BMP code unit', () => {
    const re = /\s/;
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      assert.equal(isWhitespace(c), re.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
    }
  });
});
