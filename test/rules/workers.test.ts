/**
 * Rules reach running alert workers: two worker processes sharing the embedded log and a data directory take up a
 * new rule set version without a restart, and their alerts name it. Silences: the alert is stored and marked, but no
 * live cue (the worker's bus, an API process's feed from the alerts topic) and no webhook.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlertBus, AlertWorker, streamAlertFeed, WebhookSink, type AlertEvent } from '../../src/alerts/index.ts';
import { openAlertStore, openStream } from '../../src/backend/index.ts';
import { openRules } from '../../src/rules/platform.ts';
import { TOPICS } from '../../src/stream/topics.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishReports, report, totalLag, waitFor } from '../alerts/helpers.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rules-worker.ts');
const CONFIG = { threshold: 20, criticalThreshold: 5, wordRules: [] };

interface Child { child: ChildProcess; lines: string[]; exited: Promise<unknown> }

function startWorker(dataDir: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, DATA_DIR: dataDir, DRONEWATCH_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines, exited: new Promise((r) => child.on('exit', r)) };
}

describe('rule changes reach running alert workers', () => {
  const tmp = tempDir('dw-rules-workers-');
  const children: Child[] = [];
  after(() => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    tmp.cleanup();
  });

  it('two worker processes on one embedded log take up a new version without restart; alerts name it', { timeout: 90_000 }, async () => {
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 });
    const rules = await openRules(store, CONFIG, { follow: false });
    try {
      const a = startWorker(tmp.dir);
      const b = startWorker(tmp.dir);
      children.push(a, b);
      await waitFor('both workers ready', () => a.lines.includes('ready') && b.lines.includes('ready'), 30_000);
      assert.equal((await rules.service.current('default')).version, 1, "the configuration's rules are version 1");
      await waitFor('both in force at v1', () => a.lines.includes('version default 1') && b.lines.includes('version default 1'));

      // Under v1 (threshold 20) a score of 30 raises nothing.
      const T = 1_800_000_000_000;
      const drones = Array.from({ length: 24 }, (_, i) => `drone-${i}`);
      await publishReports(stream, drones.map((d) => report({ droneId: d, ts: T, citizens: [{ name: `early-${d}`, score: 30 }] })));
      await waitFor('v1 batch consumed', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0, 30_000);
      assert.equal(store.list({ limit: 100 }).length, 0);

      const changedAt = Date.now();
      const v2 = await rules.service.apply('default', { rules: [{ id: 'strict', kind: 'score', threshold: 40, criticalThreshold: 5 }] }, { author: 'lucie', reason: 'event week' });
      assert.equal(v2.version, 2);
      await waitFor('both in force at v2', () => a.lines.includes('version default 2') && b.lines.includes('version default 2'));
      const tookMs = Date.now() - changedAt;
      process.stdout.write(`# v2 in force in both worker processes ${tookMs} ms after the commit\n`);
      assert.ok(tookMs < 5000, `within seconds (${tookMs} ms)`);

      await publishReports(stream, drones.map((d) => report({ droneId: d, ts: T + 60_000, citizens: [{ name: `late-${d}`, score: 30 }] })));
      await waitFor('v2 batch consumed', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0, 30_000);
      const alerts = store.list({ limit: 100 });
      assert.equal(alerts.length, drones.length, 'every drone\'s report, whichever worker owns its partition, raised under v2');
      assert.deepEqual(new Set(alerts.map((x) => `${x.rule}@${x.ruleVersion}`)), new Set(['strict@2']));

      for (const c of [a, b]) c.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
      const processed = [a, b].map((c) => Number(c.lines.find((l) => l.startsWith('processed '))?.split(' ')[1]));
      assert.ok(processed.every((n) => n > 0), `both workers owned partitions (reports processed: ${processed.join(', ')})`);
    } finally {
      await rules.close();
      store.close();
      await stream.close();
    }
  });
});

describe('silences', () => {
  it('a silenced alert is stored and marked, never on the live bus, the alerts-topic feed nor a webhook', { timeout: 60_000 }, async () => {
    const tmp = tempDir('dw-silence-');
    const hooks: AlertEvent[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as AlertEvent);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 });
    const rules = await openRules(store, CONFIG, { follow: true });
    const bus = new AlertBus();
    const feedBus = new AlertBus();
    const live: AlertEvent[] = [];
    const fed: AlertEvent[] = [];
    bus.subscribe((e) => live.push(e));
    feedBus.subscribe((e) => fed.push(e));
    const webhooks = new WebhookSink({ webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }] });
    const worker = new AlertWorker({ stream, store, bus, webhooks, config: CONFIG, rules: rules.book!, waitMs: 20 });
    let feed: ReturnType<typeof streamAlertFeed> | undefined;
    try {
      await worker.start();
      feed = streamAlertFeed(stream, feedBus, { waitMs: 20 });
      await feed.ready;
      const T = Date.now();
      const s = await rules.service.addSilence('default', { match: { kind: 'drone', value: 'drone-quiet' }, endsAt: new Date(T + 3600_000).toISOString(), reason: 'drone under test' }, 'lucie', T - 1000);
      // Not yet in force: its window starts in an hour.
      await rules.service.addSilence('default', { match: { kind: 'drone', value: 'drone-later' }, startsAt: new Date(T + 3600_000).toISOString(), endsAt: new Date(T + 7200_000).toISOString(), reason: 'tomorrow' }, 'lucie', T);
      await waitFor('silences stored', async () => (await rules.service.listSilences('default')).length === 2);
      await sleep(400); // the book's follow poll (250 ms)
      await publishReports(stream, [
        report({ droneId: 'drone-quiet', ts: T, citizens: [{ name: 'a', score: 1 }] }),
        report({ droneId: 'drone-loud', ts: T, citizens: [{ name: 'b', score: 1 }] }),
        // Its silence is not in force yet: announced.
        report({ droneId: 'drone-later', ts: T, citizens: [{ name: 'c', score: 1 }] }),
      ]);
      await waitFor('three alerts stored', () => store.list({ limit: 10 }).length === 3);
      await waitFor('the loud ones announced and delivered', () => live.length === 2 && fed.length === 2 && hooks.length === 2);
      await webhooks.flush(3000);
      await sleep(300);
      const byCitizen = new Map(store.list({ limit: 10 }).map((x) => [x.citizen, x]));
      assert.equal(byCitizen.get('a')!.silenced, s.id, 'stored, marked silenced');
      assert.equal(byCitizen.get('b')!.silenced, undefined);
      assert.equal(byCitizen.get('c')!.silenced, undefined, 'a silence outside its window silences nothing');
      for (const [what, events] of [['bus', live], ['topic feed', fed], ['webhooks', hooks]] as const) {
        assert.deepEqual(events.map((e) => e.alert.citizen).sort(), ['b', 'c'], what);
      }
    } finally {
      await feed?.stop();
      await worker.stop();
      await webhooks.close();
      await rules.close();
      store.close();
      await stream.close();
      receiver.close();
      tmp.cleanup();
    }
  });
});
