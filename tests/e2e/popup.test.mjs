// The popup and the options page as a new user meets them, in real Chromium with the unpacked
// extension against the loopback mock API: the 600 px popup limit, a Refresh that always
// answers, one story during an outage, the key status next to the key field, example rates,
// numbers per language, and the first paint from the view stored by the previous opening.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CLOCK, pattern } from './lib/browser.mjs';
import { startMockApi } from './lib/mock-api.mjs';
import {
  KEY, MINUTE, badge, configure, expectBadge, idle, openOptions, openPage, openPopup,
  openPopupWithoutWasm, screenshot, shiftWorkerClock, text, waitFor, withExtension,
} from './lib/extension.mjs';

const GREEN = '#15803d';
const AMBER = '#b45309';
const GREY = '#6b7280';

let api;
before(async () => { api = await startMockApi(); });
after(async () => { await api?.close(); });
beforeEach(() => { api.reset(); });

test('the popup fits Chrome\'s 600 px limit with the default settings; solves and calculator stay reachable', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    const popup = await openPopup(ext); // 800x600, a normal window
    const height = await popup.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(height <= 600, `popup is ${height} px high`);
    await screenshot(popup, 'popup-fits.png');
    // Solves remaining: one click away, with the count grouped like every other number.
    await popup.locator('#remaining-card summary').click();
    const v2 = popup.locator('#remaining tr[data-type="recaptcha_v2"]');
    await v2.waitFor({ state: 'visible' });
    assert.match(await v2.innerText(), /4,115/);
    assert.equal(await popup.locator('#calc-qty').isVisible(), true, 'the calculator is open');
    // The badge tooltip speaks the same number format.
    assert.match((await badge(ext)).title, /\$12\.3450/);
  });
});

test('Refresh is never silent: a plain Refresh on opening, a countdown after a press within the floor, spinner while a request is out, reason while paused', async () => {
  api.setScenario({ scenario: 'slow', delayMs: 1500 });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    const asked = api.balanceRequests();
    // Within the one-request-a-minute floor the popup opens on a plain Refresh …
    let popup = await openPopup(ext);
    const button = popup.locator('#refresh');
    assert.equal(await button.isDisabled(), false, 'the popup opened on a disabled button');
    assert.equal(await button.innerText(), 'Refresh');
    assert.equal(await button.getAttribute('title'), '');
    // … and a press sends nothing but says how long until one can, counting down.
    await button.click();
    await waitFor(() => button.isDisabled(), Boolean, { what: 'the countdown after a press' });
    await idle(ext);
    assert.equal(api.balanceRequests(), asked, 'a press within the floor sent a request');
    const first = await button.innerText();
    assert.match(first, /^You can check again in \d+ s$/);
    assert.match(await button.getAttribute('title'), /allows one check/);
    const n = Number(first.match(/\d+/)[0]);
    await waitFor(() => button.innerText(), (s) => s !== first, { what: 'the countdown to move', timeoutMs: 3000 });
    assert.ok(Number((await button.innerText()).match(/\d+/)[0]) < n, 'counts down');
    await popup.close();

    // Past the floor and the 5-minute cache: opening checks, and the button shows a spinner.
    await shiftWorkerClock(ext, 6 * MINUTE);
    popup = await openPage(ext, 'popup.html');
    await waitFor(() => popup.locator('#refresh').getAttribute('data-busy'), (b) => b === 'true', { what: 'spinner' });
    assert.equal(await popup.locator('#refresh').innerText(), 'Checking…');
    await screenshot(popup, 'popup-checking.png');
    await popup.waitForFunction(() => Number(document.documentElement.dataset.checks ?? 0) >= 1);
    assert.equal(await popup.locator('#refresh').getAttribute('data-busy'), 'false');
    await popup.close();
  });

  api.setScenario({ scenario: 'wrong_key' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '!', color: GREY });
    const asked = api.balanceRequests();
    // Within the floor a press counts down, like any other …
    let popup = await openPopup(ext);
    let button = popup.locator('#refresh');
    assert.equal(await button.innerText(), 'Refresh');
    await button.click();
    await waitFor(() => button.innerText(), (s) => /^You can check again in \d+ s$/.test(s), { what: 'countdown' });
    assert.equal(await button.isDisabled(), true);
    await popup.close();
    // … later the automatic checks are still paused (the error box says so), but Refresh may
    // try the key once more: it may have been fixed at the provider.
    await shiftWorkerClock(ext, 60 * MINUTE);
    popup = await openPopup(ext);
    button = popup.locator('#refresh');
    assert.equal(await button.isDisabled(), false, 'a rejected key: Refresh disabled');
    assert.equal(await button.innerText(), 'Refresh');
    assert.match(await text(popup, '#failed'), /checks are paused/);
    assert.equal(api.balanceRequests(), asked, 'opening the popup retried a rejected key');
    await screenshot(popup, 'popup-rejected-key.png');
  });
});

