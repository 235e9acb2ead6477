// The MV3 extension in real Chromium (playwright-core + /usr/bin/chromium) against a loopback
// mock CaptchaAI. Needs `make build` first (dist/extension). Every test starts a fresh
// profile, configures the extension through its options page as a user would, then reads the
// badge from the service worker and the text from the popup.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startMockApi } from './lib/mock-api.mjs';
import { CLOCK, OUT_DIR, pattern } from './lib/browser.mjs';
import {
  KEY, MINUTE, ROOT, badge, configure, expectBadge, fireAlarm, idle, openOptions, openPopup, screenshot,
  shiftWorkerClock, text, waitFor, withExtension as withBrowser,
} from './lib/extension.mjs';
import { startServer } from './lib/server.mjs';

/** The key's middle: even a partial leak (more than the masked first/last 4) is a leak. */
const KEY_MIDDLE = KEY.slice(4, -4);

const GREEN = '#15803d';
const RED = '#dc2626';
const GREY = '#6b7280';
/** A low or empty reading that is out of date (src/badge.rs). */
const DARK_RED = '#7f1d1d';
/** The popup as Chrome shows it: 340 px wide. */
const POPUP_VIEWPORT = { width: 340, height: 640 };

let api;

before(async () => {
  fs.rmSync(path.join(OUT_DIR, 'extension-console.log'), { force: true });
  api = await startMockApi();
});
after(async () => { await api?.close(); });
beforeEach(() => { api.reset(); });

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * Start Chromium with the extension; `fn(ext)` runs, then the console of every page and of
 * the worker is checked for the key, and the browser is closed.
 */
function withExtension(fn, options = {}) {
  return withBrowser(async (ext) => {
    await fn(ext);
    fs.appendFileSync(path.join(OUT_DIR, 'extension-console.log'), `${ext.consoleMessages.join('\n')}\n`);
    // Prove the console capture sees the worker, so the check below is not vacuous.
    await ext.worker.evaluate(() => console.log('console-probe'));
    await waitFor(() => ext.consoleMessages.some((m) => m.includes('console-probe')), Boolean,
      { what: 'worker console capture' });
    assertNoKey(ext.consoleMessages.join('\n'), 'console messages');
  }, options);
}

function assertNoKey(text, where) {
  assert.ok(!text.includes(KEY), `the full API key appears in ${where}`);
  assert.ok(!text.includes(KEY_MIDDLE), `part of the API key appears in ${where}`);
}

/** Everything a page could leak: visible text, serialized DOM, and every input's live value. */
async function assertPageHasNoKey(page, where) {
  assertNoKey(await page.evaluate(() => document.body.innerText), `${where} text`);
  assertNoKey(await page.content(), `${where} DOM`);
  const values = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .map((el) => `${el.value} ${el.placeholder ?? ''}`).join('\n'));
  assertNoKey(values, `${where} input values`);
}

/**
 * Notification ids without their account (`captchaai-balance-warning:ID` -> `…-warning`):
 * one id per kind and account.
 */
function kinds(ids) {
  return ids.map((id) => id.replace(/:[^:]+$/, ''));
}

function storedState(ext) {
  return ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state ?? null);
}

// ---------------------------------------------------------------------------------------------
// tests

test('options page has the exact English labels and a Save button', async () => {
  await withExtension(async (ext) => {
    const page = await openOptions(ext);
    for (const label of ['API key', 'Low-balance threshold', 'Check interval (minutes)', 'API endpoint']) {
      assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, `label "${label}"`);
    }
    assert.equal(await page.getByLabel('Notifications', { exact: true }).count(), 1);
    assert.ok(await page.locator('#rates input').count() >= 7, 'one rate input per captcha type');
    assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).count(), 1);
    // Nothing configured yet: grey "?" and no request.
    await expectBadge(ext, { text: '?', color: GREY });
    assert.equal(api.balanceRequests(), 0);
    // No key, so no account is known to add funds to.
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
    await popup.locator('#paused').waitFor();
    assert.equal(await popup.locator('#add-funds').isVisible(), false, 'Add funds without a key');
  });
});

