// Helpers for tests that drive the unpacked extension in Chromium: configure it through its
// options page as a user would, open the popup, read the badge. Needs `make build` first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, OUT_DIR } from './browser.mjs';

/** The repository's root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The unpacked Chrome build (CAB_EXTENSION_DIR to test another copy). */
export const EXTENSION_DIR = process.env.CAB_EXTENSION_DIR ?? path.join(ROOT, 'dist', 'extension');
/** A well-formed key (32 hex characters) that must never show up anywhere but in requests. */
export const KEY = '5e1f0c9a7b3d4e2f8a6c1b0d9e7f3a24';
export const MINUTE = 60_000;
/** The popup as Chrome shows it: 340 px wide, at most 600 px high. */
export const POPUP_VIEWPORT = { width: 340, height: 600 };

/** Poll `read` until `accept(value)` holds or `timeoutMs` passes; returns the last value. */
export async function waitFor(read, accept, { timeoutMs = 10_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let value;
  for (;;) {
    value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start Chromium with the extension, run `fn(ext)`, close it. */
export async function withExtension(fn, options = {}) {
  assert.ok(fs.existsSync(path.join(EXTENSION_DIR, 'manifest.json')), `${EXTENSION_DIR} is missing: run \`make build\` first`);
  const ext = await launch({ extensionDir: EXTENSION_DIR, ...options });
  try {
    await fn(ext);
  } finally {
    await ext.close();
  }
}

/** The toolbar badge as the worker sees it. */
export function badge(ext) {
  return ext.worker.evaluate(async () => {
    const [r, g, b] = await chrome.action.getBadgeBackgroundColor({});
    return {
      text: await chrome.action.getBadgeText({}),
      color: `#${[r, g, b].map((n) => n.toString(16).padStart(2, '0')).join('')}`,
      title: await chrome.action.getTitle({}),
    };
  });
}

/** Resolve when the worker has no check in flight. */
export function idle(ext) {
  return ext.worker.evaluate(() => globalThis.captchaaiBalance.idle());
}

/** Wait until the badge shows `text` (and `color`), then settle the worker. */
/** Fire the real `poll` alarm now and wait until its check has finished. */
export function fireAlarm(ext) {
  return ext.worker.evaluate(async () => {
    const fired = new Promise((resolve) => {
      const listener = (alarm) => {
        if (alarm.name !== 'poll') return;
        chrome.alarms.onAlarm.removeListener(listener);
        resolve();
      };
      chrome.alarms.onAlarm.addListener(listener);
    });
    // Real time, not a shifted Date.now: the alarm must be due now.
    await chrome.alarms.create('poll', { when: performance.timeOrigin + performance.now() });
    await fired;
    await globalThis.captchaaiBalance.idle();
  });
}

export async function expectBadge(ext, { text, color }) {
  const look = await waitFor(() => badge(ext), (b) => b.text === text && (!color || b.color === color),
    { what: `badge ${text} ${color ?? ''}` });
  await idle(ext);
  return look;
}

/** Runs in the worker or a page: Date.now() = real time + offset. */
export function shiftClock(offset) {
  globalThis.realNow ??= Date.now.bind(Date);
  Date.now = () => globalThis.realNow() + offset;
}

/** Move the worker's clock `ms` ahead of real time (pages opened later follow it). */
export function shiftWorkerClock(ext, ms) {
  ext.clockOffsetMs = ms;
  return ext.worker.evaluate(shiftClock, ms);
}

/**
 * Record what the worker notifies from now on, as `{ id, title, message, priority }` (a
 * headless browser keeps no notification's text); `notified` reads them back.
 */
export function recordNotifications(ext) {
  return ext.worker.evaluate(() => {
    globalThis.notified = [];
    const create = chrome.notifications.create.bind(chrome.notifications);
    chrome.notifications.create = (id, options) => {
      globalThis.notified.push({ id, title: options.title, message: options.message, priority: options.priority });
      return create(id, options);
    };
  });
}

/** The notifications recorded since `recordNotifications`. */
export const notified = (ext) => ext.worker.evaluate(() => globalThis.notified);

/** Open an extension page on the worker's shifted clock. */
export async function openPage(ext, file, { viewport } = {}) {
  const page = await ext.page();
  if (viewport) await page.setViewportSize(viewport);
  if (ext.clockOffsetMs) await page.addInitScript(shiftClock, ext.clockOffsetMs);
  await page.goto(`chrome-extension://${ext.extensionId}/${file}`);
  return page;
}

/**
 * The options page, once the stored settings are in (Save is enabled then; the rate inputs,
 * folded under "Advanced", are there).
 */
export async function openOptions(ext) {
  const page = await openPage(ext, 'options.html');
  await page.locator('#rates input').first().waitFor({ state: 'attached' });
  await page.locator('#save:enabled').waitFor();
  return page;
}

/**
 * Fill the options page like a user: key (`null`: leave the field alone), threshold, endpoint
 * (under "Advanced"; required, e.g. the mock API's `url`), and only when given: notifications,
 * rates (`{ image: '0.0008' }`), showSolves. Save; returns the page once the save was answered
 * ("warn": saved, but the check that followed says the key has a problem) and, unless `settle`
 * is false, the worker finished the check it asked for (`settle: false` leaves that check in
 * flight, for tests about a slow or lost request).
 */
export async function configure(ext, {
  key = KEY, threshold = '1.00', endpoint, notifications, rates = {}, showSolves, settle = true,
} = {}) {
  assert.ok(typeof endpoint === 'string', 'configure: pass the endpoint to ask (the mock API\'s url)');
  const page = await openOptions(ext);
  if (key !== null) await page.locator('#apiKey').fill(key);
  await page.locator('#threshold').fill(threshold);
  if (notifications !== undefined) await page.locator('#notifications').setChecked(notifications);
  await page.locator('#advanced summary').click();
  await page.locator('#endpoint').fill(endpoint);
  for (const [type, rate] of Object.entries(rates)) await page.locator(`#rate-${type}`).fill(rate);
  if (showSolves !== undefined) await page.locator('#showSolves').setChecked(showSolves);
  await page.locator('#save').click();
  await page.locator('#status[data-kind="ok"], #status[data-kind="warn"]').waitFor();
  if (settle) await idle(ext);
  return page;
}

/** A second well-formed key (32 hex characters), for a second account. */
export const KEY_2 = 'a9c04e7d1b2f3a5c6e8d0f1a2b3c4d5e';

/** One account section of the options page (0 = the first). */
export function accountSection(page, index) {
  return page.locator(`fieldset.account[data-index="${index}"]`);
}

/**
 * Fill several accounts on the options page like a user: the sections that exist are
 * edited, **Add account** makes the others; per account `{ name, provider, key, threshold,
 * endpoint }` (`provider`: the option's label, e.g. "Anti-Captcha"; `key: null` leaves the
 * field alone). Save, and wait as {@link configure} does. Returns the page.
 */
export async function configureAccounts(ext, accounts, { settle = true, page: given } = {}) {
  const page = given ?? await openOptions(ext);
  const count = await page.locator('fieldset.account').count();
  for (let i = count; i < accounts.length; i += 1) await page.getByRole('button', { name: 'Add account', exact: true }).click();
  for (const [i, account] of accounts.entries()) {
    const section = accountSection(page, i);
    if (account.provider) await section.getByLabel('Provider', { exact: true }).selectOption({ label: account.provider });
    if (account.name) await section.getByLabel('Name', { exact: true }).fill(account.name);
    if (account.key !== null) await section.getByLabel('API key', { exact: true }).fill(account.key ?? KEY);
    await section.getByLabel('Low-balance threshold', { exact: true }).fill(account.threshold ?? '1.00');
    const advanced = section.locator('details.advanced');
    if (!(await advanced.evaluate((d) => d.open))) await advanced.locator('summary').click();
    await section.getByLabel('API endpoint', { exact: true }).fill(account.endpoint);
  }
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#status[data-kind="ok"], #status[data-kind="warn"]').waitFor();
  if (settle) await idle(ext);
  return page;
}

/**
 * Open the popup as a tab (on the worker's shifted clock) and wait until its `open` check was
 * answered. Default viewport: the browser's 800x600 (a normal window; Chrome cuts popups at
 * 600 px high).
 */
export async function openPopup(ext, { viewport, checks = 1 } = {}) {
  const page = await openPage(ext, 'popup.html', { viewport });
  await page.waitForFunction((n) => Number(document.documentElement.dataset.checks ?? 0) >= n, checks);
  return page;
}

/**
 * The popup in a page whose wasm never finishes compiling (WebAssembly.instantiate and
 * instantiateStreaming never resolve): only a view stored by an earlier opening can paint.
 */
export async function openPopupWithoutWasm(ext) {
  const page = await ext.page();
  await page.addInitScript(() => {
    const never = () => new Promise(() => {});
    WebAssembly.instantiate = never;
    WebAssembly.instantiateStreaming = never;
  });
  await page.goto(`chrome-extension://${ext.extensionId}/popup.html`);
  return page;
}

/** The text an element shows. */
export const text = (page, selector) => page.locator(selector).innerText();

/** A full-page screenshot in test-output/. */
export async function screenshot(page, name) {
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
