// The Firefox build (dist/extension-firefox) in a real Firefox ESR, driven through geckodriver,
// against the loopback mock CaptchaAI. Needs `make build` first. Every test starts a fresh
// profile, installs the build as a temporary add-on, configures it through its options page as
// a user would (type, press Save), then reads the badge from an extension page and the balance
// from the popup. No skip: when Firefox or geckodriver is missing the tests fail and say so
// (`make test` installs both through scripts/setup.sh).
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manyAccounts, startMockApi } from './lib/mock-api.mjs';
import { OUT_DIR } from './lib/browser.mjs';
import { firefoxAvailable, launchFirefox, waitUntil } from './lib/firefox.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXTENSION_DIR = process.env.CAB_FIREFOX_EXTENSION_DIR ?? path.join(ROOT, 'dist', 'extension-firefox');
const KEY = '5e1f0c9a7b3d4e2f8a6c1b0d9e7f3a24';
const KEY_MIDDLE = KEY.slice(4, -4);

const GREEN = '#15803d';
const RED = '#dc2626';
const GREY = '#6b7280';
/** The badge of a low balance that is out of date (docs/ARCHITECTURE.md, the badge table). */
const DARK_RED = '#7f1d1d';

let api;
let geckoId;

before(async () => {
  const available = firefoxAvailable();
  assert.ok(available.ok, `Firefox tests cannot run: ${available.message}`);
  const manifest = path.join(EXTENSION_DIR, 'manifest.json');
  assert.ok(fs.existsSync(manifest), `${EXTENSION_DIR} is missing: run \`make build\` first`);
  geckoId = JSON.parse(fs.readFileSync(manifest, 'utf8')).browser_specific_settings.gecko.id;
  fs.rmSync(path.join(OUT_DIR, 'firefox.log'), { force: true });
  api = await startMockApi();
});
after(async () => { await api?.close(); });
beforeEach(() => { api.reset(); });

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * Fresh Firefox with the add-on; `fn(firefox)` runs; then the log, which holds the console
 * messages of the extension's pages, is checked for the key.
 */
async function withFirefox(fn) {
  const logName = 'firefox.log';
  const firefox = await launchFirefox({ extensionDir: EXTENSION_DIR, geckoId, logName });
  const probe = `console-probe-${Date.now()}`;
  try {
    await fn(firefox);
    // Prove the log captures the extension's console, so the key check below is not vacuous.
    await firefox.execute((text) => console.log(text), probe);
  } finally {
    await firefox.close();
  }
  const log = fs.readFileSync(path.join(OUT_DIR, logName), 'utf8');
  assert.ok(log.includes(probe), 'the Firefox log does not capture the extension console');
  assert.ok(!log.includes(KEY) && !log.includes(KEY_MIDDLE), 'the API key appears in the Firefox/geckodriver log');
}

/** The badge as the toolbar shows it, read from whichever extension page is open. */
function badge(firefox) {
  return firefox.execute(async () => {
    const [r, g, b] = await browser.action.getBadgeBackgroundColor({});
    return {
      text: await browser.action.getBadgeText({}),
      color: `#${[r, g, b].map((n) => n.toString(16).padStart(2, '0')).join('')}`,
      title: await browser.action.getTitle({}),
    };
  });
}

async function expectBadge(firefox, { text, color }) {
  let look;
  try {
    await waitUntil(async () => {
      look = await badge(firefox);
      return look.text === text && look.color === color;
    }, 10_000, `badge ${text} ${color}`);
  } catch (error) {
    assert.fail(`${error.message}; last badge: ${JSON.stringify(look)}`);
  }
  return look;
}

/**
 * Fill the options page like a user (labels as shown, Save), and wait for "Saved.".
 * Returns after the page confirmed the save.
 */
async function configure(firefox, { key = KEY, threshold = '1.00', endpoint = api.url, notifications = true } = {}) {
  await firefox.openExtensionPage('options.html');
  // The rate inputs are the last thing the page fills: then the stored settings are in.
  await waitUntil(() => firefox.execute(() => document.querySelectorAll('#rates input').length > 0), 10_000,
    'the options page to fill its form');
  await (await firefox.byLabel('API key')).type(key);
  await (await firefox.byLabel('Low-balance threshold')).type(threshold);
  const notify = await firefox.byLabel('Notifications');
  if ((await notify.selected()) !== notifications) await notify.click();
  await (await firefox.byText('Advanced', 'summary')).click();
  await (await firefox.byLabel('API endpoint')).type(endpoint);
  await (await firefox.byText('Save', 'button')).click();
  // "warn": saved, but the check that followed says the key has a problem.
  await waitUntil(() => firefox.execute(() => ['ok', 'warn'].includes(document.querySelector('#status')?.dataset.kind)), 10_000,
    'the options page to say the settings were saved');
}

