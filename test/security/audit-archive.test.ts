/**
 * The audit logs' copy in the lake (src/security/audit-archive.ts): exactly once across repeated runs and crashes,
 * every entry readable by an independent Parquet reader, each chain verified from the lake alone, and the logs of
 * several hosts side by side in one lake. One suite, run on a local lake and on Ceph RGW (skipped without Ceph, like
 * the other S3 suites).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { isDwError } from '../../src/errors/index.ts';
import { listAll, LocalObjectStore, openObjectStore, type ObjectStore, type PutOptions } from '../../src/objectstore/index.ts';
import {
  archiveAuditLog, AuditDuck, AuditLog, verifyArchivedAudit, AUDIT_LAKE_PREFIX, AUDIT_GENESIS, auditEntryHash, parseAuditDataKey,
  type ArchivedAuditVerification, type ArchivedLogVerification, type AuditRecord,
} from '../../src/security/index.ts';
import { cephOrSkip, startCeph, tempDir, type CephCluster } from '../../src/testkit/index.ts';
import { arrayBufferOf, fromParquet, readParquet } from '../analysis/helpers.ts';

const TENANTS = ['paris', 'lyon', '-'];

function fill(log: AuditLog, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    log.append({ actor: `officer${i % 4}`, tenant: TENANTS[i % TENANTS.length]!, action: i % 2 ? 'query.run' : 'alert.read', target: `a-${i}`, details: { sql: `SELECT ${i}`, note: 'l\'été "quoted"\nline' }, ip: i % 5 ? '10.0.0.1' : null });
  }
}

function allEntries(log: AuditLog): AuditRecord[] {
  return log.scan({ limit: 1_000_000 });
}

/** Every row of every audit file (of `logId`, or of any log), read by hyparquet (not DuckDB), with its key. */
async function lakeRows(store: ObjectStore, logId?: string): Promise<{ key: string; row: Record<string, unknown> }[]> {
  const out: { key: string; row: Record<string, unknown> }[] = [];
  for (const o of (await listAll(store, AUDIT_LAKE_PREFIX)).objects) {
    const parsed = parseAuditDataKey(o.key);
    if (!parsed || (logId !== undefined && parsed.logId !== logId)) continue;
    const { rows } = await readParquet(arrayBufferOf((await store.get(o.key))!));
    for (const r of rows) out.push({ key: o.key, row: fromParquet(r) as Record<string, unknown> });
  }
  return out;
}

/** The lake holds each entry of the log exactly once, every column as in audit.db, in its tenant's directory. */
async function assertExactlyOnce(store: ObjectStore, log: AuditLog, upTo: number): Promise<void> {
  const rows = await lakeRows(store, log.logId);
  const seqs = rows.map((r) => r.row.seq as number).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: upTo }, (_, i) => i + 1), 'each entry exactly once');
  const bySeq = new Map(allEntries(log).map((e) => [e.seq, e]));
  for (const { key, row } of rows) {
    const e = bySeq.get(row.seq as number)!;
    assert.deepEqual(row, { seq: e.seq, at: e.at, actor: e.actor, tenant: e.tenant, action: e.action, target: e.target, details: e.detailsJson, ip: e.ip, prev_hash: e.prevHash, hash: e.hash, log_id: log.logId }, `entry ${e.seq} verbatim`);
    assert.ok(key.endsWith(`.parquet`) && key.includes(`/audit-${log.logId}-`), `${key}: named by its log`);
    assert.ok(key.includes(`/date=${e.at.slice(0, 10)}/`), `${key}: partitioned by day`);
    assert.ok(key.startsWith(`audit/tenant=${e.tenant === '-' ? '-' : e.tenant}/`), `${key}: under its tenant ${e.tenant}`);
  }
}

