// Launch Debian's Chromium through playwright-core, optionally with an unpacked extension.
// The flags are the ones verified in docs/BROWSERS.md; do not add --disable-features
// (it would replace Playwright's own list).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Absolute path of `test-output/` at the repository root (screenshots, logs); created on import. */
export const OUT_DIR = path.join(ROOT, 'test-output');
fs.mkdirSync(OUT_DIR, { recursive: true });

/**
 * A time as the core writes it (`day_clock`): "14:02" today, "Sun 03:10" (Indonesian "Min 03:10")
 * on another day within the week, "2026-12-24 09:00" further off. A reading taken before midnight
 * and shown after it, or a clock shifted by hours, carries its day, so every time a test reads
 * allows one: a run at 21:30 once failed on "as of the reading at Sun 21:31".
 */
export const CLOCK = String.raw`(?:(?:[A-Z][a-z]{2}|\d{4}-\d\d-\d\d) )?\d\d:\d\d`;

/** A RegExp from a raw template: `pattern\`^Balance read ${CLOCK}$\``. */
export const pattern = (strings, ...values) => new RegExp(String.raw(strings, ...values));

/** "id" -> "id_ID.UTF-8", "en" -> "en_US.UTF-8", "pt-BR" -> "pt_BR.UTF-8". */
function posixLocale(lang) {
  const [language, region] = lang.split(/[-_]/);
  const country = region ?? { en: 'US', id: 'ID' }[language] ?? language.toUpperCase();
  return `${language}_${country.toUpperCase()}.UTF-8`;
}

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Start a headless Chromium with a fresh profile.
 * @param {{ extensionDir?: string, lang?: string, args?: string[] }} [options] `extensionDir`:
 *   load this unpacked extension; `lang` (e.g. "id"): the browser's UI language (default:
 *   English); `args`: more command-line flags (e.g. `--host-resolver-rules`).
 * @returns {Promise<{
 *   context: import('playwright-core').BrowserContext,
 *   worker: import('playwright-core').Worker | null,
 *   extensionId: string | null,
 *   page: (url: string) => Promise<import('playwright-core').Page>,
 *   consoleMessages: string[],
 *   close: () => Promise<void>,
 * }>} `consoleMessages` collects every console line (pages and the service worker) and page error.
 */
export async function launch({ extensionDir, lang = 'en', args: extra = [] } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-chromium-'));
  const args = [...BASE_ARGS, ...extra];
  if (extensionDir) {
    const dir = path.resolve(extensionDir);
    args.unshift(`--disable-extensions-except=${dir}`, `--load-extension=${dir}`);
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args,
    viewport: { width: 800, height: 600 },
    // Chromium on Linux reads its UI language (chrome.i18n.getUILanguage) from these too.
    env: { ...process.env, LANGUAGE: lang, LC_ALL: posixLocale(lang), LANG: posixLocale(lang) },
  });

  const consoleMessages = [];
  context.on('console', (msg) => consoleMessages.push(`${msg.type()}: ${msg.text()}`));
  context.on('weberror', (err) => consoleMessages.push(`pageerror: ${err.error()?.message ?? err}`));

  let worker = null;
  let extensionId = null;
  if (extensionDir) {
    worker = context.serviceWorkers()[0]
      ?? await context.waitForEvent('serviceworker', { timeout: 15000 });
    extensionId = new URL(worker.url()).host;
  }

  return {
    context,
    worker,
    extensionId,
    consoleMessages,
    async page(url) {
      const p = await context.newPage();
      if (url) await p.goto(url);
      return p;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (then fails
 * naming `what` and the last value). */
export async function until(fn, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