test('ok balance: green badge with the short balance, popup shows balance, remaining and estimate', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    const options = await configure(ext, { endpoint: api.url });
    const look = await expectBadge(ext, { text: '12.3', color: GREEN });
    assert.match(look.title, /12\.345/, 'badge title has the full balance');
    assert.deepEqual(api.keysSeen(), [KEY], 'the typed key was sent, once');

    // The key input is empty after save; its placeholder shows the masked key.
    const keyInput = options.getByLabel('API key', { exact: true });
    assert.equal(await keyInput.inputValue(), '');
    const placeholder = await keyInput.getAttribute('placeholder');
    assert.ok(placeholder.startsWith(KEY.slice(0, 4)) && placeholder.endsWith(KEY.slice(-4)), placeholder);
    assert.notEqual(placeholder, KEY);
    await options.screenshot({ path: path.join(OUT_DIR, 'options.png'), fullPage: true });
    await assertPageHasNoKey(options, 'options page');

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#balance'), '$12.3450');
    assert.ok((await text(popup, '#level')).length > 0, 'level in words, not colour alone');
    assert.match(await text(popup, '#checked'), /last checked|just now|ago/i);
    assert.equal(await popup.locator('#stale').isVisible(), false);
    assert.equal(await popup.locator('#error').isVisible(), false);
    assert.match(await popup.locator('#add-funds').getAttribute('href'), /^https:\/\/(www\.)?captchaai\.com/);
    assert.equal(await popup.locator('#add-funds').getAttribute('target'), '_blank');

    // Solves remaining (a folded section): floor(12.345 / 0.003) = 4115 reCAPTCHA v2 solves.
    await popup.locator('#remaining-card summary').click();
    const rows = popup.locator('#remaining tbody tr');
    assert.ok(await rows.count() >= 7);
    const v2 = await popup.locator('#remaining tr[data-type="recaptcha_v2"]').innerText();
    assert.match(v2.replace(/[,.\s](?=\d{3}\b)/g, ''), /4115/);

    // Calculator: 1000 reCAPTCHA v2 cost $3.0000, covered; 5000 are short by $2.6550.
    await popup.locator('#calc-type').selectOption('recaptcha_v2');
    await popup.locator('#calc-qty').fill('1000');
    await waitFor(() => text(popup, '#calc-cost'), (s) => s.includes('$3.0000'), { what: 'estimate cost' });
    assert.equal(await popup.locator('#calc-verdict').getAttribute('data-enough'), 'true');
    await popup.locator('#calc-qty').fill('5000');
    await waitFor(() => text(popup, '#calc-verdict'), (s) => s.includes('$2.6550'), { what: 'shortfall' });
    assert.equal(await popup.locator('#calc-verdict').getAttribute('data-enough'), 'false');
    await popup.locator('#calc-qty').fill('1000');
    await waitFor(() => text(popup, '#calc-cost'), (s) => s.includes('$3.0000'), { what: 'estimate cost' });
    await screenshot(popup, 'popup.png');
    await popup.emulateMedia({ colorScheme: 'dark' });
    await screenshot(popup, 'popup-dark.png');
    await assertPageHasNoKey(popup, 'popup');
  });
});

test('a balance sent as a JSON number reads the same', async () => {
  api.setScenario({ scenario: 'number', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#balance'), '$12.3450');
  });
});

test('low balance: red badge with the short balance', async () => {
  api.setScenario({ scenario: 'low' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '0.42', color: RED });
    // The core's alert machine decided on a warning; notifications are on by default.
    const shown = await ext.worker.evaluate(() => chrome.notifications.getAll());
    assert.deepEqual(kinds(Object.keys(shown)), ['captchaai-balance-warning']);
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#balance'), '$0.4200');
    await screenshot(popup, 'popup-low.png');
  });
});

test('zero balance: red 0 (and no notification when they are turned off)', async () => {
  api.setScenario({ scenario: 'zero' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url, notifications: false });
    await expectBadge(ext, { text: '0', color: RED });
    assert.deepEqual(await ext.worker.evaluate(() => chrome.notifications.getAll()), {});
  });
});

test('ERROR_ZERO_BALANCE: red 0 and a critical notification', async () => {
  api.setScenario({ scenario: 'error_zero_balance' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '0', color: RED });
    const shown = await ext.worker.evaluate(() => chrome.notifications.getAll());
    assert.deepEqual(kinds(Object.keys(shown)), ['captchaai-balance-critical']);
  });
});

test('wrong key: grey !, popup shows cause and fix, the alarm does not retry the key', async () => {
  api.setScenario({ scenario: 'wrong_key' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '!', color: GREY });
    assert.equal(api.balanceRequests(), 1);

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await popup.locator('#error').isVisible(), true);
    for (const part of ['#error-message', '#error-cause', '#error-fix']) {
      assert.ok((await text(popup, part)).trim().length > 10, `${part} is filled`);
    }
    assert.match(await text(popup, '#error'), /key/i);
    // Money cannot be added to an account the provider does not recognise as this key's.
    assert.equal(await popup.locator('#add-funds').isVisible(), false, 'Add funds beside a rejected key');
    await screenshot(popup, 'popup-wrong-key.png');
    await assertPageHasNoKey(popup, 'popup (wrong key)');
    await popup.close();

    // An hour later (far past any interval, floor or backoff) the alarm still sends nothing.
    await shiftWorkerClock(ext, 60 * MINUTE);
    await fireAlarm(ext);
    await ext.worker.evaluate(() => globalThis.captchaaiBalance.check('alarm'));
    assert.equal(api.balanceRequests(), 1, 'a rejected key was retried');
    assert.equal((await badge(ext)).text, '!');
  });
});

