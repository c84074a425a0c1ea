import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

it('documents every error code in docs/errors.md', () => {
  const source = readFileSync(new URL('../../src/errors/index.ts', import.meta.url), 'utf8');
  const union = source.slice(source.indexOf('export type ErrorCode'), source.indexOf(';', source.indexOf('export type ErrorCode')));
  const codes = [...union.matchAll(/'(DW_[A-Z_]+)'/g)].map((m) => m[1]!);
  assert.ok(codes.length >= 10);
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const missing = codes.filter((c) => !doc.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
});
