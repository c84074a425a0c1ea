import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_CLOCK_SKEW_MS, MAX_FIELD_ERRORS, validateReport } from '../../src/contract/index.ts';
import type { FieldError } from '../../src/errors/index.ts';
import { NOW, citizens, omit, validReport } from './fixtures.ts';

function errorsOf(input: unknown, now = NOW): string[] {
  const r = validateReport(input, { now });
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)?.slice(0, 200)} to be rejected`);
  return (r as { errors: FieldError[] }).errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason));
}

function assertValid(input: unknown, now = NOW): number {
  const r = validateReport(input, { now });
  assert.ok(r.ok, `expected valid, got ${JSON.stringify(r.ok ? null : r.errors)}`);
  assert.equal(r.report, input, 'returns the input object itself');
  return r.ts;
}

describe('validateReport: whole document', () => {
  it('accepts a valid report and returns its time in epoch ms', () => {
    assert.equal(assertValid(validReport()), Date.UTC(2026, 10, 28, 3, 10, 0));
  });

  it('accepts empty citizens and words', () => {
    assertValid(validReport({ citizens: [], words: [] }));
  });

  for (const [label, input] of [
    ['null', null], ['an array', []], ['a string', '{}'], ['a number', 42], ['a boolean', true], ['undefined', undefined],
    ['a Date', new Date()], ['a class instance', new (class Report { droneId = 'x' })()],
  ] as const) {
    it(`rejects ${label} as the document`, () => {
      assert.deepEqual(errorsOf(input), ['must be a JSON object']);
    });
  }

  it('accepts an object without prototype (Object.create(null))', () => {
    assertValid(Object.assign(Object.create(null) as object, validReport()));
  });

  it('reports every missing field', () => {
    assert.deepEqual(errorsOf({}), [
      'droneId: is required', 'timestamp: is required', 'position: is required', 'citizens: is required', 'words: is required',
    ]);
  });

  for (const field of ['droneId', 'timestamp', 'position', 'citizens', 'words']) {
    it(`requires ${field}`, () => {
      assert.deepEqual(errorsOf(omit(validReport(), field)), [`${field}: is required`]);
    });
  }

  it('rejects unknown fields at the top level, each named', () => {
    assert.deepEqual(errorsOf(validReport({ extra: 1, altitude: 30 })), ['extra: unknown field', 'altitude: unknown field']);
  });

  it('rejects a "__proto__" own key from JSON as unknown', () => {
    assert.deepEqual(errorsOf(JSON.parse(JSON.stringify(validReport()).replace('{', '{"__proto__":{"x":1},'))), ['__proto__: unknown field']);
  });

  it('collects errors from every field at once', () => {
    const errs = errorsOf({ droneId: '', timestamp: 'now', position: {}, citizens: {}, words: 'a b' });
    assert.deepEqual(errs, [
      'droneId: must match [A-Za-z0-9._-]{1,64}',
      'timestamp: must be an RFC 3339 date-time such as 2026-11-28T03:10:00Z',
      'position.lat: is required', 'position.lon: is required',
      'citizens: must be an array', 'words: must be an array',
    ]);
  });

  it(`caps the error list at ${MAX_FIELD_ERRORS} plus one note`, () => {
    const junk: Record<string, unknown> = validReport();
    for (let i = 0; i < 150; i++) junk[`x${i}`] = i;
    const r = validateReport(junk, { now: NOW });
    assert.ok(!r.ok);
    assert.equal(r.errors.length, MAX_FIELD_ERRORS + 1);
    assert.deepEqual(r.errors.at(-1), { field: '', reason: `more than ${MAX_FIELD_ERRORS} errors; the rest are not listed` });
  });

  it('returns independent error arrays from successive calls', () => {
    const a = validateReport({}, { now: NOW });
    const b = validateReport(validReport({ droneId: 5 }), { now: NOW });
    assert.ok(!a.ok && !b.ok);
    assert.equal(a.errors.length, 5);
    assert.deepEqual(b.errors, [{ field: 'droneId', reason: 'must be a string' }]);
  });
});

describe('validateReport: droneId', () => {
  for (const id of ['a', 'A-Z_0.9', 'x'.repeat(64), 'drone.paris-07_B']) {
    it(`accepts ${JSON.stringify(id.length > 20 ? `${id.length} chars` : id)}`, () => { assertValid(validReport({ droneId: id })); });
  }
  for (const id of ['', 'x'.repeat(65), 'a b', 'a:b', 'drone/1', 'dröne', 'a\n']) {
    it(`rejects ${JSON.stringify(id.length > 20 ? `${id.length} chars` : id)}`, () => {
      assert.deepEqual(errorsOf(validReport({ droneId: id })), ['droneId: must match [A-Za-z0-9._-]{1,64}']);
    });
  }
  it('rejects a number', () => assert.deepEqual(errorsOf(validReport({ droneId: 7 })), ['droneId: must be a string']));
});

describe('validateReport: position', () => {
  for (const [lat, lon] of [[-90, -180], [90, 180], [0, 0], [-0, 12.5]]) {
    it(`accepts lat ${lat}, lon ${lon}`, () => { assertValid(validReport({ position: { lat, lon } })); });
  }
  const cases: [unknown, unknown, string[]][] = [
    [-90.0001, 0, ['position.lat: must be >= -90']],
    [90.0001, 0, ['position.lat: must be <= 90']],
    [0, -180.5, ['position.lon: must be >= -180']],
    [0, 181, ['position.lon: must be <= 180']],
    ['48.1', 2, ['position.lat: must be a number']],
    [48, null, ['position.lon: must be a number']],
    [Number.NaN, Number.POSITIVE_INFINITY, ['position.lat: must be a finite number', 'position.lon: must be a finite number']],
    [Number.NEGATIVE_INFINITY, 0, ['position.lat: must be a finite number']],
  ];
  for (const [lat, lon, expected] of cases) {
    it(`rejects lat ${String(lat)}, lon ${String(lon)}`, () => assert.deepEqual(errorsOf(validReport({ position: { lat, lon } })), expected));
  }
  it('rejects a non-object position', () => {
    assert.deepEqual(errorsOf(validReport({ position: [48, 2] })), ['position: must be an object']);
    assert.deepEqual(errorsOf(validReport({ position: null })), ['position: must be an object']);
  });
  it('rejects unknown fields in position', () => {
    assert.deepEqual(errorsOf(validReport({ position: { lat: 1, lon: 2, alt: 30 } })), ['position.alt: unknown field']);
  });
  it('requires lat and lon', () => {
    assert.deepEqual(errorsOf(validReport({ position: { lon: 2 } })), ['position.lat: is required']);
  });
});

describe('validateReport: citizens', () => {
  it('accepts 50 citizens and rejects 51', () => {
    assertValid(validReport({ citizens: citizens(50) }));
    assert.deepEqual(errorsOf(validReport({ citizens: citizens(51) })), ['citizens: must have at most 50 entries']);
  });
  for (const score of [0, 100, 0.5, 99.999]) {
    it(`accepts score ${score}`, () => { assertValid(validReport({ citizens: [{ name: 'A', score }] })); });
  }
  const bad: [unknown, string][] = [
    [-0.001, 'must be >= 0'], [100.001, 'must be <= 100'], [-1, 'must be >= 0'], ['50', 'must be a number'],
    [true, 'must be a number'], [Number.NaN, 'must be a finite number'], [Number.POSITIVE_INFINITY, 'must be a finite number'],
  ];
  for (const [score, reason] of bad) {
    it(`rejects score ${JSON.stringify(score) ?? String(score)}`, () => {
      assert.deepEqual(errorsOf(validReport({ citizens: [{ name: 'A', score: 1 }, { name: 'B', score }] })), [`citizens[1].score: ${reason}`]);
    });
  }
  it('counts name length in characters (code points), up to 200', () => {
    assertValid(validReport({ citizens: [{ name: 'é'.repeat(200), score: 1 }] }));
    assertValid(validReport({ citizens: [{ name: '😀'.repeat(200), score: 1 }] })); // 400 UTF-16 units
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: 'n'.repeat(201), score: 1 }] })), ['citizens[0].name: must be 1-200 characters']);
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: '😀'.repeat(201), score: 1 }] })), ['citizens[0].name: must be 1-200 characters']);
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: '', score: 1 }] })), ['citizens[0].name: must be 1-200 characters']);
  });
  it('rejects names made only of whitespace, accepts names with inner or outer spaces', () => {
    for (const name of [' ', '\t\n', '\u00a0\u3000', '\ufeff']) {
      assert.deepEqual(errorsOf(validReport({ citizens: [{ name, score: 1 }] })), ['citizens[0].name: must not be blank']);
    }
    assertValid(validReport({ citizens: [{ name: ' Jean  Dupont ', score: 1 }] }));
  });
  it('rejects unpaired surrogates in names', () => {
    for (const name of ['\ud800', 'a\udc00b', 'x\ud83d']) {
      assert.deepEqual(errorsOf(validReport({ citizens: [{ name, score: 1 }] })), ['citizens[0].name: must be well-formed Unicode (no unpaired surrogates)']);
    }
  });
  it('rejects non-object entries, missing and unknown citizen fields', () => {
    assert.deepEqual(errorsOf(validReport({ citizens: ['Ann', null, [1]] })), [
      'citizens[0]: must be an object', 'citizens[1]: must be an object', 'citizens[2]: must be an object',
    ]);
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: 'A' }, { score: 2 }] })), ['citizens[0].score: is required', 'citizens[1].name: is required']);
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: 'A', score: 2, age: 40 }] })), ['citizens[0].age: unknown field']);
    assert.deepEqual(errorsOf(validReport({ citizens: [{ name: 7, score: 2 }] })), ['citizens[0].name: must be a string']);
  });
});

describe('validateReport: words', () => {
  it('accepts 200 words and rejects 201', () => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`);
    assertValid(validReport({ words }));
    assert.deepEqual(errorsOf(validReport({ words: [...words, 'one-more'] })), ['words: must have at most 200 entries']);
  });
  it('accepts words of 1 and 64 characters, rejects 0 and 65', () => {
    assertValid(validReport({ words: ['a', 'w'.repeat(64), '😀'.repeat(64)] }));
    assert.deepEqual(errorsOf(validReport({ words: ['ok', '', 'w'.repeat(65)] })), ['words[1]: must be 1-64 characters', 'words[2]: must be 1-64 characters']);
  });
  it('rejects non-strings, blank words and unpaired surrogates', () => {
    assert.deepEqual(errorsOf(validReport({ words: [1, null, '  ', '\udfff'] })), [
      'words[0]: must be a string', 'words[1]: must be a string', 'words[2]: must not be blank',
      'words[3]: must be well-formed Unicode (no unpaired surrogates)',
    ]);
  });
});