/** A real store that "crashes" (throws) on the n-th put matching `when`: what a kill -9 at that point leaves behind. */
function crashingStore(inner: ObjectStore, when: (key: string) => boolean, nth = 1): ObjectStore {
  let seen = 0;
  const crash = (key: string): void => {
    if (when(key) && ++seen === nth) throw new Error(`simulated crash before ${key}`);
  };
  return Object.assign(Object.create(inner) as ObjectStore, {
    put: (key: string, data: string | Uint8Array, opts?: PutOptions) => { crash(key); return inner.put(key, data, opts); },
    putFile: (key: string, file: string, opts?: PutOptions) => { crash(key); return inner.putFile(key, file, opts); },
  });
}

/** Rewrites the lake file holding entry `seq` of log `logId`, with that row changed by `change` (log_id kept). */
async function rewriteRow(store: ObjectStore, scratch: string, logId: string, seq: number, change: (r: Record<string, unknown>) => void): Promise<void> {
  const key = (await lakeRows(store, logId)).find((r) => r.row.seq === seq)!.key;
  const duck = await AuditDuck.open();
  try {
    const local = path.join(scratch, `orig-${logId}-${seq}.parquet`);
    assert.ok(await store.getToFile(key, local), 'downloaded');
    const rows = await duck.readParquet([local]);
    for (const r of rows) if (r.seq === seq) change(r as unknown as Record<string, unknown>);
    const out = path.join(scratch, `tampered-${logId}-${seq}.parquet`);
    await duck.writeParquet([rows], out, path.join(scratch, `tampered-${logId}-${seq}.ndjson`), 3, { logId });
    await store.putFile(key, out);
  } finally {
    duck.close();
  }
}

/** The verification of the only log in the lake. */
function only(v: ArchivedAuditVerification): ArchivedLogVerification & { all: boolean } {
  assert.equal(v.logs.length, 1, `one log in the lake: ${JSON.stringify(v)}`);
  return { ...v.logs[0]!, all: v.ok };
}

/** Rewrites audit.db from entry `seq` on with fresh, consistent hashes, as an insider with write access could. */
function rewriteLocal(dir: string, seq: number): void {
  const db = new Database(path.join(dir, 'audit.db'));
  try {
    db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = ?").run(seq);
    const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as { seq: number; at: string; actor: string; tenant: string; action: string; target: string | null; details: string; ip: string | null }[];
    let prev = AUDIT_GENESIS;
    for (const r of rows) {
      const hash = auditEntryHash(prev, r, r.details);
      db.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
    }
  } finally {
    db.close();
  }
}