test('a key rejected after good readings hides nothing: the badge keeps the level out of date, the tooltip the balance and its age, the popup the sparkline and the key problem', async () => {
  api.setScenario({ scenario: 'low', balance: '0.60' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '0.60', color: RED });
    // A second reading, so the day's sparkline has a line to draw.
    api.setScenario({ scenario: 'low', balance: '0.42' });
    await shiftWorkerClock(ext, 11 * MINUTE);
    await fireAlarm(ext);
    await expectBadge(ext, { text: '0.42', color: RED });
    // The provider rejects the key at the next check.
    api.setScenario({ scenario: 'wrong_key' });
    await shiftWorkerClock(ext, 22 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 3);
    // Still low (the money did not change), but out of date: the stale red, not the grey "!".
    const look = await expectBadge(ext, { text: '0.42', color: DARK_RED });
    const lines = look.title.split('\n');
    assert.match(lines[0], /^Balance: \$0\.4200 \(Low\), checked \d+ min ago$/, look.title);
    assert.match(look.title, /rejected the API key/);
    assert.match(look.title, /Stale/);

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#balance'), '$0.4200');
    assert.equal(await text(popup, '#level'), 'Low · below $1.0000 · out of date');
    assert.match(await text(popup, '#checked'), pattern`^Balance read ${CLOCK}, \d+ min ago$`);
    assert.equal(await popup.locator('#error').isVisible(), true, 'the key problem is explained');
    assert.equal(await popup.locator('#error').getAttribute('data-severity'), 'error');
    assert.match(await text(popup, '#error-message'), /rejected the API key/);
    assert.equal(await popup.locator('#sparkline').isVisible(), true, 'the sparkline stays');
    await screenshot(popup, 'popup-rejected-after-reading.png');
    assert.equal(api.balanceRequests(), 3, 'opening the popup retried a rejected key');
  });
});

test('a key rejected, then re-enabled at the provider: Save with the same key, Refresh and Test key each ask once; the alarm alone never', async () => {
  api.setScenario({ scenario: 'wrong_key' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '!', color: GREY });
    assert.equal(api.balanceRequests(), 1);

    // The key is re-enabled at the provider. Nothing automatic asks it again, however late.
    api.setScenario({ scenario: 'ok', balance: '12.345' });
    await shiftWorkerClock(ext, 60 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 1, 'the alarm retried a rejected key');

    // 1. Save with the same key text: one request, and the balance shows.
    const options = await openOptions(ext);
    await options.locator('#apiKey').fill(KEY);
    await options.locator('#save').click();
    await options.locator('#status[data-kind="ok"], #status[data-kind="warn"]').waitFor();
    await idle(ext);
    assert.equal(api.balanceRequests(), 2, 'a Save with the same key sent no request (or more than one)');
    await expectBadge(ext, { text: '12.3', color: GREEN });
    await waitFor(() => options.locator('#apiKey-status').innerText(), (s) => /accepted/.test(s), { what: 'key accepted' });
    await options.close();

    // Rejected again at the next scheduled check, then re-enabled once more.
    api.setScenario({ scenario: 'wrong_key' });
    await shiftWorkerClock(ext, 75 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 3, 'the scheduled check after the good reading');
    api.setScenario({ scenario: 'ok', balance: '20' });
    await shiftWorkerClock(ext, 140 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 3, 'the alarm retried a rejected key');

    // 2. Refresh in the popup: opening it asks nothing, Refresh asks once.
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    await idle(ext);
    assert.equal(api.balanceRequests(), 3, 'opening the popup retried a rejected key');
    const refresh = popup.locator('#refresh');
    assert.equal(await refresh.isDisabled(), false, 'Refresh is disabled for a rejected key');
    await refresh.click();
    await waitFor(() => text(popup, '#balance'), (s) => s === '$20.0000', { what: 'the balance after Refresh' });
    await idle(ext);
    assert.equal(api.balanceRequests(), 4, 'Refresh sent no request (or more than one)');
    await expectBadge(ext, { text: '20.0', color: GREEN });
    // The floor still holds: after the press, the button says how long until the next one.
    await waitFor(() => refresh.isDisabled(), Boolean, { what: 'Refresh within the floor' });
    assert.match(await refresh.innerText(), /^You can check again in \d+ s$/);
    await idle(ext);
    assert.equal(api.balanceRequests(), 4, 'a press within the floor sent a request');
    await popup.close();

    // 3. Test key on the options page, after one more rejection.
    api.setScenario({ scenario: 'wrong_key' });
    await shiftWorkerClock(ext, 160 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 5);
    api.setScenario({ scenario: 'ok', balance: '7.5' });
    await shiftWorkerClock(ext, 170 * MINUTE);
    const page = await openOptions(ext);
    const testKey = page.getByRole('button', { name: 'Test key', exact: true });
    await waitFor(() => testKey.isDisabled(), (d) => !d, { what: 'Test key enabled for a rejected key' });
    await testKey.click();
    await waitFor(() => page.locator('#apiKey-status').innerText(), (s) => /accepted/.test(s), { what: 'key accepted after Test key' });
    await idle(ext);
    assert.equal(api.balanceRequests(), 6, 'Test key sent no request (or more than one)');
    await expectBadge(ext, { text: '7.50', color: GREEN });
    assert.deepEqual(new Set(api.keysSeen()), new Set([KEY]));
  });
});

