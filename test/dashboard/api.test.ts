import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/index.ts';
import type { Platform } from '../../src/runtime/platform.ts';
import { DEFAULT_DASHBOARD_DIR, buildServer, type DashboardClientConfig } from '../../src/server/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { startTestPlatform } from '../server/helpers.ts';

const CLIENT: DashboardClientConfig = { tileUrl: null, tileAttribution: '', tileMaxZoom: 19, bbox: [48.815, 2.225, 48.902, 2.47], alertThreshold: 20, criticalThreshold: 5 };

function report(droneId: string, secondsAgo: number, lat: number, lon: number, citizens: { name: string; score: number }[] = []) {
  return { droneId, timestamp: new Date(Date.now() - secondsAgo * 1000).toISOString(), position: { lat, lon }, citizens, words: ['bonjour'] };
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The HTTP side of the dashboard on a real platform: live fleet, alert filters, reaction time, its config. */
describe('dashboard API', () => {
  let platform: Platform;
  let url: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, url, cleanup } = await startTestPlatform({ alerts: true, http: 'api' }, {
      dashboard: { tileUrl: 'https://{s}.tiles.police.example/{z}/{x}/{y}.png', tileAttribution: '© Préfecture', fleetLookbackSeconds: 0 },
    }));
  });
  after(async () => cleanup());

  const post = (body: unknown) => fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('tracks drones from the reports topic: last positions, recent track, live stream', async () => {
    // Connect the live stream first: its snapshot, then the positions of the reports posted after it.
    const res = await fetch(`${url}/v1/fleet/stream`);
    const reader = res.body!.getReader();
    let text = '';
    // One read in flight at a time, kept across polls: a read abandoned on a timeout would swallow its chunk.
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    const readUntil = async (re: RegExp): Promise<string> => until(async () => {
      pending ??= reader.read();
      const chunk = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (chunk) {
        pending = undefined;
        if (!chunk.done) text += Buffer.from(chunk.value).toString();
      }
      return re.test(text) ? text : undefined;
    });
    await readUntil(/event: snapshot\ndata: .*\n\n/);
    const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(text)![1]!) as { drones: unknown[]; health: { consumers: Record<string, number> } };
    assert.deepEqual(snapshot.drones, [], 'nothing reported yet');
    assert.ok('alerts' in snapshot.health.consumers && 'fleet' in snapshot.health.consumers, `lag of each consumer group: ${JSON.stringify(snapshot.health.consumers)}`);

    assert.equal((await post([report('drone-t1', 120, 48.85, 2.35), report('drone-t1', 60, 48.86, 2.36), report('drone-t2', 60, 48.80, 2.30)])).status, 202, 'reports accepted');
    await readUntil(/event: positions\ndata: .*drone-t2/);
    const moved = [...text.matchAll(/event: positions\ndata: (.*)\n/g)].flatMap((m) => JSON.parse(m[1]!) as [string, number, number, number][]);
    const t1 = moved.filter((p) => p[0] === 'drone-t1').at(-1)!;
    assert.deepEqual(t1.slice(1, 3), [48.86, 2.36], 'the stream carries the newest position as [id, lat, lon, ts]');
    await reader.cancel();

    const fleet = (await (await fetch(`${url}/v1/fleet`)).json()) as { drones: { droneId: string; lat: number }[]; health: { drones: number } };
    assert.deepEqual(fleet.drones.map((d) => d.droneId).sort(), ['drone-t1', 'drone-t2'], 'GET /v1/fleet lists the drones');
    assert.equal(fleet.health.drones, 2, 'and counts them');
    const trk = (await (await fetch(`${url}/v1/fleet/drones/drone-t1/track`)).json()) as { track: { lat: number; ts: number }[] };
    assert.deepEqual(trk.track.map((p) => p.lat), [48.85, 48.86], 'the track, oldest first');
    const none = (await (await fetch(`${url}/v1/fleet/drones/drone-zz/track`)).json()) as { track: unknown[] };
    assert.deepEqual(none.track, [], 'an unknown drone has an empty track');
  });

  it('filters alerts by several statuses and by area', async () => {
    await post([
      report('drone-f1', 30, 48.85, 2.35, [{ name: 'Alice Area', score: 10 }]),
      report('drone-f2', 30, 48.89, 2.45, [{ name: 'Bob Bounds', score: 3 }]),
      report('drone-f3', 30, 48.82, 2.25, [{ name: 'Carl Closed', score: 12 }]),
    ]);
    const store = platform.alertStore!;
    const [a, b, c] = await until(() => {
      const all = store.list({ limit: 100 });
      const find = (n: string): Alert | undefined => all.find((x) => x.citizen === n);
      const found = [find('Alice Area'), find('Bob Bounds'), find('Carl Closed')];
      return found.every(Boolean) ? (found as Alert[]) : undefined;
    });
    assert.equal(b!.severity, 'critical', 'a score below 5 is critical');
    await platform.alertService!.acknowledge(a!.alertId, 'tester');
    await platform.alertService!.resolve(c!.alertId, 'tester');
    const list = async (q: string): Promise<string[]> => {
      const r = await fetch(`${url}/v1/alerts?${q}`);
      assert.equal(r.status, 200, `GET /v1/alerts?${q}`);
      return ((await r.json()) as { alerts: Alert[] }).alerts.map((x) => x.citizen).filter((n) => ['Alice Area', 'Bob Bounds', 'Carl Closed'].includes(n)).sort();
    };
    assert.deepEqual(await list('status=open,acknowledged'), ['Alice Area', 'Bob Bounds'], 'open or acknowledged');
    assert.deepEqual(await list('status=resolved'), ['Carl Closed'], 'resolved');
    assert.deepEqual(await list('bbox=48.84,2.34,48.86,2.36'), ['Alice Area'], 'inside the box only');
    assert.equal((await fetch(`${url}/v1/alerts?status=open,nope`)).status, 400, 'an unknown status is refused');
    assert.equal((await fetch(`${url}/v1/alerts?bbox=1,2,3`)).status, 400, 'a bbox needs four numbers');
  });

  it('answers reaction times from the alert store', async () => {
    await post([report('drone-r1', 20, 48.85, 2.35, [{ name: 'Rita Reaction', score: 11 }]), report('drone-r2', 20, 48.85, 2.35, [{ name: 'Remi Reaction', score: 11 }])]);
    const store = platform.alertStore!;
    const [r1, r2] = await until(() => {
      const all = store.list({ limit: 100 });
      const x = all.find((a) => a.citizen === 'Rita Reaction');
      const y = all.find((a) => a.citizen === 'Remi Reaction');
      return x && y ? [x, y] : undefined;
    });
    await new Promise((r) => setTimeout(r, 30));
    await platform.alertService!.acknowledge(r1!.alertId, 'tester');
    await new Promise((r) => setTimeout(r, 30));
    await platform.alertService!.resolve(r1!.alertId, 'tester', 'done');
    await platform.alertService!.resolve(r2!.alertId, 'tester');
    const from = Math.min(r1!.raisedAt, r2!.raisedAt);
    const res = await fetch(`${url}/v1/alerts/reaction-time?from=${new Date(from).toISOString()}&to=${new Date(Date.now() + 1000).toISOString()}`);
    assert.equal(res.status, 200, 'GET /v1/alerts/reaction-time');
    const body = (await res.json()) as { alerts: number; open: number; toAcknowledge: { count: number; p50Ms: number }; toResolve: { count: number; p50Ms: number; maxMs: number } };
    const all = store.list({ since: from, limit: 10_000 });
    const acks = all.filter((a) => a.acknowledgedAt !== null).map((a) => a.acknowledgedAt! - a.raisedAt).sort((x, y) => x - y);
    const res2 = all.filter((a) => a.resolvedAt !== null).map((a) => a.resolvedAt! - a.raisedAt).sort((x, y) => x - y);
    assert.equal(body.alerts, all.length, 'alerts raised in the period');
    assert.equal(body.open, all.filter((a) => a.status === 'open').length, 'still open');
    assert.equal(body.toAcknowledge.count, acks.length, 'acknowledged');
    assert.equal(body.toResolve.count, res2.length, 'resolved');
    const median = (v: number[]): number => (v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
    assert.equal(body.toAcknowledge.p50Ms, median(acks), 'median time to acknowledge');
    assert.equal(body.toResolve.p50Ms, median(res2), 'median time to resolve');
    assert.equal(body.toResolve.maxMs, res2.at(-1), 'longest time to resolve');
    assert.equal((await fetch(`${url}/v1/alerts/reaction-time`)).status, 400, 'from is required');
  });

  it('gives the browser its map configuration', async () => {
    const cfg = (await (await fetch(`${url}/v1/dashboard/config`)).json()) as DashboardClientConfig;
    assert.equal(cfg.tileUrl, 'https://{s}.tiles.police.example/{z}/{x}/{y}.png', 'the configured tile server');
    assert.equal(cfg.tileAttribution, '© Préfecture', 'with its attribution');
    assert.deepEqual(cfg.bbox, [48.815, 2.225, 48.902, 2.47], 'Paris by default');
    assert.equal(cfg.criticalThreshold, 5, 'alert thresholds for the legend');
  });

  it('serves the built dashboard at / (npm ci builds it)', async () => {
    assert.ok(existsSync(path.join(DEFAULT_DASHBOARD_DIR, 'index.html')), `web/dist/index.html exists: run npm ci or npm run build:web (${DEFAULT_DASHBOARD_DIR})`);
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 200, 'GET / answers the page');
    const html = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/html/, 'as HTML');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/, 'with a content security policy');
    assert.match(csp, /img-src 'self' data: blob: https:\/\/\*\.tiles\.police\.example/, 'that allows images from the tile server only');
    const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.some((s) => s.endsWith('.js')) && scripts.some((s) => s.endsWith('.css')), `the page loads its script and styles: ${scripts.join(', ')}`);
    for (const s of scripts) {
      const a = await fetch(`${url}${s}`);
      assert.equal(a.status, 200, `${s} served`);
      assert.match(a.headers.get('cache-control') ?? '', /immutable/, `${s} cached for good (content-hashed name)`);
    }
  });
});

