import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { openDashboard, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();
/** How long alerts are collected. */
const MEASURE_MS = Number(process.env.DASHBOARD_LATENCY_MS ?? 20_000);

type Seen = Record<string, { dom: number; frame: number }>;

/**
 * Runs in the page before the app: notes when each alert row enters the DOM (a MutationObserver callback runs right
 * after the render that inserted it) and the start of the next frame after that (when it can be on screen).
 * Times are `performance.timeOrigin + performance.now()`: the machine's clock, as on the server side.
 */
function observeAlertRows(): void {
  const seen: Seen = {};
  (window as unknown as { dwSeen: Seen }).dwSeen = seen;
  new MutationObserver((mutations) => {
    const t = performance.timeOrigin + performance.now();
    for (const m of mutations) {
      for (const n of m.addedNodes) {
        if (!(n instanceof Element)) continue;
        const rows = n.matches('li[data-alert-id]') ? [n] : [...n.querySelectorAll('li[data-alert-id]')];
        for (const el of rows) {
          const id = el.getAttribute('data-alert-id')!;
          if (seen[id]) continue;
          const entry = { dom: t, frame: 0 };
          seen[id] = entry;
          requestAnimationFrame(() => (entry.frame = performance.timeOrigin + performance.now()));
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summary(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 10) / 10;
  return { n: s.length, p50: r(quantile(s, 0.5)), p95: r(quantile(s, 0.95)), p99: r(quantile(s, 0.99)), max: r(s[s.length - 1]!) };
}

/**
 * Alert latency as an officer sees it: from the alert being raised on the server to its row in the feed of an open
 * dashboard, with the platform as `npm start` runs it (1,000 drones at 60x). Reported, not asserted (performance
 * goes to docs/benchmarks.md); the test checks that every alert raised while the page was open reached it.
 */
describe('alert latency to the dashboard (raised -> DOM), in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    dw = await startDashboardPlatform({ drones: 1000, speed: 60, archive: 'thread' });
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, dw.url, { width: 1440, height: 900 }, { initScript: observeAlertRows, reducedMotion: 'no-preference', login: dw.supervisor }));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('measures raised -> feed row for every alert raised while the page is open', async (t) => {
    await page.waitForSelector('header .conn.up', { timeout: 30_000 });
    await page.waitForSelector('li[data-alert-id]', { timeout: 30_000 });
    // Alerts from the initial list load are not live deliveries: count those raised from a second after connecting.
    const from = performance.timeOrigin + performance.now() + 1000;
    const raised = new Map<string, { raisedAt: number; busAt: number }>();
    const off = dw.platform.bus.subscribe((e) => {
      if (e.type === 'raised') raised.set(e.alert.alertId, { raisedAt: e.alert.raisedAt, busAt: performance.timeOrigin + performance.now() });
    });
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    off();
    await page.waitForTimeout(1000);
    const seen = await page.evaluate(() => (window as unknown as { dwSeen: Seen }).dwSeen);
    const fromRaised: number[] = [];
    const fromBus: number[] = [];
    const toFrame: number[] = [];
    const missing: string[] = [];
    for (const [id, r] of raised) {
      if (r.busAt < from) continue;
      const s = seen[id];
      if (!s) {
        missing.push(id);
        continue;
      }
      fromRaised.push(s.dom - r.raisedAt);
      fromBus.push(s.dom - r.busAt);
      if (s.frame > 0) toFrame.push(s.frame - r.raisedAt);
    }
    assert.ok(fromRaised.length >= 20, `enough alerts raised while measuring (${fromRaised.length})`);
    assert.deepEqual(missing, [], 'every alert raised while the page was open appeared in its feed');
    // Clock check against raisedAt, stamped before the alert is stored, hence before any delivery. Not against busAt:
    // this test's bus listener runs after the page's SSE listener, which writes the event to the socket at once, so a
    // pause of this thread between the two (GC, a descheduled process on a busy machine) puts the row before busAt.
    assert.ok(Math.min(...fromRaised) > -5, `no row before its alert was raised (clock check: min ${Math.min(...fromRaised)} ms)`);
    const result = {
      alerts: fromRaised.length,
      seconds: MEASURE_MS / 1000,
      raisedToDomMs: summary(fromRaised),
      busToDomMs: summary(fromBus),
      raisedToNextFrameMs: summary(toFrame),
    };
    t.diagnostic(`raised -> DOM ms: ${JSON.stringify(result.raisedToDomMs)}`);
    t.diagnostic(`bus delivery -> DOM ms: ${JSON.stringify(result.busToDomMs)}`);
    t.diagnostic(`raised -> next frame ms: ${JSON.stringify(result.raisedToNextFrameMs)}`);
    if (process.env.DASHBOARD_LATENCY_OUT) writeFileSync(process.env.DASHBOARD_LATENCY_OUT, `${JSON.stringify(result, null, 2)}\n`);
  });
});