test('a stored threshold that cannot be read: the options say which account, which field and the value it has now, until a Save', async () => {
  api.setScenario({ scenario: 'ok', balance: '2.50' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url, threshold: '5' });
    await expectBadge(ext, { text: '2.50', color: RED });
    // A bad write (a hand edit, another tool): the threshold stored as an object.
    await ext.worker.evaluate(async () => {
      const { state } = await chrome.storage.local.get('state');
      state.accounts[0].settings.name = 'Production';
      state.accounts[0].settings.threshold = { amount: '5' };
      await chrome.storage.local.set({ state });
    });
    const sentence = 'Production: the low-balance threshold could not be read and was reset to $1.0000. Check it and press Save.';
    let page = await openOptions(ext);
    const notice = page.locator('#repairs');
    assert.equal(await notice.isVisible(), true, 'no notice of the reset threshold');
    assert.equal(await notice.getAttribute('role'), 'status');
    assert.deepEqual(await page.locator('#repairs li').allInnerTexts(), [sentence]);
    assert.equal(await page.locator('#threshold').inputValue(), '1');
    await screenshot(page, 'options-repairs.png');
    await assertPageHasNoKey(page, 'options page (repairs)');
    await page.close();

    // The worker's next write (a check) keeps it until the user has seen it and saved.
    await shiftWorkerClock(ext, 11 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 2);
    const kept = await storedState(ext);
    assert.equal(kept.accounts[0].settings.threshold, '1');
    assert.equal(kept.repairs?.length, 1, 'the write dropped the repair');
    page = await openOptions(ext);
    assert.deepEqual(await page.locator('#repairs li').allInnerTexts(), [sentence]);

    // Save (the threshold put back): the notice is gone, here and on the next opening.
    await page.locator('#threshold').fill('5');
    await page.locator('#save').click();
    await page.locator('#status[data-kind="ok"], #status[data-kind="warn"]').waitFor();
    await waitFor(() => page.locator('#repairs').isVisible(), (shown) => !shown, { what: 'the notice gone after Save' });
    await idle(ext);
    assert.equal((await storedState(ext)).repairs, undefined);
    await expectBadge(ext, { text: '2.50', color: RED });
    await page.close();
    page = await openOptions(ext);
    assert.equal(await page.locator('#repairs').isVisible(), false);
  });
});

test('the alarm polls again once the interval has passed (control for the test above)', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    assert.equal(api.balanceRequests(), 1);
    const alarm = await ext.worker.evaluate(() => chrome.alarms.get('poll'));
    assert.ok(alarm && alarm.scheduledTime > Date.now(), 'the poll alarm is scheduled');
    api.setScenario({ scenario: 'low' });
    await shiftWorkerClock(ext, 60 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 2);
    await expectBadge(ext, { text: '0.42', color: RED });
  });
});

test('HTML 502 after a good reading keeps the last balance, marked stale', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    const good = await expectBadge(ext, { text: '12.3', color: GREEN });
    api.setScenario({ scenario: 'html_502' });
    // Past the 5-minute cache and the request floor, then the user presses Refresh.
    await shiftWorkerClock(ext, 6 * MINUTE);
    // Opening the popup past the cache checks; Refresh stays a plain Refresh until pressed.
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    await idle(ext);
    assert.equal(api.balanceRequests(), 2, 'the check reached the API');
    assert.equal(await text(popup, '#refresh'), 'Refresh');

    const look = await badge(ext);
    assert.equal(look.text, '12.3', 'last good balance kept on the badge');
    assert.equal(look.color, '#b45309', 'a stale reading is amber, not the green of a fresh one');
    assert.notEqual(look.title, good.title, 'the title changed');
    assert.match(look.title, /stale|old|out of date|outdated/i, `badge title marks it stale: ${look.title}`);

    assert.equal(await text(popup, '#balance'), '$12.3450');
    assert.match(await text(popup, '#level'), /out of date/, 'popup marks the reading stale');
    assert.equal(await popup.locator('#error').isVisible(), true, 'popup explains the error');
    assert.ok((await text(popup, '#error-fix')).trim().length > 10);
    assert.doesNotMatch(await text(popup, '#error'), /<html|<title|nginx/i, 'no raw HTML shown');
    await screenshot(popup, 'popup-stale.png');
  });
});

test('opening the popup five times within 5 minutes sends no extra request', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    assert.equal(api.balanceRequests(), 1);
    // Spread over 4 minutes (past the one-minute request floor, inside the 5-minute cache).
    for (const offset of [0, 1, 2, 3, 4].map((m) => m * MINUTE + 10_000)) {
      await shiftWorkerClock(ext, offset);
      const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
      assert.equal(await text(popup, '#balance'), '$12.3450');
      await popup.close();
    }
    await idle(ext);
    assert.equal(api.balanceRequests(), 1, 'popup opens within 5 minutes sent requests');
    // Control: after 5 minutes the next open does fetch.
    await shiftWorkerClock(ext, 5 * MINUTE + 30_000);
    await (await openPopup(ext, { viewport: POPUP_VIEWPORT })).close();
    await idle(ext);
    assert.equal(api.balanceRequests(), 2, 'an open after 5 minutes fetches again');
  });
});

