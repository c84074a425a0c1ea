/** Helpers of the stream conformance suite: they use only the Stream interface. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { OutgoingRecord, StreamConsumer, StreamRecord } from '../../src/stream/index.ts';

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function rec(key: string, text: string, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return { key, value: enc.encode(text), ...extra };
}

export function text(r: StreamRecord): string {
  return dec.decode(r.value);
}

export function pos(r: { partition: number; offset: number }): string {
  return `${r.partition}:${r.offset}`;
}

export async function expectCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, code, `${what}: expected ${code}, got ${String(e)}`);
    return true;
  });
}

/** Polls (and commits) until `want` records arrived or the deadline passed. */
export async function drain(c: StreamConsumer, want: number, opts: { commit?: boolean; maxMs?: number; maxRecords?: number } = {}): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  const deadline = Date.now() + (opts.maxMs ?? 10_000);
  while (out.length < want && Date.now() < deadline) {
    const got = await c.poll({ waitMs: 50, maxRecords: opts.maxRecords ?? 100 });
    out.push(...got);
    if ((opts.commit ?? true) && got.length > 0) await c.commit(got);
  }
  return out;
}

/** Polls both members (committing) until `want` records arrived in total; returns what each received. */
export async function drainPair(a: StreamConsumer, b: StreamConsumer, want: number, maxMs = 10_000): Promise<[StreamRecord[], StreamRecord[]]> {
  const got: [StreamRecord[], StreamRecord[]] = [[], []];
  const deadline = Date.now() + maxMs;
  while (got[0].length + got[1].length < want && Date.now() < deadline) {
    for (const [i, c] of [a, b].entries()) {
      const recs = await c.poll({ waitMs: 20, maxRecords: 50 });
      got[i]!.push(...recs);
      if (recs.length > 0) await c.commit(recs);
    }
  }
  return got;
}

/** Polls both members without records until the predicate on their assignments holds (rebalancing takes polls). */
export async function settle(members: StreamConsumer[], ok: () => boolean, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`assignments did not settle: ${members.map((m) => JSON.stringify(m.assignment())).join(' ')}`);
    for (const m of members) {
      const got = await m.poll({ waitMs: 10 });
      assert.equal(got.length, 0, 'no records were published yet');
    }
  }
}

export function assertIncreasingPerPartition(records: StreamRecord[]): void {
  const last = new Map<number, number>();
  for (const r of records) {
    const prev = last.get(r.partition);
    if (prev !== undefined) assert.ok(r.offset > prev, `partition ${r.partition}: offset ${r.offset} after ${prev}`);
    last.set(r.partition, r.offset);
  }
}