/** Open the popup page (in a tab of the popup's width) and wait for its `open` check. */
async function openPopup(firefox) {
  await firefox.setWindowSize(360, 900);
  await firefox.openExtensionPage('popup.html');
  // Polled from the moment of navigation: a page not yet parsed has no documentElement.
  await waitUntil(() => firefox.execute(() => Number(document.documentElement?.dataset.checks ?? 0) >= 1), 10_000,
    'the popup to show a check');
}

const textOf = async (firefox, selector) => (await firefox.find(selector)).text();

/**
 * Move every time the stored state remembers back by `ms`, as if that long had passed (the
 * request floor, the 5-minute cache), rather than the test waiting for it.
 */
function age(firefox, ms) {
  return firefox.execute(async (by) => {
    const { state } = await browser.storage.local.get('state');
    const back = (at) => (typeof at === 'number' ? at - by : at);
    for (const { monitor } of state.accounts) {
      monitor.lastRequestAt = back(monitor.lastRequestAt);
      if (monitor.lastError) monitor.lastError.at = back(monitor.lastError.at);
      if (monitor.lastGood) monitor.lastGood.at = back(monitor.lastGood.at);
      for (const mark of monitor.requests ?? []) mark.at = back(mark.at);
      for (const point of monitor.history ?? []) point.at = back(point.at);
    }
    await browser.storage.local.set({ state });
  }, ms);
}

/**
 * Press the popup's Refresh until `done()`: a press within the request floor sends nothing and
 * counts down, and the button comes back once a press can send.
 */
async function refreshUntil(firefox, done, timeoutMs, what) {
  await waitUntil(async () => {
    if (await done()) return true;
    const ready = await firefox.execute(() => {
      const button = document.querySelector('#refresh');
      return !button.disabled && button.dataset.busy !== 'true';
    });
    if (ready) await (await firefox.find('#refresh')).click();
    return false;
  }, timeoutMs, what);
}

async function assertPageHasNoKey(firefox, where) {
  const text = await firefox.execute(() => [
    document.documentElement.outerHTML,
    ...[...document.querySelectorAll('input')].map((el) => `${el.value} ${el.placeholder}`),
  ].join('\n'));
  assert.ok(!text.includes(KEY) && !text.includes(KEY_MIDDLE), `the API key appears in ${where}`);
}

// ---------------------------------------------------------------------------------------------
// tests

test('Firefox: ok balance gives a green badge; options and popup work, host permission granted', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  await withFirefox(async (firefox) => {
    fs.writeFileSync(path.join(OUT_DIR, 'firefox-version.txt'), `${firefox.browser}\n`);
    await firefox.setWindowSize(900, 1000);
    await configure(firefox);
    // MV3 host permissions are install-time grants from Firefox 127 on (docs/BROWSERS.md); a
    // temporary add-on gets them without a prompt. Without them the fetch to the mock fails.
    assert.equal(await firefox.execute((origin) => browser.permissions.contains({ origins: [origin] }),
      'http://127.0.0.1/*'), true, 'host permission for 127.0.0.1');
    const look = await expectBadge(firefox, { text: '12.3', color: GREEN });
    assert.match(look.title, /12\.345/, 'badge title has the full balance');
    assert.deepEqual(api.keysSeen(), [KEY], 'the typed key was sent, once');
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-options.png'));
    await assertPageHasNoKey(firefox, 'options page');

    await openPopup(firefox);
    assert.equal(await textOf(firefox, '#balance'), '$12.3450');
    assert.ok((await textOf(firefox, '#level')).length > 0, 'level in words');
    assert.equal(await (await firefox.find('#error')).displayed(), false, 'no error shown');
    // The popup's table comes from the wasm core: it ran in Firefox. It is a folded section.
    await (await firefox.find('#remaining-card summary')).click();
    const v2 = await textOf(firefox, '#remaining tr[data-type="recaptcha_v2"]');
    assert.match(v2.replace(/[,.\s](?=\d{3}\b)/g, ''), /4115/);
    assert.equal(api.balanceRequests(), 1, 'the popup reused the fresh reading');
    // CaptchaAI sells thread plans: the same check read the mock plan's threads.
    assert.equal(await textOf(firefox, '#threads-text'), '3 of 10 threads busy');
    assert.equal(api.threadsRequests(), 1);
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup.png'));
    await assertPageHasNoKey(firefox, 'popup');
  });
});