test('checks triggered together share one request', async () => {
  api.setScenario({ scenario: 'slow', delayMs: 1500 });
  await withExtension(async (ext) => {
    // Not settled: its `settings` check is now waiting on the slow API.
    await configure(ext, { endpoint: api.url, settle: false });
    await waitFor(() => api.balanceRequests(), (n) => n === 1, { what: 'the settings check to reach the API' });
    await ext.worker.evaluate(() => Promise.all(
      ['refresh', 'open', 'alarm', 'refresh'].map((t) => globalThis.captchaaiBalance.check(t)),
    ));
    await idle(ext);
    assert.equal(api.balanceRequests(), 1, 'concurrent checks sent more than one request');
    await expectBadge(ext, { text: '12.3', color: GREEN });
  });
});

test('bad option values show a message next to the field and are not saved', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    const before = await storedState(ext);
    const requests = api.balanceRequests();

    const page = await openOptions(ext);
    await page.getByLabel('API key', { exact: true }).fill('too-short');
    await page.getByLabel('Low-balance threshold', { exact: true }).fill('abc');
    await page.getByLabel('Check interval (minutes)', { exact: true }).fill('0');
    await page.getByText('Advanced', { exact: true }).click();
    await page.getByLabel('API endpoint', { exact: true }).fill('not a url');
    await page.locator('#rates input').first().fill('-1');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#status[data-kind="error"]').waitFor();

    for (const field of ['apiKey', 'threshold', 'intervalMinutes', 'endpoint']) {
      const message = page.locator(`[data-field="${field}"] > .field-error`);
      assert.equal(await message.isVisible(), true, `message next to ${field}`);
      assert.ok((await message.innerText()).trim().length > 5, `message text for ${field}`);
      assert.equal(await page.locator(`#${field}`).getAttribute('aria-invalid'), 'true');
    }
    const rateError = page.locator('#rates .field-error:visible, #rates-error:visible');
    assert.ok(await rateError.count() >= 1, 'message next to the bad rate');

    assert.deepEqual(await storedState(ext), before, 'nothing was saved');
    await idle(ext);
    assert.equal(api.balanceRequests(), requests, 'no request for rejected settings');
    await screenshot(page, 'options-errors.png');
    await assertPageHasNoKey(page, 'options page (errors)');
  });
});

test('a value in markup from the API is shown as text, never as markup', async () => {
  api.setScenario({ scenario: 'markup' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '!', color: GREY });
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await popup.locator('img').count(), 0, 'no element injected into the popup');
    assert.equal(await popup.locator('#error').isVisible(), true);
  });
});

test('the popup speaks Indonesian when the browser does', async (t) => {
  if (!fs.existsSync('/usr/lib/chromium/locales/id.pak')) {
    t.skip('Chromium has no Indonesian UI here (apt-get install chromium-l10n)');
    return;
  }
  api.setScenario({ scenario: 'low' });
  await withExtension(async (ext) => {
    const lang = await ext.worker.evaluate(() => chrome.i18n.getUILanguage());
    assert.match(lang, /^id/, `browser UI language ${lang}`);
    const page = await openOptions(ext);
    await page.getByLabel('API key', { exact: true }).fill(KEY);
    await page.getByText('Lanjutan', { exact: true }).click();
    await page.getByLabel('Endpoint API', { exact: true }).fill(api.url);
    await page.getByRole('button', { name: 'Simpan', exact: true }).click();
    await page.locator('#status[data-kind="ok"]').waitFor();
    // The badge in the language's decimal mark, the same figure as the popup's balance.
    await expectBadge(ext, { text: '0,42', color: RED });
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#balance'), '$0,4200');
    assert.equal(await text(popup, '#refresh'), 'Perbarui');
    assert.match(await text(popup, 'body'), /kalkulator biaya/i);
    await screenshot(popup, 'popup-id.png');
  }, { lang: 'id' });
});

