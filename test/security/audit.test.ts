import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { AuditLog } from '../../src/security/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

describe('audit log', () => {
  const tmp = tempDir('dw-audit-');
  after(() => tmp.cleanup());

  it('appends a hash chain that verifies, across reopen and two writers', () => {
    const a = AuditLog.open(tmp.dir);
    const b = AuditLog.open(tmp.dir);
    a.append({ actor: 'alice', tenant: 'paris', action: 'alert.read', target: 'a-1', ip: '10.0.0.1' });
    b.append({ actor: 'bob', tenant: 'paris', action: 'query.run', details: { sql: 'SELECT 1', rows: 1 } });
    a.append({ actor: 'alice', tenant: 'paris', action: 'alert.acknowledge', target: 'a-1' });
    b.close();
    a.close();
    const c = AuditLog.open(tmp.dir);
    const v = c.verify();
    assert.deepEqual({ ok: v.ok, entries: v.entries }, { ok: true, entries: 3 }, JSON.stringify(v));
    const listed = c.list({ actor: 'bob' });
    assert.equal(listed.length, 1, 'filter by actor');
    assert.deepEqual(listed[0]!.details, { sql: 'SELECT 1', rows: 1 }, 'details kept');
    assert.equal(c.list().map((e) => e.seq).join(','), '3,2,1', 'newest first');
    assert.equal(c.lastHash, v.head, 'head');
    c.close();
  });

  for (const [what, tamper] of [
    ['a changed detail', "UPDATE audit SET details = '{\"sql\":\"SELECT 99\",\"rows\":1}' WHERE seq = 2"],
    ['a changed actor', "UPDATE audit SET actor = 'mallory' WHERE seq = 1"],
    ['a removed entry', 'DELETE FROM audit WHERE seq = 2'],
  ] as const) {
    it(`detects ${what}`, () => {
      const dir = tempDir('dw-audit-tamper-');
      try {
        const log = AuditLog.open(dir.dir);
        for (let i = 0; i < 3; i++) log.append({ actor: `u${i}`, tenant: 't', action: 'query.run', details: { sql: `SELECT ${i + 1}`, rows: 1 } });
        log.close();
        const db = new Database(path.join(dir.dir, 'audit.db'));
        db.exec(tamper);
        db.close();
        const again = AuditLog.open(dir.dir);
        const v = again.verify();
        again.close();
        assert.equal(v.ok, false, `${what} must break the chain`);
        assert.ok(v.firstBad !== undefined && v.firstBad <= 3, `first bad entry ${v.firstBad}`);
      } finally {
        dir.cleanup();
      }
    });
  }
});