describe('validateReport: timestamp', () => {
  it('rejects a non-string', () => {
    assert.deepEqual(errorsOf(validReport({ timestamp: NOW })), ['timestamp: must be a string']);
  });
  it(`rejects timestamps more than ${DEFAULT_MAX_CLOCK_SKEW_MS} ms after "now", accepts up to that`, () => {
    const at = (ms: number) => new Date(ms).toISOString();
    assertValid(validReport({ timestamp: at(NOW + DEFAULT_MAX_CLOCK_SKEW_MS) }));
    assert.deepEqual(errorsOf(validReport({ timestamp: at(NOW + DEFAULT_MAX_CLOCK_SKEW_MS + 1) })), ['timestamp: must not be more than 300 s in the future']);
    assertValid(validReport({ timestamp: '2001-01-01T00:00:00Z' }));
  });
  it('uses the injected clock and skew', () => {
    const r = validateReport(validReport({ timestamp: '2026-11-28T03:10:02Z' }), { now: Date.parse('2026-11-28T03:10:00Z'), maxClockSkewMs: 1500 });
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [{ field: 'timestamp', reason: 'must not be more than 1.5 s in the future' }]);
    const ok = validateReport(validReport({ timestamp: '2026-11-28T03:10:01.500Z' }), { now: Date.parse('2026-11-28T03:10:00Z'), maxClockSkewMs: 1500 });
    assert.ok(ok.ok);
  });
  it('defaults "now" to the real clock', () => {
    assert.ok(validateReport(validReport({ timestamp: new Date().toISOString() })).ok);
    assert.ok(!validateReport(validReport({ timestamp: new Date(Date.now() + 3_600_000).toISOString() })).ok);
  });
});