test('the badge agrees with the widget when both read the same server', async () => {
  const server = await startServer({ wwwDir: path.join(ROOT, 'dist', 'www') });
  try {
    await server.control('/mock/reset');
    await server.control('/mock/scenario', { scenario: 'ok', balance: '3.5', drainPerMinute: '0' });
    await withExtension(async (ext) => {
      // Server mode: the server adds the key, so the extension needs none. Same threshold as
      // the demo page's first widget (5).
      await configure(ext, { key: '', endpoint: server.base, threshold: '5' });
      const look = await expectBadge(ext, { text: '3.50', color: RED });
      const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
      const extension = { balance: await text(popup, '#balance'), level: await text(popup, '#level') };

      const page = await ext.page(`${server.base}/`);
      const widget = await waitFor(() => page.evaluate(() => {
        const el = document.querySelector('#prod-balance');
        const part = (name) => el?.shadowRoot?.querySelector(`[part~="${name}"]`);
        return {
          state: el?.getAttribute('state'),
          balance: part('balance')?.textContent ?? '',
          level: part('level')?.textContent ?? '',
          // The widget paints its level with the badge colour the core chose.
          colour: part('container')?.style.getPropertyValue('--_level') ?? '',
        };
      }), (w) => w.state === 'low', { what: 'widget state low' });
      assert.equal(widget.balance, extension.balance, 'same exact balance');
      assert.equal(widget.level, extension.level, 'same level text');
      assert.equal(look.color, RED);
      assert.ok(widget.colour.includes(look.color), `widget colour ${widget.colour} is the badge's ${look.color}`);
      assert.match(look.title, /\$3\.5000/);
      await screenshot(page, 'agreement-widget.png');
      await screenshot(popup, 'agreement-popup.png');
    });
  } finally {
    server.close();
  }
});

test('an account on the server shows the server\'s sparkline and runway from its first check, and again after a top-up', async () => {
  // No server cache: the top-up below is the next reading's.
  const server = await startServer({ wwwDir: path.join(ROOT, 'dist', 'www'), args: ['--cache-seconds', '0'] });
  try {
    // Mock mode fills in a week of `production`'s history, draining at 1.20 an hour.
    await server.control('/mock/reset');
    await withExtension(async (ext) => {
      await configure(ext, { key: '', endpoint: `${server.base}/accounts/production`, threshold: '5' });
      const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
      // One reading of its own: without the server's history this would be "Not enough history".
      await waitFor(() => popup.locator('#sparkline').isVisible(), Boolean, { what: 'the sparkline' });
      const listed = async () => (await (await fetch(`${server.base}/v1/accounts/production`)).json());
      const spend = await text(popup, '#spend');
      const served = await listed();
      assert.ok(served.spendPerHour, JSON.stringify(served));
      assert.match(spend, /^Spending \$1\.2000 per hour/, 'the server\'s spend rate, from the first check');
      assert.match(await text(popup, '#runway'), /^Empty in about/);
      await screenshot(popup, 'server-history-popup.png');
      await popup.close();

      // A top-up at the provider: the next check (past the request floor) sees it.
      await server.control('/mock/topup', { amount: '20' });
      await shiftWorkerClock(ext, 2 * MINUTE);
      await ext.worker.evaluate(() => globalThis.captchaaiBalance.check('refresh'));
      await idle(ext);
      const after = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
      // (The first paint may be the view stored before the top-up: wait for the wasm's.)
      const topUp = await waitFor(() => text(after, '#top-up'), (t) => t !== '', { what: 'the top-up line' });
      assert.match(topUp, /^Last top-up: \+\$(19\.99|20\.00)/, topUp);
      // Right after the top-up the server has too few readings since it for a rate, and so does
      // the popup: the same answer as the admin page's, not a runway from before the top-up.
      const now = await listed();
      assert.ok(now.lastTopUp && now.forecastNote === 'not_enough_history', JSON.stringify(now));
      assert.match(await text(after, '#forecast-note'), /^Not enough history yet/);
      assert.equal(await text(after, '#runway'), '');
    });
  } finally {
    server.close();
  }
});

test('a host permission refused or taken back says so and offers Grant access, instead of "no connection"', async () => {
  api.setScenario({ scenario: 'ok' });
  const { port } = new URL(api.url);
  await withExtension(async (ext) => {
    // A proxy on another machine (the name resolves to the mock here): its host needs a grant
    // the browser never gave.
    await ext.worker.evaluate(async (endpoint) => {
      const settings = { name: 'Proxy', provider: 'custom-2captcha', apiKey: 'proxy-token-0123456789', endpoint, allowPlainHttp: true };
      await chrome.storage.local.set({ state: { version: 3, accounts: [{ settings }] } });
      await globalThis.captchaaiBalance.check('settings');
    }, `http://balance-proxy.test:${port}`);
    await idle(ext);
    assert.equal(api.balanceRequests(), 0, 'nothing is sent to a host without access');
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal(await text(popup, '#error-message'), 'No access to this endpoint');
    assert.match(await text(popup, '#error-cause'), /reach http:\/\/balance-proxy\.test:/);
    assert.doesNotMatch(await popup.locator('body').innerText(), /No connection/);
    assert.equal(await popup.locator('#grant-access').isVisible(), true);
    await screenshot(popup, 'popup-permission-missing.png');
    // The button asks the browser for that host (recorded: nobody answers a prompt headless).
    await popup.evaluate(() => {
      globalThis.asked = [];
      chrome.permissions.request = async (permissions) => { globalThis.asked.push(permissions); return false; };
    });
    await popup.locator('#grant-access').click();
    assert.deepEqual(await popup.evaluate(() => globalThis.asked), [{ origins: ['http://balance-proxy.test/*'] }]);
  }, { args: ['--host-resolver-rules=MAP balance-proxy.test 127.0.0.1'] });
});

