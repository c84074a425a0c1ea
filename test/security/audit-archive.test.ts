/**
 * The audit log's copy in the lake (src/security/audit-archive.ts): exactly once across repeated runs and crashes,
 * every entry readable by an independent Parquet reader, and the chain verified from the lake alone. One suite, run
 * on a local lake and on Ceph RGW (skipped without Ceph, like the other S3 suites).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { isDwError } from '../../src/errors/index.ts';
import { listAll, LocalObjectStore, openObjectStore, type ObjectStore, type PutOptions } from '../../src/objectstore/index.ts';
import {
  archiveAuditLog, AuditDuck, AuditLog, verifyArchivedAudit, AUDIT_LAKE_PREFIX, type AuditRecord,
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

/** Every row of every audit file, read by hyparquet (not DuckDB), with its key. */
async function lakeRows(store: ObjectStore): Promise<{ key: string; row: Record<string, unknown> }[]> {
  const out: { key: string; row: Record<string, unknown> }[] = [];
  for (const o of (await listAll(store, AUDIT_LAKE_PREFIX)).objects) {
    const { rows } = await readParquet(arrayBufferOf((await store.get(o.key))!));
    for (const r of rows) out.push({ key: o.key, row: fromParquet(r) as Record<string, unknown> });
  }
  return out;
}

/** The lake holds each entry of the log exactly once, every column as in audit.db, in its tenant's directory. */
async function assertExactlyOnce(store: ObjectStore, log: AuditLog, upTo: number): Promise<void> {
  const rows = await lakeRows(store);
  const seqs = rows.map((r) => r.row.seq as number).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: upTo }, (_, i) => i + 1), 'each entry exactly once');
  const bySeq = new Map(allEntries(log).map((e) => [e.seq, e]));
  for (const { key, row } of rows) {
    const e = bySeq.get(row.seq as number)!;
    assert.deepEqual(row, { seq: e.seq, at: e.at, actor: e.actor, tenant: e.tenant, action: e.action, target: e.target, details: e.detailsJson, ip: e.ip, prev_hash: e.prevHash, hash: e.hash }, `entry ${e.seq} verbatim`);
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

async function rewriteRow(store: ObjectStore, scratch: string, seq: number, change: (r: Record<string, unknown>) => void): Promise<void> {
  const key = (await lakeRows(store)).find((r) => r.row.seq === seq)!.key;
  const duck = await AuditDuck.open();
  try {
    const local = path.join(scratch, `orig-${seq}.parquet`);
    assert.ok(await store.getToFile(key, local), 'downloaded');
    const rows = await duck.readParquet([local]);
    for (const r of rows) if (r.seq === seq) change(r as unknown as Record<string, unknown>);
    const out = path.join(scratch, `tampered-${seq}.parquet`);
    await duck.writeParquet([rows], out, path.join(scratch, `tampered-${seq}.ndjson`));
    await store.putFile(key, out);
  } finally {
    duck.close();
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
      assert.deepEqual(first, { files: 9, entries: 25 }, 'three batches (10, 10, 5) of three tenants');
      await assertExactlyOnce(store, log, 25);
      const keys = (await listAll(store, '')).objects.map((x) => x.key);
      assert.deepEqual(await archiveAuditLog(log, store, { batchEntries: 10, scratchDir: o.scratch() }), { files: 0, entries: 0 }, 'nothing new');
      assert.deepEqual((await listAll(store, '')).objects.map((x) => x.key), keys, 'the second run wrote nothing');
      assert.ok(keys.includes('audit/tenant=paris/date=' + allEntries(log)[0]!.at.slice(0, 10) + '/audit-0000000000000001-0000000000000010.parquet'), `batch-range names: ${keys.join(' ')}`);
      assert.ok(keys.filter((k) => k.startsWith('_commits/')).length === 0, `decisions pruned once complete: ${keys.join(' ')}`);
      assert.ok(keys.filter((k) => k.startsWith('_checkpoints/audit/')).length <= 2, 'old checkpoints pruned');

      fill(log, 4, 25);
      assert.deepEqual(await archiveAuditLog(log, store, { batchEntries: 10, scratchDir: o.scratch() }), { files: 3, entries: 4 }, 'the new entries');
      await assertExactlyOnce(store, log, 29);
      const v = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      assert.deepEqual({ ok: v.ok, entries: v.entries, head: v.head }, { ok: true, entries: 29, head: log.lastHash }, JSON.stringify(v));
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
        const v0 = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
        assert.equal(v0.entries, 0, 'nothing is checkpointed: readers see no entry yet');
        assert.ok(v0.pendingFiles >= 1, `the crashed batch left files: ${JSON.stringify(v0)}`);
        fill(log, 5, 12); // the re-run must complete entries 1-12 as decided, then copy 13-17 as a new batch
        const r = await archiveAuditLog(log, store, { batchEntries: 100, scratchDir: o.scratch() });
        assert.equal(r.entries, 17, JSON.stringify(r));
        await assertExactlyOnce(store, log, 17);
        const keys = (await listAll(store, AUDIT_LAKE_PREFIX)).objects.map((x) => x.key);
        assert.ok(keys.every((k) => /audit-0000000000000001-0000000000000012|audit-0000000000000013-0000000000000017/.test(k)), `the decided range was kept: ${keys.join(' ')}`);
        const v = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
        assert.deepEqual({ ok: v.ok, entries: v.entries, pending: v.pendingFiles }, { ok: true, entries: 17, pending: 0 }, JSON.stringify(v));
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

  it('verification from the lake alone detects a changed row, a missing file; a foreign log is refused', async () => {
    const dir = tempDir('dw-audit-tamper-');
    const other = tempDir('dw-audit-other-');
    const store = await o.store();
    const log = AuditLog.open(dir.dir);
    try {
      fill(log, 9);
      await archiveAuditLog(log, store, { batchEntries: 5, scratchDir: o.scratch() });
      assert.equal((await verifyArchivedAudit(store, { scratchDir: o.scratch() })).ok, true, 'intact first');

      await rewriteRow(store, dir.dir, 7, (r) => { r.actor = 'someone-else'; });
      const changed = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      assert.deepEqual({ ok: changed.ok, firstBad: changed.firstBad }, { ok: false, firstBad: 7 }, JSON.stringify(changed));
      assert.match(changed.reason ?? '', /entry 7 was changed/, 'says what');

      // A log that is not this chain (another data directory) must not be mixed into the same lake.
      const foreign = AuditLog.open(other.dir);
      fill(foreign, 12);
      await assert.rejects(archiveAuditLog(foreign, store, { scratchDir: o.scratch() }), (e) => isDwError(e) && e.code === 'DW_AUDIT_LAKE_MISMATCH', 'foreign log refused');
      foreign.close();

      const victim = (await lakeRows(store)).find((r) => r.row.seq === 2)!.key;
      await store.delete(victim);
      const missing = await verifyArchivedAudit(store, { scratchDir: o.scratch() });
      assert.equal(missing.ok, false, 'a deleted file breaks the chain');
      assert.ok(missing.firstBad !== undefined && missing.firstBad <= 2, JSON.stringify(missing));
    } finally {
      log.close();
      dir.cleanup();
      other.cleanup();
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
