/**
 * Issue 15, item 9: offered load at 2x what the platform carries, for a bounded time. The capacity is made small by
 * configuration (ingest.maxInflightRequests 2, maxInflightBytes 2 MiB) so the test does not saturate the machine:
 * four clients post without pause (two per request the platform takes), each body in two halves 40 ms apart (a slow
 * link), ignoring Retry-After.
 * Expected: 503 DW_INGEST_BACKPRESSURE with Retry-After for what is over capacity, memory bounded, every acknowledged
 * report in the lake, and ingestion back by itself once the load stops. Loopback only, self-stopping, ~40 s.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { validateConfig, dataPaths } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { reportsInLake } from '../lake/helpers.ts';

const LOAD_MS = 20_000;
const CLIENTS = 4;
const PER_REQUEST = 100;
/**
 * Each client sends its body in two halves this far apart, as a gateway on a slow link does: a request is in flight
 * at least this long, so four clients keep four requests in flight against a capacity of two, whatever the machine's
 * speed (without it, on an idle machine, a small request was answered before the next one arrived).
 */
const SEND_GAP_MS = 40;

/** POSTs a body in two writes SEND_GAP_MS apart; resolves with the answer (which may come before the second write). */
function slowPost(url: URL, body: string): Promise<{ status: number; retryAfter: string | undefined; json: { accepted?: { reportId: string }[]; code?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as never }));
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A refused request is answered before its body is read; the server may close before the second half is sent.
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), SEND_GAP_MS);
  });
}

describe('overload (issue 15, item 9)', () => {
  const tmp = tempDir('dw-overload-');
  after(() => tmp.cleanup());

  it('at 2x capacity: 503 + Retry-After, bounded memory, nothing acknowledged lost, recovers by itself', async () => {
    const config = validateConfig({
      dataDir: tmp.dir, security: { enabled: false }, http: { port: 0, host: '127.0.0.1' },
      ingest: { maxInflightRequests: 2, maxInflightBytes: 2 * 1024 * 1024, perDroneRequestsPerSecond: 0 },
    });
    const platform = await Platform.open(config);
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (!stopped) { stopped = true; await platform.stop(); }
    };
    try {
      await platform.start({ http: 'api', alerts: true, archive: true });
      const url = `${platform.address!}/v1/reports`;
      const acked = new Set<string>();
      const counts = { accepted: 0, refused: 0, other: 0, noRetryAfter: 0 };
      let seq = 0;
      const base = Date.now() - 3_600_000;
      const body = (client: number): string => {
        const lines: string[] = [];
        for (let i = 0; i < PER_REQUEST; i++) {
          const n = seq++;
          lines.push(JSON.stringify({
            droneId: `ov-${client}-${n % 40}`, timestamp: new Date(base + n).toISOString(), position: { lat: 48.85, lon: 2.35 },
            citizens: [{ name: 'Jeanne Martin', score: 80 }], words: ['bonjour'],
          }));
        }
        return lines.join('\n');
      };
      const rss: number[] = [];
      const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 250);
      const rssBefore = process.memoryUsage().rss;
      const until = Date.now() + LOAD_MS;
      await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
        while (Date.now() < until) {
          const res = await slowPost(new URL(url), body(client));
          const json = res.json;
          if (res.status === 202) {
            counts.accepted++;
            for (const a of json.accepted!) acked.add(a.reportId);
          } else if (res.status === 503 && json.code === 'DW_INGEST_BACKPRESSURE') {
            counts.refused++;
            if (!(Number(res.retryAfter) >= 1)) counts.noRetryAfter++;
          } else {
            counts.other++;
          }
        }
      }));
      clearInterval(sampler);
      const peak = Math.max(...rss);
      console.log(`overload: ${counts.accepted} requests accepted (${acked.size} reports), ${counts.refused} refused with 503, ${counts.other} other; RSS ${Math.round(rssBefore / 2 ** 20)} -> peak ${Math.round(peak / 2 ** 20)} MiB; admission ${JSON.stringify(platform['admission']?.stats())}`);
      assert.equal(counts.other, 0, 'only 202 or 503 DW_INGEST_BACKPRESSURE');
      assert.ok(counts.refused > 0, 'what is over capacity is refused');
      assert.ok(counts.accepted > 0, 'what is within capacity is taken');
      assert.equal(counts.noRetryAfter, 0, 'every 503 carries Retry-After');
      assert.ok(peak - rssBefore < 400 * 2 ** 20, `memory bounded (RSS grew ${Math.round((peak - rssBefore) / 2 ** 20)} MiB)`);

      // Recovers by itself: once the load stops, a request is taken again, without anyone doing anything.
      const again = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: body(99) });
      assert.equal(again.status, 202, 'taken again once the load stopped');
      for (const a of ((await again.json()) as { accepted: { reportId: string }[] }).accepted) acked.add(a.reportId);

      await stop(); // the archive drains what was published before it stopped
      const inLake = new Set((await reportsInLake(dataPaths(config).lake)).map((r) => r.reportId));
      const lost = [...acked].filter((id) => !inLake.has(id));
      assert.deepEqual(lost.slice(0, 5), [], `every acknowledged report is in the lake (${lost.length} of ${acked.size} missing)`);
      assert.equal(inLake.size, acked.size, 'and nothing refused was stored');
    } finally {
      await stop();
    }
  });
});