// ---------------------------------------------------------------------------------------------
// faults: a worker stopped mid-request, re-spelled endpoints and switched keys, racing writers

/**
 * Stop the extension's service worker the way Chrome does when it kills an idle or stuck one
 * (DevTools protocol `ServiceWorker.stopAllWorkers`, sent from one of the extension's pages so
 * it reaches the extension's storage partition). Resolves once the worker reports `stopped`.
 * Playwright keeps `ext.worker` for the extension: it evaluates in the next instance once an
 * event has started one (its globals, such as a shifted clock, are gone then).
 */
async function stopWorker(ext) {
  const page = await ext.page(`chrome-extension://${ext.extensionId}/manifest.json`);
  const cdp = await ext.context.newCDPSession(page);
  const stopped = new Promise((resolve) => {
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      if (versions.some((v) => v.scriptURL.includes(ext.extensionId) && v.runningStatus === 'stopped')) resolve();
    });
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await stopped;
  await cdp.detach();
  await page.close();
  ext.clockOffsetMs = 0;
}

/** Count the notifications the worker asks for (a repeat replaces the shown one). */
function countNotifications(ext) {
  return ext.worker.evaluate(() => {
    globalThis.notified = [];
    const create = chrome.notifications.create.bind(chrome.notifications);
    chrome.notifications.create = (id, options) => {
      globalThis.notified.push(id);
      return create(id, options);
    };
  });
}

/** Save the options form with these values and wait for the page's verdict. */
async function saveOptions(page, { key, endpoint, threshold } = {}) {
  if (key !== undefined) await page.locator('#apiKey').fill(key);
  if (endpoint !== undefined) await page.locator('#endpoint').fill(endpoint);
  if (threshold !== undefined) await page.locator('#threshold').fill(threshold);
  await page.locator('#save').click();
  await page.waitForFunction(() => !document.getElementById('save').disabled
    && ['ok', 'error'].includes(document.getElementById('status').dataset.kind));
  return page.locator('#status').getAttribute('data-kind');
}

test('a worker stopped mid-request wakes to its alarm and keeps the request floor', async () => {
  api.setScenario({ scenario: 'ok', delayMs: 30_000 }); // the answer never comes in time
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url, settle: false }); // its check waits on the API
    await waitFor(() => api.balanceRequests(), (n) => n === 1, { what: 'the settings check to reach the API' });
    const sentAt = Date.now();
    await stopWorker(ext);
    api.setScenario({ scenario: 'ok' });

    // Any event wakes the worker again: here the popup's `open` check, right after.
    const popup = await ext.page(`chrome-extension://${ext.extensionId}/popup.html`);
    await popup.waitForFunction(() => Number(document.documentElement.dataset.checks ?? 0) >= 1);
    await idle(ext);
    assert.equal(api.balanceRequests(), 1, 'a second request went out within the one-minute floor');
    const alarm = await ext.worker.evaluate(() => chrome.alarms.get('poll'));
    assert.ok(alarm, 'no poll alarm after the worker was stopped mid-request: polling ended');
    assert.ok(alarm.scheduledTime >= sentAt + 55_000 && alarm.scheduledTime <= sentAt + 2 * MINUTE,
      `the retry is due one floor after the lost request: ${alarm.scheduledTime - sentAt} ms`);
    const state = await storedState(ext);
    assert.ok(state.accounts[0].monitor.lastRequestAt >= sentAt - 5_000, 'the lost request was recorded');

    // Control: once the floor has passed, the alarm does fetch.
    await shiftWorkerClock(ext, MINUTE + 5_000);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 2);
    await expectBadge(ext, { text: '12.3', color: GREEN });
  });
});

test('the next alarm exists before the begun state is stored (a worker stopped right after the write wakes)', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await shiftWorkerClock(ext, 11 * MINUTE); // the interval has passed: the alarm's check fetches
    const writes = await ext.worker.evaluate(async () => {
      // The alarm that woke a worker is used up once it fired: start from none.
      await chrome.alarms.clear('poll');
      const writes = [];
      const set = chrome.storage.local.set.bind(chrome.storage.local);
      // Each write of the state notes the alarm as it is at that moment, then writes.
      chrome.storage.local.set = async (items) => {
        const alarm = await chrome.alarms.get('poll');
        writes.push({ checking: items.state?.accounts?.[0]?.monitor?.checking ?? null, alarmAt: alarm?.scheduledTime ?? null, now: Date.now() });
        return set(items);
      };
      try {
        await globalThis.captchaaiBalance.check('alarm');
        await globalThis.captchaaiBalance.idle();
      } finally {
        chrome.storage.local.set = set;
      }
      return writes;
    });
    assert.equal(api.balanceRequests(), 2, 'the alarm check fetched');
    const begun = writes.find((w) => w.checking === true);
    assert.ok(begun, `the begun state was written: ${JSON.stringify(writes)}`);
    assert.ok(begun.alarmAt !== null, 'the begun state was stored while no alarm existed: a worker stopped now never wakes');
    assert.ok(begun.alarmAt >= begun.now + 25_000, `the alarm is the retry one floor later: ${begun.alarmAt - begun.now} ms`);
  });
});

