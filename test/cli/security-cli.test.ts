/**
 * `dronewatch tenants | users | drones | audit` run as a user would (child processes on one data directory), checked
 * against the stores they write (SecurityStore, AuditLog) and an independent Parquet reader. Each CLI run costs ~2 s
 * of CPU and each password a 0.3 s scrypt, so independent runs go in parallel and passwords are few.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, auditEntryHash, AUDIT_GENESIS, type AuditRecord } from '../../src/security/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { fromParquet, parseCsv, readParquet } from '../analysis/helpers.ts';
import { BIN, type CliResult } from './helpers.ts';
import { SecurityStore } from '../../src/backend/index.ts';

describe('dronewatch tenants, users, drones and audit (issue 7)', () => {
  const tmp = tempDir('dw-security-cli-');
  const data = path.join(tmp.dir, 'data');
  const out = path.join(tmp.dir, 'out');
  const actor = `cli:${os.userInfo().username}`;

  /** The real CLI in a child process, with `input` on its stdin. */
  const cli = (args: string[], input = ''): Promise<CliResult> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--data', data, ...args], { env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
  const ok = (r: CliResult, what: string): CliResult => {
    assert.equal(r.code, 0, `${what}: exit ${r.code}; stderr: ${r.stderr}`);
    return r;
  };
  /** One line `error: ... [code]` on stderr, no stack, the given exit status. */
  const refused = (r: CliResult, code: string, re: RegExp, status = 2): void => {
    assert.equal(r.code, status, `exit ${status}; stderr: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^error: .*\\[${code}\\]\\n$`), `one error line with ${code}: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, re, 'says what is wrong');
  };
  const withStore = <T>(fn: (s: SecurityStore) => T | Promise<T>): Promise<T> => {
    const s = SecurityStore.open(data);
    return Promise.resolve(fn(s)).finally(() => s.close());
  };
  const entries = (): AuditRecord[] => {
    const log = AuditLog.open(data);
    try {
      return log.scan({ limit: 100_000 });
    } finally {
      log.close();
    }
  };
  const passwordFile = path.join(tmp.dir, 'alice.pw');
  const filePassword = 'a new password for alice';
  const bobPassword = 'correct horse battery staple';
  let aliceToken = '';

  before(async () => {
    writeFileSync(passwordFile, `${filePassword}\n`);
    // A second tenant, made in-process: one CLI run less (creating tenants through the CLI is checked with paris).
    await withStore((s) => s.createTenant('lyon'));
  });
  after(() => tmp.cleanup());

  it('creates a tenant, users with a generated password and one from stdin; refuses a bad role in one line', async () => {
    ok(await cli(['tenants', 'create', 'paris', '--name', 'Préfecture de police']), 'tenants create');
    const [alice, bob, badRole] = await Promise.all([
      cli(['users', 'create', 'alice', '--tenant', 'paris', '--role', 'officer', '--role', 'supervisor']),
      cli(['users', 'create', 'bob', '--tenant', 'lyon', '--role', 'analyst', '--password-stdin'], `${bobPassword}\n`),
      cli(['users', 'create', 'dave', '--tenant', 'paris', '--role', 'chief']),
    ]);
    ok(alice, 'alice');
    const generated = alice.stdout.trim();
    assert.match(alice.stdout, /^[A-Za-z0-9]{20}\n$/, `only the generated password on stdout: ${JSON.stringify(alice.stdout)}`);
    assert.match(alice.stderr, /created user alice .*generated password printed once/, 'stderr says a password was generated');
    assert.match(ok(bob, 'bob').stdout, /^created user bob \(tenant lyon, roles analyst\)\n$/, 'confirmation');
    refused(badRole, 'DW_CONFIG_INVALID', /--role chief: not a role; use officer, analyst, supervisor, admin/);
    await withStore(async (s) => {
      assert.deepEqual(s.getTenant('paris')?.name, 'Préfecture de police', 'tenant created with its name');
      const [a, b, wrong] = await Promise.all([s.checkPassword('alice', generated), s.checkPassword('bob', bobPassword), s.checkPassword('bob', `${bobPassword}\n`)]);
      assert.deepEqual([a?.tenant, a?.roles], ['paris', ['officer', 'supervisor']], 'alice logs in with the printed password');
      assert.deepEqual([b?.tenant, b?.roles], ['lyon', ['analyst']], 'bob with stdin\'s first line');
      assert.equal(wrong, undefined, 'the line break is not part of the password');
      assert.equal(s.findUser('dave'), undefined, 'no user for a refused role');
    });
  });

  it('disables a user, sets a password from a file, creates and revokes an API token, lists the audit log', async () => {
    const [disable, passwd, token] = await Promise.all([
      cli(['users', 'disable', 'bob']),
      cli(['users', 'passwd', 'alice', '--password-file', passwordFile]),
      cli(['users', 'token', 'create', 'alice', '--name', 'nightly report']),
    ]);
    ok(disable, 'disable');
    ok(passwd, 'passwd');
    aliceToken = ok(token, 'token create').stdout.trim();
    assert.match(aliceToken, /^dw_api_[A-Za-z0-9_-]{43}$/, 'only the token on stdout');
    await withStore(async (s) => {
      const [bob, alice] = await Promise.all([s.checkPassword('bob', bobPassword), s.checkPassword('alice', filePassword)]);
      assert.equal(bob, undefined, 'a disabled user cannot log in');
      assert.equal(alice?.username, 'alice', 'alice logs in with the file\'s first line');
      assert.equal(s.resolveBearer(aliceToken)?.name, 'alice', 'the token acts as alice');
    });
    const tokenId = /API token (\S+) /.exec(token.stderr)?.[1];
    assert.ok(tokenId, `the token id is on stderr: ${token.stderr}`);
    const [revoke, list] = await Promise.all([
      cli(['users', 'token', 'revoke', tokenId]),
      cli(['audit', 'list', '--action', 'user.create', '--format', 'json']),
    ]);
    ok(revoke, 'token revoke');
    const listed = JSON.parse(ok(list, 'audit list').stdout) as { seq: number; target: string; tenant: string; actor: string; details: { roles: string[] }; hash: string }[];
    // alice and bob were created at the same time: either may come first.
    assert.deepEqual(listed.map((e) => [e.target, e.tenant, e.actor]).sort(), [['alice', 'paris', actor], ['bob', 'lyon', actor]], 'audit list: filtered by action');
    assert.ok(listed.length === 2 && listed[0]!.seq > listed[1]!.seq, `newest first: ${listed.map((e) => e.seq).join(',')}`);
    assert.deepEqual(listed.find((e) => e.target === 'alice')!.details.roles, ['officer', 'supervisor'], 'details as an object');
    await withStore((s) => assert.equal(s.resolveBearer(aliceToken), undefined, 'a revoked token no longer works'));
  });

  it('registers and revokes drone credentials (and a gateway)', async () => {
    const [d7, gw] = await Promise.all([
      cli(['drones', 'register', 'drone-7', '--tenant', 'paris']),
      cli(['drones', 'register', '--gateway', '--tenant', 'paris']),
    ]);
    const droneToken = ok(d7, 'register').stdout.trim();
    const gatewayToken = ok(gw, 'gateway').stdout.trim();
    assert.match(droneToken, /^dw_drone_[A-Za-z0-9_-]{43}$/, 'only the credential on stdout');
    await withStore((s) => {
      assert.deepEqual([s.resolveBearer(droneToken)?.droneId, s.resolveBearer(droneToken)?.tenant], ['drone-7', 'paris'], 'the drone publishes as itself');
      assert.equal(s.resolveBearer(gatewayToken)?.droneId, '*', 'the gateway for every drone');
    });
    ok(await cli(['drones', 'revoke', 'drone-7', '--tenant', 'paris']), 'drone revoke');
    await withStore((s) => {
      assert.equal(s.resolveBearer(droneToken), undefined, 'a revoked drone credential no longer works');
      assert.equal(s.listDrones('paris').find((d) => d.droneId === '*')?.revokedAt, null, 'the gateway is still active');
    });
  });

  it('logs every change with the OS user and the tenant; exports (CSV, Parquet), archives and verifies the log', async () => {
    const changes = entries().filter((e) => e.action !== 'audit.read').map((e) => [e.action, e.tenant, e.target, e.actor].join(' '));
    assert.deepEqual(changes.sort(), [
      ['tenant.create', 'paris', 'paris'], ['user.create', 'paris', 'alice'], ['user.create', 'lyon', 'bob'], ['user.disable', 'lyon', 'bob'],
      ['user.password', 'paris', 'alice'], ['token.create', 'paris', 'alice'], ['token.revoke', 'paris', 'alice'], ['drone.register', 'paris', 'drone-7'],
      ['drone.register', 'paris', '*'], ['drone.revoke', 'paris', 'drone-7'],
    ].map((w) => [...w, actor].join(' ')).sort(), 'each change once (refused commands change nothing)');
    const text = JSON.stringify(entries());
    assert.ok(!text.includes(aliceToken) && !text.includes(bobPassword) && !text.includes(filePassword), 'no secret in the log');

    const files = { csv: path.join(out, 'paris.csv'), parquet: path.join(out, 'audit.parquet') };
    mkdirSync(out);
    const [verify, csv, pq, archive] = await Promise.all([
      cli(['audit', 'verify']),
      cli(['audit', 'export', '--out', files.csv, '--tenant', 'paris']),
      cli(['audit', 'export', '-o', files.parquet]),
      cli(['audit', 'archive']),
    ]);
    assert.match(ok(verify, 'verify').stdout, /^audit log intact: \d+ entries, head [0-9a-f]{64}\n$/, 'intact');
    for (const r of [csv, pq]) ok(r, 'export');
    assert.match(ok(archive, 'archive').stdout, /^audit: \d+ entries copied to .* in \d+ files\n$/, 'archived');
    assert.deepEqual(readdirSync(out).sort(), ['audit.parquet', 'paris.csv'], 'no temporary file left');

    // Each export holds entries 1..n (those logged before it, its own included) exactly as audit.db has them.
    const log = new Map(entries().map((e) => [e.seq, e]));
    const asRow = (e: AuditRecord): Record<string, unknown> => ({ seq: e.seq, at: e.at, actor: e.actor, tenant: e.tenant, action: e.action, target: e.target, details: e.detailsJson, ip: e.ip, prev_hash: e.prevHash, hash: e.hash });
    const pqRows = (await readParquet(files.parquet)).rows.map((r) => fromParquet(r) as Record<string, unknown>);
    assert.deepEqual(pqRows.map((r) => r.seq), pqRows.map((_, i) => i + 1), 'parquet: oldest first, from 1, no gap');
    assert.ok(pqRows.length >= 12, `parquet rows: ${pqRows.length}`);
    assert.deepEqual(pqRows, pqRows.map((r) => asRow(log.get(r.seq as number)!)), 'parquet rows, every column');
    assert.ok(pqRows.some((r) => r.action === 'audit.export' && r.actor === actor), 'the export itself is logged');
    let prev = AUDIT_GENESIS;
    for (const r of pqRows) {
      assert.equal(auditEntryHash(prev, r as never, r.details as string), r.hash, `the chain verifies from the Parquet export at ${r.seq}`);
      prev = r.hash as string;
    }
    const [header, ...lines] = parseCsv(readFileSync(files.csv, 'utf8'));
    assert.deepEqual(header, ['seq', 'at', 'actor', 'tenant', 'action', 'target', 'details', 'ip', 'prev_hash', 'hash'], 'csv header');
    assert.ok(lines.length >= 8 && lines.every((l) => l[3] === 'paris'), `csv: paris only (${lines.length})`);
    assert.deepEqual(lines.map((l) => [l[0], l[6], l[9]]), lines.map((l) => { const e = log.get(Number(l[0]))!; return [String(e.seq), e.detailsJson, e.hash]; }), 'csv rows');

    const archived = ok(await cli(['audit', 'verify', '--archived']), 'verify --archived');
    assert.match(archived.stdout, /intact: \d+ entries, head [0-9a-f]{64}, matching/, archived.stdout);
  });

  it('audit verify exits 1 at the first changed entry; a log rewritten with fresh hashes is caught by its copy in the lake', async () => {
    const target = entries().find((e) => e.action === 'user.create')!;
    const db = new Database(path.join(data, 'audit.db'));
    db.prepare("UPDATE audit SET actor = 'someone' WHERE seq = ?").run(target.seq);
    db.close();
    refused(await cli(['audit', 'verify']), 'DW_AUDIT_CHAIN_BROKEN', new RegExp(`broken at entry ${target.seq}:`), 1);

    // Rewrite the whole chain consistently, as an insider with write access to audit.db could.
    const rw = new Database(path.join(data, 'audit.db'));
    const rows = rw.prepare('SELECT * FROM audit ORDER BY seq').all() as { seq: number; at: string; actor: string; tenant: string; action: string; target: string | null; details: string; ip: string | null }[];
    let prev = AUDIT_GENESIS;
    for (const r of rows) {
      const hash = auditEntryHash(prev, r, r.details);
      rw.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
    }
    rw.close();
    const rewritten = AuditLog.open(data);
    assert.equal(rewritten.verify().ok, true, 'the rewritten local log is self-consistent');
    rewritten.close();
    refused(await cli(['audit', 'verify', '--archived']), 'DW_AUDIT_LAKE_MISMATCH', /does not match its copy in the lake/, 1);
  });
});