function suite(o: { store: () => Promise<ObjectStore> | ObjectStore; scratch: () => string }): void {
  it('copies every entry once, batch by batch, per tenant and day; a second run copies nothing; new entries follow', async () => {
    const dir = tempDir('dw-audit-archive-');
    const store = await o.store();
    const log = AuditLog.open(dir.dir);
    try {
      fill(log, 25);
      const first = await archiveAuditLog(log, store, { batchEntries: 10, scratchDir: o.scratch() });
      assert.ok(log.logId !== undefined && /^[0-9a-f]{16}$/.test(log.logId), `a log id: ${log.logId}`);
      assert.deepEqual(first, { logId: log.logId, files: 9, entries: 25 }, 'three batches (10, 10, 5) of three tenants');
      await assertExactlyOnce(store, log, 25);
      const keys = (await listAll(store, '')).objects.map((x) => x.key);
      assert.deepEqual(await archiveAuditLog(log, store, { batchEntries: 10, scratchDir: o.scratch() }), { logId: log.logId, files: 0, entries: 0 }, 'nothing new');
      assert.deepEqual((await listAll(store, '')).objects.map((x) => x.key), keys, 'the second run wrote nothing');
      assert.ok(keys.includes('audit/tenant=paris/date=' + allEntries(log)[0]!.at.slice(0, 10) + `/audit-${log.logId}-0000000000000001-0000000000000010.parquet`), `batch-range names: ${keys.join(' ')}`);
      assert.ok(keys.filter((k) => k.startsWith('_commits/')).length === 0, `decisions pruned once complete: ${keys.join(' ')}`);
      assert.ok(keys.filter((k) => k.startsWith('_checkpoints/audit/')).length <= 2, 'old checkpoints pruned');

      fill(log, 4, 25);
      assert.deepEqual(await archiveAuditLog(log, store, { batchEntries: 10, scratchDir: o.scratch() }), { logId: log.logId, files: 3, entries: 4 }, 'the new entries');
      await assertExactlyOnce(store, log, 29);
      const v = only(await verifyArchivedAudit(store, { scratchDir: o.scratch() }));
      assert.deepEqual({ ok: v.all, logId: v.logId, entries: v.entries, head: v.head }, { ok: true, logId: log.logId, entries: 29, head: log.lastHash }, JSON.stringify(v));
    } finally {
      log.close();
      dir.cleanup();
    }
  });

  for (const [where, when, nth] of [
    ['between the files and the checkpoint', (k: string) => k.startsWith('_checkpoints/audit/'), 1],
    ['between two files of a batch', (k: string) => k.startsWith(AUDIT_LAKE_PREFIX), 2],
  ] as const) {
    it(`a crash ${where}, entries appended meanwhile, then a re-run: exactly once`, async () => {
      const dir = tempDir('dw-audit-crash-');
      const store = await o.store();
      const log = AuditLog.open(dir.dir);
      try {
        fill(log, 12);
        await assert.rejects(archiveAuditLog(log, crashingStore(store, when, nth), { batchEntries: 100, scratchDir: o.scratch() }), /simulated crash/);
        const v0 = only(await verifyArchivedAudit(store, { scratchDir: o.scratch() }));
        assert.equal(v0.entries, 0, 'nothing is checkpointed: readers see no entry yet');
        assert.ok(v0.pendingFiles >= 1, `the crashed batch left files: ${JSON.stringify(v0)}`);
        fill(log, 5, 12); // the re-run must complete entries 1-12 as decided, then copy 13-17 as a new batch
        const r = await archiveAuditLog(log, store, { batchEntries: 100, scratchDir: o.scratch() });
        assert.equal(r.entries, 17, JSON.stringify(r));
        await assertExactlyOnce(store, log, 17);
        const keys = (await listAll(store, AUDIT_LAKE_PREFIX)).objects.map((x) => x.key);
        assert.ok(keys.every((k) => /-0000000000000001-0000000000000012\.parquet$|-0000000000000013-0000000000000017\.parquet$/.test(k)), `the decided range was kept: ${keys.join(' ')}`);
        const v = only(await verifyArchivedAudit(store, { scratchDir: o.scratch() }));
        assert.deepEqual({ ok: v.all, entries: v.entries, pending: v.pendingFiles }, { ok: true, entries: 17, pending: 0 }, JSON.stringify(v));
      } finally {
        log.close();
        dir.cleanup();
      }
    });
  }

  it('three archivers racing on one log and lake copy every entry exactly once between them', async () => {
    const dir = tempDir('dw-audit-race-');
    const store = await o.store();
    const log = AuditLog.open(dir.dir);
    try {
      fill(log, 30);
      const runs = await Promise.all([1, 2, 3].map(() => archiveAuditLog(log, store, { batchEntries: 7, scratchDir: o.scratch() })));
      assert.equal(runs.reduce((n, r) => n + r.entries, 0), 30, `each batch completed once: ${JSON.stringify(runs)}`);
      await assertExactlyOnce(store, log, 30);
      assert.equal((await verifyArchivedAudit(store, { scratchDir: o.scratch() })).ok, true, 'verifies');
    } finally {
      log.close();
      dir.cleanup();
    }
  });

  it('verification from the lake alone detects a changed row, a missing file; a local log rewritten after the copy is refused', async () => {
    const dir = tempDir('dw-audit-tamper-');
    const store = await o.store();
    let log = AuditLog.open(dir.dir);
    try {
      fill(log, 9);
      const id = log.logId!;
      await archiveAuditLog(log, store, { batchEntries: 5, scratchDir: o.scratch() });
      assert.equal((await verifyArchivedAudit(store, { scratchDir: o.scratch() })).ok, true, 'intact first');

      await rewriteRow(store, dir.dir, id, 7, (r) => { r.actor = 'someone-else'; });
      const changed = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      assert.deepEqual({ ok: changed.ok, firstBad: only(changed).firstBad }, { ok: false, firstBad: 7 }, JSON.stringify(changed));
      assert.match(changed.reason ?? '', new RegExp(`audit log ${id}: entry 7 was changed`), 'says which log and what');

      // Same entry 1, so the same log id: the local chain must go on from what the lake holds under that id.
      log.close();
      rewriteLocal(dir.dir, 3);
      log = AuditLog.open(dir.dir);
      assert.equal(log.logId, id, 'entry 1 untouched: same log');
      fill(log, 2, 9);
      await assert.rejects(archiveAuditLog(log, store, { scratchDir: o.scratch() }), (e) => isDwError(e) && e.code === 'DW_AUDIT_LAKE_MISMATCH' && e.message.includes(id), 'rewritten local log refused');

      const victim = (await lakeRows(store, id)).find((r) => r.row.seq === 2)!.key;
      await store.delete(victim);
      const missing = only(await verifyArchivedAudit(store, { scratchDir: o.scratch() }));
      assert.equal(missing.ok, false, 'a deleted file breaks the chain');
      assert.ok(missing.firstBad !== undefined && missing.firstBad <= 2, JSON.stringify(missing));
    } finally {
      log.close();
      dir.cleanup();
    }
  });

  it('holds the logs of two hosts side by side: both copied, both verify, a tampered row or a foreign entry is reported for its log only', async () => {
    const dirs = [tempDir('dw-audit-host-a-'), tempDir('dw-audit-host-b-'), tempDir('dw-audit-host-empty-')];
    const store = await o.store();
    const [a, b, empty] = dirs.map((d) => AuditLog.open(d.dir)) as [AuditLog, AuditLog, AuditLog];
    try {
      fill(a, 13);
      fill(b, 8);
      assert.ok(a.logId !== undefined && b.logId !== undefined && a.logId !== b.logId, `two ids: ${a.logId} ${b.logId}`);
      // A key of the first layout (no log id) left in the lake is ignored by both the copy and the verification.
      const legacy = 'audit/tenant=paris/date=2026-01-01/audit-0000000000000001-0000000000000005.parquet';
      await store.put(legacy, 'not parquet');
      await store.put('_checkpoints/audit/0000000000000005.json', JSON.stringify({ lastSeq: 5, hash: 'x' }));

      // The two hosts copy at the same time, each its own log; an empty log has no id and copies nothing.
      const [ra, rb, re] = await Promise.all([a, b, empty].map((log) => archiveAuditLog(log, store, { batchEntries: 5, scratchDir: o.scratch() })));
      assert.deepEqual([ra, rb, re], [{ logId: a.logId, files: 9, entries: 13 }, { logId: b.logId, files: 6, entries: 8 }, { logId: undefined, files: 0, entries: 0 }], 'each log copied whole');
      await assertExactlyOnce(store, a, 13);
      await assertExactlyOnce(store, b, 8);
      fill(a, 2, 13);
      assert.equal((await archiveAuditLog(a, store, { batchEntries: 5, scratchDir: o.scratch() })).entries, 2, 'a goes on from its own checkpoint');

      const v = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      const summary = (x: ArchivedAuditVerification): unknown => x.logs.map((l) => [l.logId, l.ok, l.entries, l.head]);
      const byId = [[a.logId, true, 15, a.lastHash], [b.logId, true, 8, b.lastHash]].sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      assert.deepEqual({ ok: v.ok, logs: summary(v), ignored: v.ignoredFiles }, { ok: true, logs: byId, ignored: 1 }, JSON.stringify(v));

      await rewriteRow(store, dirs[0]!.dir, b.logId!, 6, (r) => { r.target = 'another-alert'; });
      const tampered = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      const state = (x: ArchivedAuditVerification, id: string): unknown => { const l = x.logs.find((y) => y.logId === id)!; return [l.ok, l.firstBad]; };
      assert.equal(tampered.ok, false, 'not ok as a whole');
      assert.deepEqual([state(tampered, a.logId!), state(tampered, b.logId!)], [[true, undefined], [false, 6]], JSON.stringify(tampered));
      assert.match(tampered.reason ?? '', new RegExp(`^audit log ${b.logId}: entry 6 was changed`), 'the reason names the log');

      // Entry 4 of b put in place of a's entry 4 (a valid entry of another chain): a foreign entry in a.
      const foreign = (await lakeRows(store, b.logId)).find((r) => r.row.seq === 4)!.row;
      await rewriteRow(store, dirs[0]!.dir, a.logId!, 4, (r) => { Object.assign(r, foreign); });
      const mixed = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      assert.deepEqual([state(mixed, a.logId!), state(mixed, b.logId!)], [[false, 4], [false, 6]], JSON.stringify(mixed));
      // The file's log_id column is a's (one value per file), so the chain link is what gives it away.
      assert.match(mixed.reason ?? '', new RegExp(`audit log ${a.logId}: entry 4 does not link to entry 3`), 'foreign entry reported for a');
    } finally {
      for (const log of [a, b, empty]) log.close();
      for (const d of dirs) d.cleanup();
    }
  });
}

