import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { gatewayAuth, openDashboard, pageErrors, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

const HOUR = 3_600_000;
/** The hour of the day of an instant on the Paris clock. */
const parisHour = (ms: number): number => Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(ms));

/**
 * Issue 20: the statistics, alert and health pages read by a French supervisor (fr-FR, Europe/Paris, 1440x900), with
 * reports posted by the test: a replayed sighting from 20 hours ago, words of two magnitudes, two hotspot cells 0.005
 * degrees apart. Times on a 24-hour clock in the user's locale, statistics by report time on the Paris clock, readable
 * charts (bars on their tick, two axes, no "--" in legends, ticks no finer than the data) and numbers.
 */
describe('statistics, alert details and fleet health read by a French supervisor, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let gateway: { authorization: string };
  // A sighting 20 hours before the test, replayed now: raised now, seen then.
  const seenAt = Math.floor((Date.now() - 20 * HOUR) / 1000) * 1000;

  const post = async (reports: object[]): Promise<void> => {
    const res = await fetch(`${dw.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json', ...gateway }, body: JSON.stringify(reports) });
    assert.ok(res.status === 202 || res.status === 207, `reports accepted (${res.status}): ${await res.text()}`);
  };
  const report = (droneId: string, ts: number, lat: number, lon: number, score: number, words: string[], name = `Person ${droneId}`): object =>
    ({ droneId, timestamp: new Date(ts).toISOString(), position: { lat, lon }, citizens: [{ name, score }], words });
  /** Texts the page draws on canvases (uPlot draws tick labels and titles with fillText). */
  const canvasTexts = (): Promise<string[]> => page.evaluate(() => (window as unknown as { __texts: string[] }).__texts.splice(0));
  /** Runs the statistic `name` and waits for its result, retrying while the lake has not caught up. */
  const showStat = async (name: string, ready: string): Promise<void> => {
    await page.selectOption('.stat-pick select', name);
    const deadline = Date.now() + 30_000;
    for (;;) {
      await page.waitForSelector(`.stat-result[data-stat="${name}"]`, { timeout: 20_000 });
      if (await page.$(`.stat-result[data-stat="${name}"] ${ready}`)) return;
      assert.ok(Date.now() < deadline, `${name}: ${ready} within 30 s`);
      await page.waitForTimeout(1000);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
    }
  };

  before(async () => {
    dw = await startDashboardPlatform({ simulator: false, archive: true });
    gateway = await gatewayAuth(dw.platform);
    // The replayed sighting, alone first: the health page must not call its time "now".
    await post([report('drone-replay', seenAt, 48.8566, 2.3522, 3, ['manifestation'], 'Rémi Rejoué')]);
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, `${dw.url}/#/health`, undefined, {
      login: dw.supervisor, locale: 'fr-FR', timezoneId: 'Europe/Paris',
      initScript: () => {
        const texts: string[] = [];
        (window as unknown as { __texts: string[] }).__texts = texts;
        const fill = CanvasRenderingContext2D.prototype.fillText;
        CanvasRenderingContext2D.prototype.fillText = function (this: CanvasRenderingContext2D, text: string, x: number, y: number, w?: number) {
          texts.push(String(text));
          return w === undefined ? fill.call(this, text, x, y) : fill.call(this, text, x, y, w);
        };
      },
    }));
    errors = pageErrors(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('fleet health: the newest report time is said to be behind the clock, and the chart ticks whole seconds on a 24-hour clock', async () => {
    await page.waitForSelector('.newest-report', { timeout: 15_000 });
    await page.waitForFunction(() => /behind the clock/.test(document.querySelector('.newest-report')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const text = (await page.textContent('.newest-report')) ?? '';
    assert.match(text, /Newest report time: \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}, 20 h( \d+ min)? behind the clock: the reports are replayed/, text);
    // Five seconds of history: uPlot would tick every half second (":41.000 :41.500") without a floor at the data's step.
    await canvasTexts();
    await page.waitForTimeout(6000);
    await page.setViewportSize({ width: 1439, height: 900 }); // a redraw, with the history there now
    await page.waitForTimeout(500);
    const ticks = (await canvasTexts()).filter((t) => /\d:\d|\.\d{3}/.test(t));
    assert.ok(ticks.length > 0, 'time ticks drawn');
    for (const t of ticks) assert.match(t, /^(\d{2}\/\d{2} )?\d{2}:\d{2}(:\d{2})?$/, `a 24-hour tick of whole seconds: "${t}" (of ${ticks.join(' | ')})`);
    assert.ok(!ticks.some((t) => /AM|PM|\.\d/.test(t)), 'no AM/PM, no fractions of seconds');
  });

  it('alert details: seen and raised on a 24-hour clock in French, and why they differ', async () => {
    await page.goto(`${dw.url}/#/`);
    await page.click('li[data-alert-id] button', { timeout: 15_000 });
    await page.waitForSelector('.detail[data-alert-id] .detail-raised');
    const seen = (await page.textContent('.detail .detail-time')) ?? '';
    const raised = (await page.textContent('.detail .detail-raised')) ?? '';
    const seenLocal = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(seenAt);
    assert.equal(seen, seenLocal, 'the report time, dd/mm/yyyy hh:mm:ss in Paris');
    assert.match(raised, /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2} \(20 h( \d+ min)? after the sighting: the report reached the platform late/, raised);
    assert.doesNotMatch(`${seen} ${raised}`, /AM|PM/);
  });

  it('statistics: alerts by the hour they were seen on the Paris clock, the bar of a lone value on its tick, legends without "--"', async () => {
    // Now words of two magnitudes (a stop word among them), and two alerts in hotspot cells 0.005 degrees apart.
    const now = Date.now();
    const many = Array.from({ length: 60 }, (_, i) => report(`drone-w${i % 6}`, now - 60_000 + i * 100, 48.80 + i / 1000, 2.30, 80, ['marché', 'oui']));
    await post([
      ...many,
      report('drone-h1', now - 30_000, 48.8702, 2.3852, 4, ['marché'], 'Alice Cellule'),
      report('drone-h2', now - 29_000, 48.8752, 2.3852, 4, ['marché'], 'Bruno Cellule'),
    ]);
    await page.goto(`${dw.url}/#/stats?stat=alerts-by-hour`);
    await showStat('alerts-by-hour', '.chart canvas');
    await page.waitForFunction(() => document.querySelectorAll('.stat-result .table-block tbody tr').length >= 1);
    assert.match((await page.textContent('.stat-time')) ?? '', /time of the report that raised them.*Europe\/Paris clock/);
    const hours = await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.map((tr) => Number(tr.querySelector('td')?.textContent)));
    assert.ok(hours.includes(parisHour(seenAt)), `the replayed alert in the hour it was seen in Paris (${parisHour(seenAt)}): ${hours.join(', ')}`);
    const legend = await page.$$eval('.stat-result .u-legend', (ls) => ls.map((l) => (l as HTMLElement).innerText).join(' '));
    assert.doesNotMatch(legend, /--/, `legend: ${legend}`);

    // One day of reports (the last hour's): one bar, which must stand on its tick (the middle of the plot), not far left of it.
    await page.selectOption('.range select', '1h');
    await showStat('reports-daily', '.chart canvas');
    await page.waitForTimeout(300);
    assert.equal(await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.length), 1, 'one day');
    const px = await page.$eval('.stat-result .chart', (el) => {
      const canvas = el.querySelector('canvas')!;
      const over = el.querySelector('.u-over')!.getBoundingClientRect();
      const box = canvas.getBoundingClientRect();
      const ratio = canvas.width / box.width;
      const ctx = canvas.getContext('2d')!;
      // No named helper: the test runner's transform would wrap it in a function the page does not have.
      const [centre, left] = [over.left + over.width / 2, over.left + over.width * 0.12]
        .map((x) => [...ctx.getImageData(Math.round((x - box.left) * ratio), Math.round((over.bottom - 5 - box.top) * ratio), 1, 1).data]);
      return { centre: centre!, left: left! };
    });
    assert.ok(px.centre[2]! > 120 && px.centre[0]! < 100, `the bar is drawn at the centre of the plot: rgba ${px.centre.join(',')}`);
    assert.ok(px.left[3] === 0 || px.left[2]! < 120 || px.left[0]! > 150, `and not at its left: rgba ${px.left.join(',')}`);
    await page.selectOption('.range select', 'all');
  });

  it('statistics: top words without stop words, the small series on its own axis; hotspot cells apart with three decimals', async () => {
    // Ready once the 62 reports are in the lake: then the two series differ tenfold and get an axis each.
    await showStat('top-words', '.chart[data-axes="y,y2"]');
    const words = await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    assert.ok(words.includes('marché') && !words.includes('oui'), `no stop words: ${words.join(', ')}`);
    assert.equal(await page.getAttribute('.stat-result .chart', 'data-axes'), 'y,y2', 'heard (62) and heard in alert reports (3): two axes');
    assert.match((await page.getAttribute('.stat-result .chart', 'aria-label')) ?? '', /heard_in_alert_reports on the right-hand axis/);

    // Three cells: the replayed alert's and the two posted last (the lake may take a second more for them).
    await showStat('hotspots', '.table-block tbody tr:nth-child(3)');
    const cells = await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent).join(' ')));
    assert.ok(cells.includes('48,870 2,385') && cells.includes('48,875 2,385'), `two cells, told apart, in French notation: ${cells.join(' | ')}`);
    assert.equal(new Set(cells).size, cells.length, 'no two rows look alike');
  });

  it('shows no errors in the page', () => {
    assert.deepEqual(errors, [], 'no console errors or uncaught exceptions');
  });
});