test('one story during an outage: when the balance was read, that the latest check failed, a warning, an out-of-date badge', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    api.setScenario({ scenario: 'html_502' });
    await shiftWorkerClock(ext, 6 * MINUTE);
    const popup = await openPopup(ext);
    await idle(ext);
    assert.equal(api.balanceRequests(), 2);

    assert.match(await text(popup, '#checked'), pattern`^Balance read ${CLOCK}, 6 min ago$`);
    assert.match(await text(popup, '#failed'), pattern`^Latest check failed at ${CLOCK}; next check at ${CLOCK}\.$`);
    assert.equal(await popup.locator('#error').getAttribute('data-severity'), 'warning');
    const box = await popup.locator('#error').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(box, 'rgb(255, 251, 235)', 'an amber warning, not the red of an empty account');
    assert.equal(await text(popup, '#level'), 'OK · out of date');
    const look = await badge(ext);
    assert.deepEqual([look.text, look.color], ['12.3', AMBER], 'the badge looks different from a fresh reading');
    await screenshot(popup, 'popup-stale.png');
  });
});

test('a 502 with no earlier reading does not claim a kept balance', async () => {
  api.setScenario({ scenario: 'html_502' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await expectBadge(ext, { text: '!', color: GREY });
    const popup = await openPopup(ext);
    assert.equal(await popup.locator('#error').getAttribute('data-severity'), 'error');
    assert.doesNotMatch(await text(popup, '#error'), /last good balance/i);
    assert.equal(await text(popup, '#balance'), '—');
  });
});

test('options: a rejected key is reported next to the key field, not a bare green "Saved."; Test key checks once', async () => {
  api.setScenario({ scenario: 'wrong_key' });
  await withExtension(async (ext) => {
    const options = await configure(ext, { endpoint: api.url });
    const status = options.locator('#apiKey-status');
    await waitFor(() => status.innerText(), (s) => s.includes('rejected'), { what: 'key status' });
    await waitFor(() => options.locator('#status').getAttribute('data-kind'), (k) => k === 'warn', { what: 'save status' });
    assert.match(await status.innerText(), pattern`^CaptchaAI rejected this key at ${CLOCK}: ERROR_WRONG_USER_KEY$`);
    assert.equal(await status.getAttribute('data-ok'), 'false');
    assert.equal(await options.locator('#status').getAttribute('data-kind'), 'warn');
    assert.doesNotMatch(await text(options, '#status'), /^Saved\.$/);
    await screenshot(options, 'options-rejected-key.png');
    assert.equal(api.balanceRequests(), 1);
  });

  api.reset();
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    const options = await configure(ext, { endpoint: api.url });
    const status = options.locator('#apiKey-status');
    await waitFor(() => status.innerText(), (s) => s.includes('accepted'), { what: 'key accepted' });
    // Within the floor Test key waits (the same floor as Refresh): it reads Test key, and a
    // press says how long until it can ask, sending nothing …
    const testKey = options.locator('#test-key');
    assert.equal(await testKey.innerText(), 'Test key');
    assert.equal(await options.locator('#test-key-wait').isVisible(), false, 'a countdown before any press');
    const before = api.balanceRequests();
    await testKey.click();
    await waitFor(() => options.locator('#test-key-wait').innerText(), (s) => /^You can check again in \d+ s$/.test(s),
      { what: 'the wait under the key' });
    assert.equal(await testKey.isDisabled(), true);
    await idle(ext);
    assert.equal(api.balanceRequests(), before, 'a press within the floor sent a request');
    await options.close();
    // … past it, one press sends one request.
    await shiftWorkerClock(ext, 2 * MINUTE);
    const later = await openOptions(ext);
    await waitFor(() => later.locator('#test-key').isDisabled(), (d) => !d, { what: 'Test key enabled' });
    await later.locator('#test-key').click();
    await waitFor(() => api.balanceRequests(), (n) => n === 2, { what: 'the test request' });
    await idle(ext);
    // The page redraws after the worker answers: wait for it rather than read at once.
    const accepted = await waitFor(() => later.locator('#apiKey-status').innerText(), (s) => !/Checking/.test(s),
      { what: 'the key status after the test' });
    assert.match(accepted, pattern`^CaptchaAI accepted this key at ${CLOCK}\.$`);
  });
});

