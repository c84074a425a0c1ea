import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { REPORT_SCHEMA_V1_ID, reportSchemaV1, validateReport } from '../../src/contract/index.ts';
import { NOW, citizens, omit, validReport } from './fixtures.ts';

// ajv-formats is CommonJS: under Node's ESM loader the default import is the plugin function itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function compileSchema() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(reportSchemaV1);
}

/** ajv error -> our field path (`/citizens/0/score` -> `citizens[0].score`; required/additional name the property). */
function pathOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String((e.params as { additionalProperty: string }).additionalProperty));
  let path = '';
  for (const p of parts) path += /^\d+$/.test(p) ? `[${p}]` : path ? `.${p}` : p;
  return path;
}

const isUnder = (path: string, parent: string) => path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);

/** ~40 documents, each a JSON value (no NaN, no unpaired surrogates: JSON-level inputs only). */
const corpus: [string, unknown][] = [
  ['valid', validReport()],
  ['valid, empty arrays', validReport({ citizens: [], words: [] })],
  ['valid, 50 citizens', validReport({ citizens: citizens(50) })],
  ['valid, boundaries', validReport({ position: { lat: -90, lon: 180 }, citizens: [{ name: 'A', score: 0 }, { name: 'B', score: 100 }] })],
  ['valid, 64-char id', validReport({ droneId: 'a'.repeat(64) })],
  ['valid, astral name of 200 characters', validReport({ citizens: [{ name: '😀'.repeat(200), score: 5 }] })],
  ['valid, offset and fraction', validReport({ timestamp: '2026-11-28T04:10:00.123456+01:00' })],
  ['valid, lower-case t and z', validReport({ timestamp: '2026-11-28t03:10:00z' })],
  ['valid, leap day', validReport({ timestamp: '2024-02-29T00:00:00Z' })],
  ['valid, inner spaces', validReport({ citizens: [{ name: ' a b ', score: 1 }], words: [' x '] })],
  ['not an object: array', [validReport()]],
  ['not an object: null', null],
  ['not an object: string', 'report'],
  ['not an object: number', 1],
  ['empty object', {}],
  ['missing droneId', omit(validReport(), 'droneId')],
  ['missing words', omit(validReport(), 'words')],
  ['unknown top-level field', validReport({ altitude: 120 })],
  ['unknown position field', validReport({ position: { lat: 1, lon: 1, alt: 2 } })],
  ['unknown citizen field', validReport({ citizens: [{ name: 'a', score: 1, id: 7 }] })],
  ['65-char id', validReport({ droneId: 'a'.repeat(65) })],
  ['id with a colon', validReport({ droneId: 'a:b' })],
  ['empty id', validReport({ droneId: '' })],
  ['numeric id', validReport({ droneId: 12 })],
  ['timestamp with a space', validReport({ timestamp: '2026-11-28 03:10:00Z' })],
  ['timestamp without seconds', validReport({ timestamp: '2026-11-28T03:10Z' })],
  ['timestamp without offset', validReport({ timestamp: '2026-11-28T03:10:00' })],
  ['timestamp month 13', validReport({ timestamp: '2026-13-01T00:00:00Z' })],
  ['timestamp February 30', validReport({ timestamp: '2026-02-30T00:00:00Z' })],
  ['timestamp leap second', validReport({ timestamp: '2016-12-31T23:59:60Z' })],
  ['timestamp offset without colon', validReport({ timestamp: '2026-11-28T03:10:00+0100' })],
  ['timestamp offset hour 24', validReport({ timestamp: '2026-11-28T03:10:00+24:00' })],
  ['timestamp as a number', validReport({ timestamp: 1795831800000 })],
  ['lat out of range', validReport({ position: { lat: 90.5, lon: 0 } })],
  ['lon out of range', validReport({ position: { lat: 0, lon: -181 } })],
  ['lat as a string', validReport({ position: { lat: '48.8', lon: 2 } })],
  ['position as an array', validReport({ position: [48.8, 2.3] })],
  ['position missing lon', validReport({ position: { lat: 1 } })],
  ['score above 100', validReport({ citizens: [{ name: 'a', score: 100.5 }] })],
  ['score below 0', validReport({ citizens: [{ name: 'a', score: -1 }] })],
  ['score as a string', validReport({ citizens: [{ name: 'a', score: '5' }] })],
  ['51 citizens', validReport({ citizens: citizens(51) })],
  ['citizen as a string', validReport({ citizens: ['Ann'] })],
  ['empty name', validReport({ citizens: [{ name: '', score: 1 }] })],
  ['blank name', validReport({ citizens: [{ name: ' \t', score: 1 }] })],
  ['201-char name', validReport({ citizens: [{ name: 'n'.repeat(201), score: 1 }] })],
  ['201 words', validReport({ words: Array.from({ length: 201 }, () => 'w') })],
  ['65-char word', validReport({ words: ['w'.repeat(65)] })],
  ['blank word', validReport({ words: ['\u3000'] })],
  ['word as a number', validReport({ words: [42] })],
  ['many errors at once', { droneId: '', timestamp: 'x', position: { lat: 'a' }, citizens: [{ score: 200, x: 1 }], words: [''], y: 0 }],
];

describe('schema/report.v1.json', () => {
  it(`is draft 2020-12 with a versioned $id`, () => {
    assert.equal(reportSchemaV1.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(reportSchemaV1.$id, REPORT_SCHEMA_V1_ID);
    assert.match(REPORT_SCHEMA_V1_ID, /v1/);
  });

  it('compiles with ajv in strict mode', () => {
    assert.equal(typeof compileSchema(), 'function');
  });

  it(`and the fast validator agree on ${corpus.length} documents (validity and error fields)`, () => {
    const ajvValidate = compileSchema();
    let valid = 0;
    for (const [label, doc] of corpus) {
      const ours = validateReport(doc, { now: NOW });
      const theirs = ajvValidate(doc);
      assert.equal(ours.ok, theirs, `${label}: validator says ${ours.ok}, ajv says ${theirs} ${JSON.stringify(ajvValidate.errors)}`);
      if (ours.ok) {
        valid++;
        continue;
      }
      const ourFields = [...new Set(ours.errors.map((e) => e.field))].sort();
      // Entries of an over-long array are not checked by our validator; ajv checks them too.
      const ajvFields = [...new Set((ajvValidate.errors ?? []).map(pathOf))].filter((p) => !ourFields.some((f) => f !== '' && isUnder(p, f))).sort();
      assert.deepEqual(ourFields, ajvFields, label);
    }
    assert.ok(valid >= 8 && valid <= corpus.length - 30, 'the corpus mixes valid and invalid documents');
  });

  it('differs only by the rules the schema cannot express: future timestamps and unpaired surrogates', () => {
    const ajvValidate = compileSchema();
    const future = validReport({ timestamp: '2026-11-28T04:00:00Z' });
    assert.equal(ajvValidate(future), true);
    assert.equal(validateReport(future, { now: NOW }).ok, false);
    const surrogate = validReport({ words: ['\ud800'] });
    assert.equal(ajvValidate(surrogate), true);
    assert.equal(validateReport(surrogate, { now: NOW }).ok, false);
  });
});