test('a Save that leaves the interval field alone keeps a stored interval of 90 s; a changed field is sent', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    // 90 s, as the widget or a newer build may store it: the field can only show whole minutes.
    await ext.worker.evaluate(async () => {
      const { state } = await chrome.storage.local.get('state');
      state.accounts[0].settings.intervalSeconds = 90;
      await chrome.storage.local.set({ state });
    });
    const page = await openOptions(ext);
    assert.equal(await saveOptions(page, { threshold: '2.00' }), 'ok');
    await idle(ext);
    let { settings } = (await storedState(ext)).accounts[0];
    assert.match(settings.threshold, /^2(\.0*)?$/, 'the threshold was saved');
    assert.equal(settings.intervalSeconds, 90, 'an unrelated Save cut the interval down to whole minutes');

    // Control: a changed field is sent.
    await page.locator('#intervalMinutes').fill('3');
    assert.equal(await saveOptions(page), 'ok');
    await idle(ext);
    ({ settings } = (await storedState(ext)).accounts[0]);
    assert.equal(settings.intervalSeconds, 180);
  });
});

test('rapid saves that re-spell the endpoint or switch keys never burst', async () => {
  api.setScenario({ scenario: 'low' });
  await withExtension(async (ext) => {
    await countNotifications(ext);
    const page = await openOptions(ext);
    await page.getByText('Advanced', { exact: true }).click();
    const spellings = [api.url, api.url.replace('127.0.0.1', 'localhost'), `${api.url}/`];
    for (let i = 0; i < 10; i += 1) {
      assert.equal(await saveOptions(page, { key: KEY, endpoint: spellings[i % spellings.length] }), 'ok');
    }
    await idle(ext);
    await expectBadge(ext, { text: '0.42', color: RED });
    assert.equal(api.balanceRequests(), 1, 'saves that kept the key sent more than one request');
    assert.deepEqual(kinds(await ext.worker.evaluate(() => globalThis.notified)), ['captchaai-balance-warning'],
      'one low-balance warning, not one per save');

    // Switching keys back and forth: each key is asked once within the minute.
    const other = 'aa1f0c9a7b3d4e2f8a6c1b0d9e7f3abb';
    for (const key of [other, KEY, other, KEY, other]) {
      assert.equal(await saveOptions(page, { key, endpoint: api.url }), 'ok');
    }
    await idle(ext);
    assert.deepEqual(api.keysSeen(), [KEY, other], 'a key was asked twice within the floor');
  });
});

test('a save racing a check loses neither the reading nor the new threshold', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    const page = await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    await shiftWorkerClock(ext, 2 * MINUTE);

    // 1. The page answers storage reads late (a busy page): a check lands in between.
    await page.evaluate(() => {
      const get = chrome.storage.local.get.bind(chrome.storage.local);
      chrome.storage.local.get = (...args) => {
        const answer = get(...args);
        return new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => answer);
      };
    });
    api.setScenario({ scenario: 'low', delayMs: 300 });
    await ext.worker.evaluate(() => { globalThis.captchaaiBalance.check('refresh'); });
    await waitFor(() => api.balanceRequests(), (n) => n === 2, { what: 'the refresh to reach the API' });
    assert.equal(await saveOptions(page, { threshold: '5' }), 'ok');
    await idle(ext);
    const [account] = (await storedState(ext)).accounts;
    assert.equal(account.monitor.lastGood?.balance, '0.42', 'the reading was lost');
    assert.equal(account.settings.threshold, '5', 'the new threshold was lost');

    // 2. The worker's storage writes land late: a save happens in between.
    await shiftWorkerClock(ext, 4 * MINUTE);
    await ext.worker.evaluate(() => {
      const set = chrome.storage.local.set.bind(chrome.storage.local);
      chrome.storage.local.set = (items) => new Promise((resolve) => setTimeout(resolve, 1_500))
        .then(() => set(items));
    });
    api.setScenario({ scenario: 'ok', balance: '7.5', delayMs: 300 });
    await ext.worker.evaluate(() => { globalThis.captchaaiBalance.check('refresh'); });
    await waitFor(() => api.balanceRequests(), (n) => n === 3, { what: 'the second refresh to reach the API' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await saveOptions(page, { threshold: '9' }), 'ok');
    await idle(ext);
    // Only the two values (a failure message must not print the stored key).
    const kept = async () => {
      const [a] = (await storedState(ext)).accounts;
      return { threshold: a.settings.threshold, balance: a.monitor.lastGood?.balance };
    };
    await waitFor(kept, (k) => k.threshold === '9' && k.balance === '7.5',
      { what: 'both the reading and the threshold stored', timeoutMs: 8_000 });
    await expectBadge(ext, { text: '7.50', color: RED });
  });
});
