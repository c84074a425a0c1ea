/**
 * NatsStream against a real nats-server (one node, fresh JetStream store in a temp dir) started once for the file:
 * the stream conformance suite, then what is specific to JetStream (subjects, tenants, openStream URLs).
 * Skipped with the install recipe when nats-server >= 2.10 is missing (fails with CI=true).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { type Stream } from '../../src/stream/index.ts';
import { findNatsServer, freePorts, natsServerOrSkip, startNatsServer, type NatsTestServer } from '../../src/testkit/index.ts';
import { runStreamConformance } from './conformance.ts';
import { drain, rec, text, uniq } from './conformance-helpers.ts';
import { NatsStream, openStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();

if (skip) {
  describe('stream conformance: nats', () => {
    it('needs nats-server >= 2.10', { skip }, () => undefined);
  });
} else {
  let server: Promise<NatsTestServer> | undefined;
  const serverOnce = (): Promise<NatsTestServer> => (server ??= startNatsServer());
  after(async () => {
    if (server) await (await server).stop();
  });

  runStreamConformance('nats', async () => {
    const { url } = await serverOnce();
    const opened: Stream[] = [];
    const open = async (): Promise<Stream> => {
      const s = await NatsStream.connect({ servers: url, tenant: 'test' });
      opened.push(s);
      return s;
    };
    return {
      stream: await open(),
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
      },
    };
  });

  describe('nats stream specifics', { timeout: 60_000 }, () => {
    it('opens nats://host:port[,host:port] with openStream, tenant and replicas', { timeout: 20_000 }, async () => {
      const { nodes } = await serverOnce();
      const hostPort = nodes[0]!.url.slice('nats://'.length);
      const s = await openStream(`nats://${hostPort},${hostPort}`, { dataDir: '/nonexistent', tenant: 'paris', replicas: 1 });
      try {
        assert.ok(s instanceof NatsStream, 'openStream returns a NatsStream for nats://');
        assert.equal(s.name, `nats:nats://${hostPort},nats://${hostPort}`);
        const t = uniq('open');
        await s.ensureTopic(t, { partitions: 2 });
        assert.equal((await s.publish(t, [rec('d1', 'v')])).length, 1, 'one ack');
      } finally {
        await s.close();
      }
    });

    it('fails with DW_STREAM_UNAVAILABLE when no server answers', { timeout: 20_000 }, async () => {
      const [port] = await freePorts(1);
      await assert.rejects(openStream(`nats://127.0.0.1:${port}`, { dataDir: '/nonexistent' }), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'DW_STREAM_UNAVAILABLE', String(e));
        return true;
      });
    });

    it('per-record topics (created before issue 14) store records under <topic>.<tenant>.<partition>.<key>', { timeout: 20_000 }, async () => {
      const { url } = await serverOnce();
      const s = await NatsStream.connect({ servers: url, tenant: 'lyon', topicFormat: 'per-record' });
      const nc = await connect({ servers: url });
      try {
        const t = uniq('subj');
        await s.ensureTopic(t, { partitions: 4, duplicateWindowMs: 60_000, retention: { maxAgeMs: 3_600_000, maxBytes: 1_000_000 } });
        const [plain, odd] = await s.publish(t, [rec('drone-7', 'a', { id: 'r1' }), rec('drone.8 é', 'b')]);
        const jsm = await jetstreamManager(nc);
        const info = await jsm.streams.info(t.toUpperCase());
        assert.deepEqual(info.config.subjects, [`${t}.>`], 'the stream captures the whole topic');
        assert.equal(info.config.max_age, 3_600_000 * 1e6, 'maxAgeMs becomes max_age');
        assert.equal(info.config.max_bytes, 1_000_000, 'maxBytes becomes max_bytes');
        assert.equal(info.config.duplicate_window, 60_000 * 1e6, 'duplicateWindowMs becomes duplicate_window');
        assert.equal(info.config.metadata?.['dronewatch.partitions'], '4', 'the partition count is in the metadata');
        assert.equal(info.config.metadata?.['dronewatch.format'], undefined, 'no format marker: one message per record');
        const m1 = await jsm.streams.getMessage(t.toUpperCase(), { seq: plain!.offset });
        assert.equal(m1?.subject, `${t}.lyon.${plain!.partition}.drone-7`, 'subject of a plain key');
        assert.equal(m1?.header.get('Nats-Msg-Id'), 'r1', 'the record id is the Nats-Msg-Id');
        const m2 = await jsm.streams.getMessage(t.toUpperCase(), { seq: odd!.offset });
        assert.match(m2?.subject ?? '', new RegExp(`^${t}\\.lyon\\.${odd!.partition}\\.~[A-Za-z0-9_-]+$`), 'a key with dots or spaces is encoded into one token');
        const back = await s.read(t);
        assert.deepEqual(back.map((r) => r.key), ['drone-7', 'drone.8 é'], 'keys decode back');
      } finally {
        await nc.close();
        await s.close();
      }
    });

    it('keeps tenants apart on a shared topic', { timeout: 20_000 }, async () => {
      const { url } = await serverOnce();
      const paris = await NatsStream.connect({ servers: url, tenant: 'paris' });
      const lyon = await NatsStream.connect({ servers: url, tenant: 'lyon' });
      try {
        const t = uniq('tenants');
        await paris.ensureTopic(t, { partitions: 2 });
        await lyon.ensureTopic(t, { partitions: 2 });
        await paris.publish(t, [rec('d1', 'paris-1'), rec('d2', 'paris-2')]);
        await lyon.publish(t, [rec('d1', 'lyon-1')]);
        assert.deepEqual((await paris.read(t)).map(text), ['paris-1', 'paris-2'], 'paris reads its records only');
        assert.deepEqual((await lyon.read(t)).map(text), ['lyon-1'], 'lyon reads its records only');
        const g = uniq('g');
        const c = await lyon.consumer({ topic: t, group: g });
        assert.deepEqual((await drain(c, 1)).map(text), ['lyon-1'], 'a lyon group gets lyon records');
        assert.deepEqual(await c.poll({ waitMs: 50 }), [], 'and nothing of paris');
        assert.equal((await paris.lag(t, g)).reduce((n, l) => n + l.lag, 0), 2, 'the same group name in paris is another group');
        await c.close();
      } finally {
        await paris.close();
        await lyon.close();
      }
    });

    it('ships production configs that this nats-server accepts and that fsync before acknowledging', () => {
      const { bin } = findNatsServer();
      for (const name of ['nats-server.conf', 'cluster-node.conf.example']) {
        const file = new URL(`../../deploy/nats/${name}`, import.meta.url).pathname;
        // -t: parse and validate (unknown keys, bad values) and exit.
        const out = execFileSync(bin, ['-t', '-c', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        assert.doesNotMatch(out, /error/i, `${name} is valid`);
        assert.match(readFileSync(file, 'utf8'), /^\s*sync_interval: always$/m, `${name} sets sync_interval: always`);
      }
    });

    it('carries headers NATS cannot hold natively (reserved names, CR/LF, surrounding spaces) unchanged', { timeout: 20_000 }, async () => {
      const { url } = await serverOnce();
      const s = await NatsStream.connect({ servers: url });
      try {
        const t = uniq('hdr');
        await s.ensureTopic(t, { partitions: 1 });
        const odd = { 'Nats-Msg-Id': 'mine', 'two\nlines': ' a\r\nb ', 'x:y': 'é' };
        await s.publish(t, [rec('k', 'v', { headers: odd }), rec('k', 'w', { headers: { Type: 'created' } })]);
        const [a, b] = await s.read(t);
        assert.deepEqual({ ...a!.headers }, odd, 'odd headers round-trip');
        assert.deepEqual({ ...b!.headers }, { Type: 'created' }, 'plain headers keep their case');
      } finally {
        await s.close();
      }
    });
  });
}
