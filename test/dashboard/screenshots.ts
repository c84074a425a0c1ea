/**
 * `npm run screenshots`: runs the platform with the simulator for a little while, then saves a screenshot of each
 * dashboard page (and of the login page) under docs/screenshots/ (what the README shows), logged in as a supervisor. Tests take theirs into a temp dir instead.
 */
import { fileURLToPath } from 'node:url';
import { CHROMIUM_INSTALL_HINT, chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { startDashboardPlatform, takeScreenshots } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
if (chromiumOrSkip()) {
  console.error(CHROMIUM_INSTALL_HINT);
  process.exit(1);
}
const dw = await startDashboardPlatform({ drones: 1000, speed: 60 });
const browser = await launchChromium();
try {
  console.error(`platform on ${dw.url}; letting the simulator run for 20 s`);
  await new Promise((r) => setTimeout(r, 20_000));
  // As a French supervisor sees it: French dates and times (24-hour clock), hours of the Paris clock.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, reducedMotion: 'reduce', locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  const page = await context.newPage();
  for (const f of await takeScreenshots(page, dw.url, out, dw.supervisor)) console.log(f);
  await context.close();
} finally {
  await browser.close();
  await dw.cleanup();
}
