import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, validateConfig } from '../../src/config/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { findNatsServer, freePorts, natsServerOrSkip, tempDir } from '../../src/testkit/index.ts';
import { openStream } from '../../src/backend/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };

/** A throw-away CA-less self-signed certificate for 127.0.0.1 (openssl is part of every Debian install). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

function httpsGet(url: string, ca: Buffer, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('secrets from files, HTTPS, NATS with TLS and a password (issue 7)', () => {
  const tmp = tempDir('dw-transport-');
  let certs: { cert: string; key: string };
  before(() => {
    certs = selfSigned(tmp.dir);
  });
  after(() => tmp.cleanup());

  it('reads secrets from *_FILE variables, keeps them strings, and never echoes them in errors', () => {
    const secret = path.join(tmp.dir, 'nats-password');
    writeFileSync(secret, '0123456789\n');
    const c = loadConfig({ env: { DRONEWATCH_STREAM__NATS__PASSWORD_FILE: secret, DRONEWATCH_STREAM__NATS__TOKEN: '42' }, cwd: tmp.dir });
    assert.equal(c.stream.nats.password, '0123456789', 'file content without its newline, as a string');
    assert.equal(c.stream.nats.token, '42', 'a numeric-looking secret stays a string');
    try {
      loadConfig({ env: { DRONEWATCH_STREAM__NATS__PASSWORD_FILE: path.join(tmp.dir, 'missing') }, cwd: tmp.dir });
      assert.fail('a missing secret file is an error');
    } catch (e) {
      assert.ok(isDwError(e) && e.code === 'DW_CONFIG_INVALID', String(e));
      assert.match((e as Error).message, /DRONEWATCH_STREAM__NATS__PASSWORD_FILE: cannot read .*missing \(ENOENT\)/);
    }
  });

  it('serves the API and dashboard over HTTPS only, with Secure session cookies', async () => {
    const platform = await Platform.open(validateConfig({
      dataDir: path.join(tmp.dir, 'https'), http: { port: 0, host: '127.0.0.1', tlsCert: certs.cert, tlsKey: certs.key },
    }), { scrypt: FAST });
    try {
      await platform.start({ http: 'api' });
      const url = platform.address!;
      assert.match(url, /^https:\/\//);
      const ca = readFileSync(certs.cert);
      const health = await httpsGet(`${url}/health`, ca);
      assert.equal(health.status, 200);
      assert.match(String(health.headers['strict-transport-security']), /max-age=\d+/, 'HSTS');
      const admin = platform.takeBootstrapCredential()!;
      const login = await httpsGet(`${url}/v1/auth/login`, ca, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: admin.username, password: admin.password }) });
      assert.equal(login.status, 200, login.body);
      const setCookie = String(login.headers['set-cookie']);
      assert.match(setCookie, /^__Host-dw_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/, `a __Host- cookie (Secure, Path=/, no Domain): ${setCookie}`);
      const token = /^__Host-dw_session=([^;]+)/.exec(setCookie)![1]!;
      const me = await httpsGet(`${url}/v1/auth/me`, ca, { headers: { cookie: `__Host-dw_session=${token}` } });
      assert.equal(me.status, 200, me.body);
      // The plain name is not read over HTTPS: only the prefixed cookie, which a sibling host cannot set, is a session.
      const plain = await httpsGet(`${url}/v1/auth/me`, ca, { headers: { cookie: `dw_session=${token}` } });
      assert.equal(plain.status, 401, plain.body);
      // No plain-HTTP answer on the same port.
      await assert.rejects(fetch(url.replace('https:', 'http:') + '/health', { signal: AbortSignal.timeout(3000) }));
    } finally {
      await platform.stop();
    }
    // Half a TLS configuration is refused with the field named.
    const half = await Platform.open(validateConfig({ dataDir: path.join(tmp.dir, 'half'), http: { port: 0, tlsCert: certs.cert } }));
    await assert.rejects(half.start({ http: 'api' }), /http\.tlsCert and http\.tlsKey go together/);
    await half.stop();
  });

  it('connects to a nats-server that requires TLS and a password; refuses without them', async (t) => {
    const skip = natsServerOrSkip();
    if (skip) return t.skip(skip);
    const { bin } = findNatsServer();
    const [port, httpPort] = await freePorts(2);
    const conf = path.join(tmp.dir, 'nats.conf');
    writeFileSync(conf, [
      'server_name: "tls1"',
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${httpPort}"`,
      `jetstream { store_dir: ${JSON.stringify(path.join(tmp.dir, 'js'))}, sync_interval: always }`,
      `tls { cert_file: ${JSON.stringify(certs.cert)}, key_file: ${JSON.stringify(certs.key)} }`,
      'authorization { users: [ { user: "dronewatch", password: "s3cret-pw" } ] }',
      '',
    ].join('\n'));
    const proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('nats-server with TLS did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = `nats://127.0.0.1:${port}`;
      const stream = await openStream(url, { dataDir: tmp.dir, nats: { user: 'dronewatch', password: 's3cret-pw', tlsCaFile: certs.cert } });
      try {
        await stream.ensureTopic(TOPICS.deadLetters, { partitions: 1 });
        const [ack] = await stream.publish(TOPICS.deadLetters, [{ key: 'k', value: Buffer.from('over TLS') }]);
        assert.ok(ack && ack.offset > 0, 'published over TLS with a password');
      } finally {
        await stream.close();
      }
      const noPassword = openStream(url, { dataDir: tmp.dir, nats: { tlsCaFile: certs.cert } });
      await assert.rejects(Promise.race([noPassword, new Promise((_, rej) => setTimeout(() => rej(new Error('authorization refused (timed out retrying)')), 8000))]));
      noPassword.then((s) => s.close(), () => undefined);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
