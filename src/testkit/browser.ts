/**
 * A real browser for the dashboard's end-to-end tests and screenshots: Debian's chromium driven by playwright-core
 * (which ships no browser of its own here; nothing is downloaded).
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Where Debian installs chromium; CHROMIUM_BIN points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export const CHROMIUM_INSTALL_HINT = `chromium not found at ${CHROMIUM_PATH}: install Debian's package as root with `
  + '`apt-get install -y chromium` (or set CHROMIUM_BIN to a Chromium/Chrome binary)';

/** Headless, and nothing that talks to the internet on its own (updates, sync, field trials). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * For tests: undefined when chromium is there, else a skip message with the install command.
 * With CI=true a missing browser throws instead: CI must not pass by skipping.
 */
export function chromiumOrSkip(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM_INSTALL_HINT} (CI=true: the dashboard tests must run)`);
  return CHROMIUM_INSTALL_HINT;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}
