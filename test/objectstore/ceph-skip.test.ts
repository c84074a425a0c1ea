import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CEPH_INSTALL_HINT, cephOrSkip, missingCephBinaries, tempDir } from '../../src/testkit/index.ts';

describe('cephOrSkip', () => {
  const empty = tempDir('dw-no-ceph-');
  const savedPath = process.env.PATH;
  after(() => {
    process.env.PATH = savedPath;
    empty.cleanup();
  });

  it('skips with the install command when Ceph is missing, and fails instead under CI=true', () => {
    process.env.PATH = empty.dir; // a PATH where no Ceph program exists
    try {
      assert.ok(missingCephBinaries({ withMgr: true }).includes('radosgw'), 'radosgw reported missing');
      const skip = cephOrSkip({ env: {} });
      assert.equal(typeof skip, 'string');
      assert.ok(String(skip).includes(CEPH_INSTALL_HINT), `the skip message says how to install: ${String(skip)}`);
      assert.throws(() => cephOrSkip({ env: { CI: 'true' } }), /CI=true/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