test('example rates are marked until the user saves their own; a setting hides solves and the calculator', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    let popup = await openPopup(ext);
    assert.equal(await text(popup, '#rates-note'), 'Example CaptchaAI rates: set yours in the options.');
    assert.equal(await popup.locator('#rates-note').getAttribute('href'), 'options.html');
    await popup.close();

    await configure(ext, { key: null, endpoint: api.url, rates: { image: '0.0008' } });
    popup = await openPopup(ext);
    assert.equal(await popup.locator('#rates-note').isVisible(), false);
    assert.equal(await popup.locator('#remaining-card').isVisible(), true);
    await popup.close();

    await configure(ext, { key: null, endpoint: api.url, showSolves: false });
    popup = await openPopup(ext);
    assert.equal(await popup.locator('#remaining-card').isVisible(), false, 'solves remaining hidden');
    assert.equal(await popup.locator('#calc-card').isVisible(), false, 'calculator hidden');
    assert.equal(await text(popup, '#balance'), '$12.3450');
  });
});

test('Indonesian: Indonesian separators for money and counts, one word for Refresh', async (t) => {
  if (!fs.existsSync('/usr/lib/chromium/locales/id.pak')) {
    t.skip('Chromium has no Indonesian UI here (apt-get install chromium-l10n)');
    return;
  }
  api.setScenario({ scenario: 'ok', balance: '1234.49' });
  await withExtension(async (ext) => {
    const options = await configure(ext, { endpoint: api.url });
    assert.equal(await options.locator('label[for="apiKey"]').innerText(), 'API key');
    const popup = await openPopup(ext);
    assert.equal(await text(popup, '#balance'), '$1.234,4900');
    await popup.locator('#remaining-card summary').click();
    assert.match(await popup.locator('#remaining tr[data-type="recaptcha_v2"]').innerText(), /411\.496/);
    assert.equal(await text(popup, '#refresh'), 'Perbarui');
    assert.match(await text(popup, '#level'), /^Aman$/);
    await screenshot(popup, 'popup-id.png');
    await popup.locator('#refresh').click();
    await waitFor(() => text(popup, '#refresh'), (s) => /^Bisa dicek lagi dalam \d+ detik$/.test(s), { what: 'the countdown in Indonesian' });
  }, { lang: 'id' });
});

test('the popup paints the view stored by its previous opening before the wasm is ready', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    const first = await openPopup(ext); // renders once: stores its view
    assert.match(await first.evaluate(() => localStorage.getItem('cab-popup-view')), /\$12\.3450/);
    await first.close();
    // The wasm never finishes compiling in this page: only the stored view can paint.
    const page = await openPopupWithoutWasm(ext);
    await waitFor(() => text(page, '#balance'), (s) => s === '$12.3450', { what: 'balance from the stored view' });
    assert.equal(await text(page, '#level'), 'OK');
  });
});

/** The popup's stored entry (raw string) and the worker's stored account. */
async function storedEntry(ext) {
  const page = await ext.page(`chrome-extension://${ext.extensionId}/manifest.json`);
  const raw = await page.evaluate(() => localStorage.getItem('cab-popup-view'));
  await page.close();
  return raw;
}