describe('audit log copy in the lake', () => {
  const tmp = tempDir('dw-audit-lake-');
  let n = 0;
  after(() => tmp.cleanup());

  describe('on a local lake', () => {
    suite({ store: () => new LocalObjectStore(path.join(tmp.dir, `lake-${++n}`)), scratch: () => path.join(tmp.dir, 'scratch') });

    it('refuses to copy a tampered audit.db (only a sound chain goes to the lake)', async () => {
      const dir = tempDir('dw-audit-bad-');
      const store = new LocalObjectStore(path.join(tmp.dir, `lake-${++n}`));
      try {
        const log = AuditLog.open(dir.dir);
        fill(log, 6);
        log.close();
        const db = new Database(path.join(dir.dir, 'audit.db'));
        db.exec("UPDATE audit SET actor = 'mallory' WHERE seq = 4");
        db.close();
        const again = AuditLog.open(dir.dir);
        try {
          await assert.rejects(archiveAuditLog(again, store, { scratchDir: path.join(tmp.dir, 'scratch') }), (e) => isDwError(e) && e.code === 'DW_AUDIT_CHAIN_BROKEN' && /entry 4/.test(e.message), 'refused at entry 4');
          assert.equal((await listAll(store, AUDIT_LAKE_PREFIX)).objects.length, 0, 'nothing copied');
        } finally {
          again.close();
        }
      } finally {
        dir.cleanup();
      }
    });
  });

  describe('on Ceph RGW', { skip: cephOrSkip() }, () => {
    let ceph: CephCluster;
    let bucket: string;
    const stores: ObjectStore[] = [];
    before(async () => {
      ceph = await startCeph();
      bucket = await ceph.createBucket();
      for (const [k, v] of Object.entries(ceph.env)) process.env[k] = v;
    }, { timeout: 90_000 });
    after(async () => {
      for (const s of stores) await s.close();
      await ceph?.stop();
    }, { timeout: 60_000 });

    suite({
      store: () => {
        const s = openObjectStore(`s3://${bucket}/audit-${++n}`);
        stores.push(s);
        return s;
      },
      scratch: () => path.join(tmp.dir, 'scratch'),
    });
  });
});
