import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { MAX_NESTING_DEPTH, parseJsonArray, parseJsonText, parseReport } from '../../src/contract/index.ts';
import { Ingestor, deadLetterRaw, listDeadLetters } from '../../src/ingest/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { NOW, validReport } from '../contract/fixtures.ts';
import { openTestStream, storedReports } from './helpers.ts';

/** Regression: a body nested 20,000 levels deep answered 500 (stack overflow in JSON.stringify) and lost the request. */

const arrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const objects = (depth: number, key = 'a'): string => `${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}`;
const path = (depth: number, step: string): string => Array.from({ length: depth }, () => step).join('');

describe('deep nesting answers 500 and loses the request', () => {
  let stream: Stream;
  let cleanup: (() => Promise<void>) | undefined;
  let ingestor: Ingestor;
  beforeEach(async () => {
    if (cleanup) await cleanup();
    ({ stream, cleanup } = await openTestStream());
    ingestor = new Ingestor({ stream, tenant: 't1', now: () => NOW });
  });
  after(async () => cleanup?.());

  it('an array body: the valid reports are published, each element too deep is refused with its path and kept exactly', async () => {
    const deepArrays = arrays(20_000);
    const deepObjects = objects(20_000);
    const ok1 = JSON.stringify(validReport({ droneId: 'd-1' }));
    const ok2 = JSON.stringify(validReport({ droneId: 'd-2' }));
    const body = `[ ${ok1},\n${deepArrays} , ${deepObjects},${ok2}]`;
    const res = await ingestor.ingestRaw(body, 'json', 'test');
    assert.deepEqual(res.accepted.map((a) => a.index), [0, 3]);
    assert.deepEqual(res.rejected, [
      { index: 1, code: 'DW_INGEST_TOO_DEEP', errors: [{ field: path(MAX_NESTING_DEPTH, '[0]'), reason: `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep` }] },
      { index: 2, code: 'DW_INGEST_TOO_DEEP', errors: [{ field: Array.from({ length: MAX_NESTING_DEPTH }, () => 'a').join('.'), reason: `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep` }] },
    ]);
    assert.deepEqual((await storedReports(stream)).map((s) => s.report.droneId).sort(), ['d-1', 'd-2']);
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.deepEqual(letters.map((l) => [l.index, l.code]), [[1, 'DW_INGEST_TOO_DEEP'], [2, 'DW_INGEST_TOO_DEEP']]);
    assert.equal(deadLetterRaw(letters[0]!).toString('utf8'), deepArrays, 'the element exactly as sent');
    assert.equal(deadLetterRaw(letters[1]!).toString('utf8'), deepObjects);
    assert.equal(letters[0]!.truncated, false);
    // The path in the error is bounded by the limit, not by the input.
    assert.ok(letters[0]!.reason.length < 200, letters[0]!.reason);

    // A retry of the same body: the reports are duplicates, the deep ones refused again; never a 500.
    const again = await ingestor.ingestRaw(body, 'json', 'test');
    assert.deepEqual(again.accepted.map((a) => a.duplicate), [true, true]);
    assert.deepEqual(again.rejected.map((r) => r.code), ['DW_INGEST_TOO_DEEP', 'DW_INGEST_TOO_DEEP']);
  });

  it('a single report and an NDJSON line too deep are refused before parsing, naming the field', async () => {
    const deepWords = JSON.stringify(validReport({ droneId: 'n-1' })).replace('"words":[', `"words":[${arrays(40)},`);
    const res = await ingestor.ingestRaw(deepWords, 'json', 'test');
    assert.deepEqual(res.rejected, [{ index: 0, code: 'DW_INGEST_TOO_DEEP', errors: [{ field: `words[0]${path(MAX_NESTING_DEPTH - 2, '[0]')}`, reason: `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep` }] }]);
    const ok = JSON.stringify(validReport({ droneId: 'n-2' }));
    // A key with an escaped quote (`k"x` in JSON as "k\"x") is named decoded.
    const escapedKey = objects(5000, 'k\\"x');
    const lines = [ok, escapedKey, deepWords].join('\n');
    const nd = await ingestor.ingestRaw(lines, 'ndjson', 'test');
    assert.deepEqual(nd.accepted.map((a) => a.index), [0]);
    assert.deepEqual(nd.rejected.map((r) => [r.index, r.code, r.errors[0]!.field]), [
      [1, 'DW_INGEST_TOO_DEEP', Array.from({ length: MAX_NESTING_DEPTH }, () => 'k"x').join('.')],
      [2, 'DW_INGEST_TOO_DEEP', `words[0]${path(MAX_NESTING_DEPTH - 2, '[0]')}`],
    ]);
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(deadLetterRaw(letters[1]!).toString('utf8'), escapedKey, 'the NDJSON line exactly');
  });

  it('counts levels, not characters: brackets in strings, escaped quotes, and a report at the limit', () => {
    // At the limit: parsed, then judged by the validator; one more level: refused.
    assert.deepEqual(parseJsonText(arrays(MAX_NESTING_DEPTH)), JSON.parse(arrays(MAX_NESTING_DEPTH)));
    assert.throws(() => parseJsonText(arrays(MAX_NESTING_DEPTH + 1)), (e: Error & { code?: string }) => e.code === 'DW_INGEST_TOO_DEEP');
    const tricky = `{"w":"${'['.repeat(100)}\\"${'{'.repeat(100)}","x\\\\":["]]]]"]}`;
    assert.deepEqual(parseJsonText(tricky), JSON.parse(tricky), 'brackets inside strings do not count');
    // An array body's own brackets do not count: its elements may nest up to the limit each.
    const body = `[${arrays(MAX_NESTING_DEPTH)},${arrays(MAX_NESTING_DEPTH + 1)},${arrays(MAX_NESTING_DEPTH)}]`;
    const parsed = parseJsonArray(body);
    assert.deepEqual(parsed.refused.map((r) => [r.index, r.text]), [[1, arrays(MAX_NESTING_DEPTH + 1)]]);
    assert.equal(parsed.items.length, 3);
    assert.deepEqual(parsed.items[0], JSON.parse(arrays(MAX_NESTING_DEPTH)));
    assert.throws(() => parseReport(objects(MAX_NESTING_DEPTH + 1)), (e: Error & { code?: string }) => e.code === 'DW_INGEST_TOO_DEEP');
  });

  it('a body that is not JSON stays one malformed dead letter, even with an element too deep', async () => {
    const body = `[${JSON.stringify(validReport())}, ${arrays(1000)}, {"droneId": ]`;
    const res = await ingestor.ingestRaw(body, 'json', 'test');
    assert.deepEqual(res.accepted, []);
    assert.deepEqual(res.rejected.map((r) => [r.index, r.code]), [[0, 'DW_INGEST_MALFORMED']]);
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(deadLetterRaw(letters[0]!).toString('utf8'), body, 'the whole body');
    const unclosed = await ingestor.ingestRaw(`[${'['.repeat(1000)}`, 'json', 'test');
    assert.deepEqual(unclosed.rejected.map((r) => r.code), ['DW_INGEST_MALFORMED']);
  });
});