/** Write `raw` as the popup's stored entry, from an extension page (same localStorage). */
async function putEntry(ext, raw) {
  const page = await ext.page(`chrome-extension://${ext.extensionId}/manifest.json`);
  await page.evaluate((value) => localStorage.setItem('cab-popup-view', value), raw);
  await page.close();
}

/** The worker's stored accounts, as the popup tags its entry (their ids, joined). */
const workerAccount = (ext) => ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state.accounts
  .map((a) => a.monitor.account).join(','));

test('a stored entry the popup cannot paint never leaves it blank: it loads, shows the core\'s balance, replaces the entry', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    const account = await workerAccount(ext);
    const junk = [
      '5', '{}', 'null', 'not json', '[1,2]',
      // The whole View an older build stored (no version).
      JSON.stringify({ level: 'ok', balanceText: '$9.9900', badge: { color: GREEN } }),
      // The current version and account, but a view it cannot paint.
      JSON.stringify({ v: 3, account, view: 5 }),
      JSON.stringify({ v: 3, account, view: { level: 'ok' } }),
      JSON.stringify({ v: 3, account, view: { accounts: [] } }),
      JSON.stringify({ v: 3, account, view: { accounts: [{ level: 'ok' }] } }),
      // A list version 2 stored (the badge's colour, no accent).
      JSON.stringify({ v: 2, account, view: { summaryText: null, accounts: [{ id: 'x', level: 'ok', balanceText: '$9.9900', badge: { color: GREEN } }] } }),
      // The one-account view version 1 stored.
      JSON.stringify({ v: 1, account, view: { level: 'ok', balanceText: '$9.9900', badge: { color: GREEN } } }),
    ];
    for (const raw of junk) {
      await putEntry(ext, raw);
      const popup = await openPopup(ext);
      assert.equal(await text(popup, '#balance'), '$12.3450', `after ${raw}`);
      await popup.close();
      const entry = JSON.parse(await storedEntry(ext));
      assert.equal(entry.v, 3, `the junk was replaced: ${raw}`);
      assert.equal(entry.account, account);
    }
  });
});

test('the stored entry holds nothing of the key and never paints the previous key\'s balance', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await (await openPopup(ext)).close();
    const raw = await storedEntry(ext);
    const masked = `${KEY.slice(0, 4)}…${KEY.slice(-4)}`;
    assert.ok(!raw.includes(KEY) && !raw.includes(masked) && !raw.includes(`${KEY.slice(0, 4)}…`) && !raw.includes(`…${KEY.slice(-4)}`),
      `no part of the key in the entry: ${raw}`);
    const [view] = JSON.parse(raw).view.accounts;
    assert.equal(view.keyMasked, undefined);
    assert.equal(view.badge, undefined, 'no badge title');
    assert.deepEqual(view.accent, { color: '#15803d' }, 'only the colour the popup paints');
    assert.equal(view.balanceText, '$12.3450');

    // The wasm never finishes compiling in these pages: only the stored entry can paint.
    const openFrozen = async () => {
      const page = await openPopupWithoutWasm(ext);
      // popup.js is started once the stored entry was painted or refused.
      await page.locator('script[src="popup.js"]').waitFor({ state: 'attached' });
      return page;
    };
    // Control: the same account paints the stored balance.
    let frozen = await openFrozen();
    await waitFor(() => text(frozen, '#balance'), (s) => s === '$12.3450', { what: 'the stored balance' });
    await frozen.close();

    // Another key: the stored balance is the old key's, and must not show.
    const KEY_B = 'fedcba9876543210fedcba9876543210';
    api.setScenario({ scenario: 'ok', balance: '3.21' });
    await configure(ext, { key: KEY_B, endpoint: api.url });
    frozen = await openFrozen();
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(await text(frozen, '#balance'), '$12.3450', 'the previous key\'s balance was painted');
    await frozen.close();
    assert.equal(await storedEntry(ext), null, 'the other account\'s entry was dropped');
  });
});
