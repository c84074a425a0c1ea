import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { hashPassword, verifyPassword } from '../../src/security/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { bootstrapRace, credentialStoreConformance, FAST, type CredentialBackend } from './credentials-suite.ts';
import { SecurityStore } from '../../src/backend/index.ts';

describe('passwords', () => {
  it('hashes with scrypt at OWASP parameters by default and verifies in constant time', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^scrypt\$17\$8\$1\$[\w-]{22}\$[\w-]{43}$/, h);
    assert.equal(await verifyPassword('correct horse battery staple', h), true, 'right password');
    assert.equal(await verifyPassword('correct horse battery stapl', h), false, 'wrong password');
    assert.notEqual(await hashPassword('same', FAST), await hashPassword('same', FAST), 'salted');
    assert.equal(await verifyPassword('x', 'md5$abc'), false, 'malformed hash');
  });
});

/** SQLite stores sharing one `security.dir`, as processes of one host do. */
async function sqliteBackend(): Promise<CredentialBackend> {
  const tmp = tempDir('dw-security-');
  return {
    open: async () => SecurityStore.open(tmp.dir, { scrypt: FAST }),
    // Every file of the directory (the database, its WAL): a secret must be in none of them.
    rawBytes: () => readdirSync(tmp.dir).map((f) => readFileSync(path.join(tmp.dir, f)).toString('latin1')).join(''),
    cleanup: async () => tmp.cleanup(),
  };
}

credentialStoreConformance('sqlite', sqliteBackend);
bootstrapRace('sqlite', sqliteBackend);