/** The static file plugin on its own, over a hand-made build and tile set. */
describe('dashboard static files', () => {
  const tmp = tempDir('dw-static-');
  const dist = path.join(tmp.dir, 'dist');
  const tiles = path.join(tmp.dir, 'tiles');
  const js = `console.log(${JSON.stringify('x'.repeat(5000))});\n`;
  before(() => {
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>t</title><script type="module" src="/assets/app-1234.js"></script>');
    writeFileSync(path.join(dist, 'assets', 'app-1234.js'), js);
    mkdirSync(path.join(tiles, '12', '2074'), { recursive: true });
    writeFileSync(path.join(tiles, '12', '2074', '1409.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
    writeFileSync(path.join(tmp.dir, 'secret.png'), 'secret');
  });
  after(() => tmp.cleanup());

  it('serves files with gzip, ETag and 304, and only known paths', async () => {
    const app = await buildServer({ dashboard: { dir: dist, client: CLIENT } });
    try {
      const gz = await app.inject({ url: '/assets/app-1234.js', headers: { 'accept-encoding': 'gzip, br' } });
      assert.equal(gz.statusCode, 200, 'asset served');
      assert.equal(gz.headers['content-encoding'], 'gzip', 'compressed when the client accepts it');
      assert.equal(gunzipSync(gz.rawPayload).toString(), js, 'the same bytes once unzipped');
      const plain = await app.inject({ url: '/assets/app-1234.js' });
      assert.equal(plain.body, js, 'plain without accept-encoding');
      const etag = String(plain.headers.etag);
      const again = await app.inject({ url: '/assets/app-1234.js', headers: { 'if-none-match': etag } });
      assert.equal(again.statusCode, 304, 'not modified for a matching ETag');
      const index = await app.inject({ url: '/' });
      assert.equal(index.statusCode, 200, '/ is index.html');
      assert.equal(index.headers['cache-control'], 'no-cache', 'the page itself is revalidated');
      assert.equal((await app.inject({ url: '/assets/../index.html' })).statusCode, 200, 'normalised paths resolve to known files only');
      assert.equal((await app.inject({ url: '/assets/nope.js' })).statusCode, 404, 'unknown file');
      assert.equal((await app.inject({ url: '/v1/nope' })).json().code, 'DW_NOT_FOUND', 'API 404s unchanged');
    } finally {
      await app.close();
    }
  });

  it('serves a local tile set under /tiles and nothing outside it', async () => {
    const app = await buildServer({ dashboard: { dir: dist, client: { ...CLIENT, tileUrl: '/tiles/{z}/{x}/{y}.png' }, tileDir: tiles } });
    try {
      const t = await app.inject({ url: '/tiles/12/2074/1409.png' });
      assert.equal(t.statusCode, 200, 'a tile');
      assert.equal(t.headers['content-type'], 'image/png', 'as PNG');
      assert.equal((await app.inject({ url: '/tiles/12/2074/9.png' })).statusCode, 404, 'a missing tile');
      for (const bad of ['/tiles/..%2f..%2f/x/secret.png', '/tiles/12/..%2f..%2f..%2f/secret.png', '/tiles/1/2/..%2fsecret.png', '/tiles/a/b/c.png']) {
        const r = await app.inject({ url: bad });
        assert.equal(r.statusCode, 404, `${bad} refused`);
        assert.ok(!r.body.includes('secret'), `${bad} does not leak a file`);
      }
      const html = await app.inject({ url: '/' });
      assert.match(String(html.headers['content-security-policy']), /img-src 'self' data: blob:;/, 'a same-origin tile set needs no extra image source');
    } finally {
      await app.close();
    }
  });

  it('explains how to build when there is no build', async () => {
    const app = await buildServer({ dashboard: { dir: path.join(tmp.dir, 'nothing-here'), client: CLIENT } });
    try {
      const r = await app.inject({ url: '/' });
      assert.equal(r.statusCode, 503, 'service unavailable');
      assert.match(r.body, /npm run build:web/, 'says how to build it');
      assert.equal((await app.inject({ url: '/v1/dashboard/config' })).statusCode, 200, 'the config route still answers');
    } finally {
      await app.close();
    }
  });

  it('is off when the server is built without it', async () => {
    const app = await buildServer({});
    try {
      assert.equal((await app.inject({ url: '/' })).statusCode, 404, 'no dashboard');
    } finally {
      await app.close();
    }
    assert.ok(readFileSync(path.join(dist, 'index.html'), 'utf8').includes('app-1234'), 'fixture intact');
  });
});