test('Firefox: low balance gives a red badge with the short balance', async () => {
  api.setScenario({ scenario: 'low' });
  await withFirefox(async (firefox) => {
    await configure(firefox);
    await expectBadge(firefox, { text: '0.42', color: RED });
    await openPopup(firefox);
    assert.equal(await textOf(firefox, '#balance'), '$0.4200');
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup-low.png'));
  });
});

test('Firefox: empty balance gives a red 0', async () => {
  api.setScenario({ scenario: 'zero' });
  await withFirefox(async (firefox) => {
    await configure(firefox, { notifications: false });
    await expectBadge(firefox, { text: '0', color: RED });
    await openPopup(firefox);
    assert.equal(await textOf(firefox, '#balance'), '$0.0000');
  });
});

test('Firefox: a rejected key gives a grey ! and the popup says why', async () => {
  api.setScenario({ scenario: 'wrong_key' });
  await withFirefox(async (firefox) => {
    await configure(firefox);
    await expectBadge(firefox, { text: '!', color: GREY });
    await openPopup(firefox);
    assert.equal(await (await firefox.find('#error')).displayed(), true, 'the error is shown');
    assert.match(await textOf(firefox, '#error'), /key/i);
    assert.equal(api.balanceRequests(), 1, 'the rejected key was not sent again');
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup-wrong-key.png'));
    await assertPageHasNoKey(firefox, 'popup (wrong key)');
  });
});

test('Firefox: a rejected key re-enabled at the provider: opening the popup asks nothing, Refresh asks once', async () => {
  api.setScenario({ scenario: 'wrong_key' });
  await withFirefox(async (firefox) => {
    await configure(firefox);
    await expectBadge(firefox, { text: '!', color: GREY });
    assert.equal(api.balanceRequests(), 1);
    api.setScenario({ scenario: 'ok', balance: '12.345' });
    // Two minutes pass for the stored state (past the one-minute request floor).
    await age(firefox, 120_000);
    await openPopup(firefox);
    assert.equal(api.balanceRequests(), 1, 'opening the popup retried a rejected key');
    assert.equal(await firefox.execute(() => document.querySelector('#refresh').disabled), false,
      'Refresh is disabled for a rejected key');
    await (await firefox.find('#refresh')).click();
    await waitUntil(async () => (await textOf(firefox, '#balance')) === '$12.3450', 10_000, 'the balance after Refresh');
    await expectBadge(firefox, { text: '12.3', color: GREEN });
    assert.equal(api.balanceRequests(), 2, 'Refresh sent no request, or more than one');
  });
});

test('Firefox: a key rejected after good readings keeps the balance and its level, out of date; the popup opens on Refresh and counts down only after a press', async () => {
  api.setScenario({ scenario: 'low', balance: '0.42' });
  await withFirefox(async (firefox) => {
    await configure(firefox);
    await expectBadge(firefox, { text: '0.42', color: RED });
    // Within the request floor the popup opens on a plain Refresh; a press sends nothing and
    // says how long until one can.
    await openPopup(firefox);
    assert.equal(await textOf(firefox, '#refresh'), 'Refresh');
    await (await firefox.find('#refresh')).click();
    await waitUntil(async () => /^You can check again in \d+ s$/.test(await textOf(firefox, '#refresh')), 10_000,
      'the countdown after a press');
    assert.equal(await firefox.execute(() => document.querySelector('#refresh').disabled), true);
    assert.equal(api.balanceRequests(), 1, 'a press within the floor sent a request');

    // A second reading (past the 5-minute cache), so the sparkline has a line to draw.
    api.setScenario({ scenario: 'low', balance: '0.40' });
    await age(firefox, 6 * 60_000);
    await openPopup(firefox);
    await waitUntil(async () => (await textOf(firefox, '#balance')) === '$0.4000', 10_000, 'the second reading');
    // The provider rejects the key at the next check: nothing known is hidden.
    api.setScenario({ scenario: 'wrong_key' });
    await age(firefox, 6 * 60_000);
    await openPopup(firefox);
    await waitUntil(async () => (await firefox.find('#error')).displayed(), 10_000, 'the key problem');
    assert.equal(api.balanceRequests(), 3);
    const look = await expectBadge(firefox, { text: '0.40', color: DARK_RED });
    assert.match(look.title, /^Balance: \$0\.4000 \(Low\), checked \d+ min ago/);
    assert.equal(await textOf(firefox, '#balance'), '$0.4000');
    assert.equal(await textOf(firefox, '#level'), 'Low · below $1.0000 · out of date');
    assert.match(await textOf(firefox, '#error-message'), /rejected the API key/);
    assert.equal(await (await firefox.find('#sparkline')).displayed(), true, 'the sparkline stays');
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup-rejected-after-reading.png'));
  });
});

test('Firefox: two accounts of different families, the low one turns the badge red; topped up and refreshed, green', async () => {
  const KEY_2 = 'a9c04e7d1b2f3a5c6e8d0f1a2b3c4d5e';
  const api2 = await startMockApi();
  try {
    api.setScenario({ scenario: 'ok', balance: '12.345' });
    api2.setScenario({ scenario: 'low', balance: '0.42' });
    await withFirefox(async (firefox) => {
      await firefox.setWindowSize(900, 1400);
      await configure(firefox);
      await expectBadge(firefox, { text: '12.3', color: GREEN });
      // A second account on Anti-Captcha (the createTask family), at the second mock.
      await (await firefox.byText('Add account', 'button')).click();
      await (await firefox.find('#provider-2 option[value="anticaptcha"]')).click();
      await (await firefox.find('#name-2')).type('Staging');
      await (await firefox.find('#apiKey-2')).type(KEY_2);
      await (await firefox.find('#advanced-2 summary')).click();
      await (await firefox.find('#endpoint-2')).type(api2.url);
      await (await firefox.byText('Save', 'button')).click();
      await waitUntil(() => firefox.execute(() => ['ok', 'warn'].includes(document.querySelector('#status')?.dataset.kind)), 10_000,
        'the options page to say the settings were saved');
      const look = await expectBadge(firefox, { text: '0.42', color: RED });
      assert.match(look.title, /Staging/);
      assert.deepEqual(api2.keysSeen(), [KEY_2], 'the createTask account asked its API once');
      await firefox.screenshot(path.join(OUT_DIR, 'firefox-options-two-accounts.png'));

      await openPopup(firefox);
      const rows = await firefox.execute(() => [...document.querySelectorAll('#account-rows button')].map((b) => b.innerText));
      assert.equal(rows.length, 2);
      assert.match(rows[0], /Staging/, 'the low account first');
      await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup-two-accounts.png'));

      // Topped up: Refresh in its details (once Anti-Captcha's 30 s floor has passed).
      api2.setScenario({ scenario: 'ok', balance: '25' });
      await (await firefox.find('#account-rows button[data-account]')).click();
      await refreshUntil(firefox, async () => (await textOf(firefox, '#balance')) === '$25.0000', 45_000,
        'the topped-up balance after Refresh');
      await expectBadge(firefox, { text: '12.3', color: GREEN });
      assert.equal(api.balanceRequests(), 1, 'only the refreshed account was asked');
    });
  } finally {
    await api2.close();
  }
});

test('Firefox: twelve accounts: a summary line, the list scrolls inside the popup\'s 600 px, Refresh all', async () => {
  api.setScenario({ scenario: 'ok' });
  await withFirefox(async (firefox) => {
    await firefox.openExtensionPage('options.html');
    // Stored the way the worker stores settings, then one check of every account.
    await firefox.execute(async (accounts) => {
      await browser.storage.local.set({ state: { version: 3, accounts } });
      await browser.runtime.sendMessage({ type: 'check', trigger: 'settings' });
    }, manyAccounts(12, api.url));
    await openPopup(firefox);
    await waitUntil(async () => (await textOf(firefox, '#accounts-summary')) === '4 of 12 accounts need money', 10_000, 'the summary line');
    const size = await firefox.execute(() => ({
      body: document.body.getBoundingClientRect().height,
      list: document.getElementById('account-rows').scrollHeight,
      shown: document.getElementById('account-rows').clientHeight,
      rows: document.querySelectorAll('#account-rows button[data-account]').length,
    }));
    assert.equal(size.rows, 12);
    assert.ok(size.body <= 600, `the popup is ${size.body} px high`);
    assert.ok(size.list > size.shown, `the list scrolls inside (${size.list} px in ${size.shown})`);
    await firefox.screenshot(path.join(OUT_DIR, 'firefox-popup-twelve-accounts.png'));
    const before = api.balanceRequests();
    await (await firefox.find('#refresh-all')).click();
    await waitUntil(() => firefox.execute(() => !document.getElementById('refresh-all').disabled), 10_000, 'Refresh all to finish');
    assert.equal(api.balanceRequests(), before, 'within the request floor nothing is sent');
  });
});
