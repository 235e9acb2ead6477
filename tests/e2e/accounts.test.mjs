// Several accounts of several providers in the MV3 extension, in real Chromium against two
// loopback mock APIs (one per account, so each can be changed on its own): a 2captcha-family
// account (CaptchaAI, `GET /res.php`) and a createTask-family one (Anti-Captcha,
// `POST /getBalance`). One badge for all of them: the worst account's look. Needs `make build`.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { manyAccounts, startMockApi } from './lib/mock-api.mjs';
import { OUT_DIR } from './lib/browser.mjs';
import {
  KEY, KEY_2, MINUTE, POPUP_VIEWPORT, accountSection, badge, configureAccounts, expectBadge, fireAlarm, idle, openOptions,
  openPage, openPopup, openPopupWithoutWasm, screenshot, shiftWorkerClock, text, waitFor, withExtension,
} from './lib/extension.mjs';

const GREEN = '#15803d';
const RED = '#dc2626';
const GREY = '#6b7280';

let api;
let api2;

before(async () => {
  [api, api2] = await Promise.all([startMockApi(), startMockApi()]);
});
after(async () => { await Promise.all([api?.close(), api2?.close()]); });
beforeEach(() => {
  api.reset();
  api2.reset();
});

/** Production on CaptchaAI (`api`), Staging on Anti-Captcha (`api2`). */
const TWO = () => [
  { name: 'Production', provider: 'CaptchaAI', key: KEY, endpoint: api.url },
  { name: 'Staging', provider: 'Anti-Captcha', key: KEY_2, endpoint: api2.url },
];

/** The popup's rows, top to bottom, as text. */
function rows(popup) {
  return popup.locator('#account-rows button[data-account]').allInnerTexts();
}

function storedState(ext) {
  return ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state ?? null);
}

test('two accounts of different families: the low one turns the badge red with its balance; topping it up turns it green', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  api2.setScenario({ scenario: 'low', balance: '0.42' });
  await withExtension(async (ext) => {
    // What the worker shows (a headless browser keeps no notification's text).
    await ext.worker.evaluate(() => {
      globalThis.notified = [];
      const create = chrome.notifications.create.bind(chrome.notifications);
      chrome.notifications.create = (id, options) => {
        globalThis.notified.push({ id, title: options.title });
        return create(id, options);
      };
    });
    const options = await configureAccounts(ext, TWO());
    const look = await expectBadge(ext, { text: '0.42', color: RED });
    // The tooltip lists every account with its balance.
    assert.match(look.title, /Production[^\n]*\$12\.3450/);
    assert.match(look.title, /Staging[^\n]*\$0\.4200/);
    // Each account asked its own API in its own protocol, once.
    assert.deepEqual(api.keysSeen(), [KEY]);
    assert.deepEqual(api2.keysSeen(), [KEY_2], 'the createTask account sent its key as clientKey');
    // One low-balance warning, for the low account, naming it.
    const shown = await ext.worker.evaluate(() => chrome.notifications.getAll());
    assert.equal(Object.keys(shown).length, 1, JSON.stringify(shown));
    assert.match(Object.keys(shown)[0], /^captchaai-balance-warning:/);
    const notified = await ext.worker.evaluate(() => globalThis.notified);
    assert.equal(notified.length, 1, JSON.stringify(notified));
    assert.match(notified[0].title, /Staging/, 'the notification names the account');
    // Both key statuses, each next to its own key field.
    await waitFor(() => accountSection(options, 1).locator('.key-status').innerText(), (s) => /Anti-Captcha accepted/.test(s),
      { what: 'the second account\'s key status' });
    assert.match(await accountSection(options, 0).locator('.key-status').innerText(), /CaptchaAI accepted/);
    await options.locator('#accounts').scrollIntoViewIfNeeded();
    await screenshot(options, 'options-two-accounts.png');

    // The popup lists both, the low one first.
    let popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    const listed = await rows(popup);
    assert.equal(listed.length, 2);
    assert.match(listed[0], /Staging[\s\S]*Anti-Captcha[\s\S]*\$0\.4200[\s\S]*Low/);
    assert.match(listed[1], /Production[\s\S]*CaptchaAI[\s\S]*\$12\.3450[\s\S]*OK/);
    assert.equal(await popup.locator('#details').isVisible(), false, 'the list first');
    await screenshot(popup, 'popup-two-accounts.png');

    // Top up the low account, then Refresh in its details: only that account is asked.
    api2.setScenario({ scenario: 'ok', balance: '25' });
    await popup.close();
    await shiftWorkerClock(ext, 2 * MINUTE);
    popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    await popup.locator('#account-rows button', { hasText: 'Staging' }).click();
    assert.equal(await text(popup, '#balance'), '$0.4200');
    assert.match(await text(popup, '#account-name'), /Staging/);
    await popup.locator('#refresh').click();
    await waitFor(() => text(popup, '#balance'), (s) => s === '$25.0000', { what: 'the topped-up balance' });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    assert.equal(api2.balanceRequests(), 2, 'the refreshed account was asked again');
    assert.equal(api.balanceRequests(), 1, 'Refresh in one account\'s details asked the other too');
    // The calculator estimates against the chosen account: Anti-Captcha has no example
    // rates, so it has none to offer.
    assert.equal(await popup.locator('#calc-card').isVisible(), false);
    await popup.locator('#back').click();
    assert.equal((await rows(popup)).length, 2, 'back to the list');
  });
});

test('a rejected key on one account leaves the other polling', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  api2.setScenario({ scenario: 'wrong_key' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, TWO());
    // The worst account is the one in error: grey "!".
    await expectBadge(ext, { text: '!', color: GREY });
    assert.equal(api.balanceRequests(), 1);
    assert.equal(api2.balanceRequests(), 1);

    // An hour later the alarm asks the good account again, never the rejected key.
    await shiftWorkerClock(ext, 60 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 2, 'the account with a good key stopped polling');
    assert.equal(api2.balanceRequests(), 1, 'the rejected key was retried');
    api.setScenario({ scenario: 'low' });
    await shiftWorkerClock(ext, 120 * MINUTE);
    await fireAlarm(ext);
    assert.equal(api.balanceRequests(), 3);
    assert.equal(api2.balanceRequests(), 1);
    // Low beats error in the worst-first order.
    await expectBadge(ext, { text: '0.42', color: RED });

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    const listed = await rows(popup);
    assert.match(listed[0], /Production/);
    assert.match(listed[1], /Staging[\s\S]*key/i, 'the rejected account says what is wrong');
    assert.match(listed[1], /Check failed/, 'a failed check reads as such, not as "Unknown"');
    assert.doesNotMatch(listed[1], /Unknown/);
    await popup.locator('#account-rows button', { hasText: 'Staging' }).click();
    assert.equal(await popup.locator('#error').isVisible(), true);
    for (const part of ['#error-message', '#error-cause', '#error-fix']) {
      assert.ok((await text(popup, part)).trim().length > 10, `${part} is filled`);
    }
    await screenshot(popup, 'popup-account-rejected.png');
  });
});

test('the popup lists three accounts worst first and shows one\'s details; five still fit in 600 px', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  api2.setScenario({ scenario: 'low', balance: '0.42' });
  const third = { name: 'Scraper', provider: 'Custom (2captcha-compatible)', key: 'scraper-token-0001', endpoint: `${api.url}/html_502` };
  await withExtension(async (ext) => {
    await configureAccounts(ext, [...TWO(), third]);
    await expectBadge(ext, { text: '0.42', color: RED });
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    const listed = await rows(popup);
    assert.equal(listed.length, 3);
    // Worst first: low, then error, then ok.
    assert.deepEqual(listed.map((row) => row.match(/^\w+/)[0]), ['Staging', 'Scraper', 'Production'], `rows: ${JSON.stringify(listed)}`);
    await screenshot(popup, 'popup-three-accounts.png');

    await popup.locator('#account-rows button', { hasText: 'Production' }).click();
    assert.equal(await text(popup, '#balance'), '$12.3450');
    await popup.locator('#calc-type').selectOption('recaptcha_v2');
    await popup.locator('#calc-qty').fill('1000');
    await waitFor(() => text(popup, '#calc-cost'), (s) => s.includes('$3.0000'), { what: 'the estimate for this account' });
    const detailsHeight = await popup.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(detailsHeight <= 600, `one account's details are ${detailsHeight} px high`);
    await screenshot(popup, 'popup-three-accounts-details.png');
    await popup.close();

    // Five accounts: the list still fits.
    const options = await openOptions(ext);
    await configureAccounts(ext, [
      { ...TWO()[0], key: null }, { ...TWO()[1], key: null }, { ...third, key: null },
      { name: 'Backup', provider: 'CapMonster Cloud', key: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', endpoint: `${api2.url}/zero` },
      { name: 'Solver', provider: 'CapSolver', key: 'CAP-0123456789ABCDEF0123456789ABCDEF', endpoint: `${api2.url}/ok` },
    ], { page: options });
    const five = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    assert.equal((await rows(five)).length, 5);
    const height = await five.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(height <= 600, `the popup with five accounts is ${height} px high`);
    await screenshot(five, 'popup-five-accounts.png');
  });
});

/**
 * Store `count` CaptchaAI accounts (with its example rates: every fold of the details has
 * rows) at endpoints of the mock, every third low, the way the worker stores settings, and
 * check them all once.
 */
async function storeManyAccounts(ext, count) {
  await ext.worker.evaluate(async (accounts) => {
    await chrome.storage.local.set({ state: { version: 3, accounts } });
    await globalThis.captchaaiBalance.check('settings');
  }, manyAccounts(count, api.url));
  await idle(ext);
}

test('the popup stays within 600 px with 10 and 20 accounts and with every fold open: a summary line, the list scrolls inside, Refresh all', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    for (const count of [10, 20]) {
      await storeManyAccounts(ext, count);
      const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
      const listed = await rows(popup);
      assert.equal(listed.length, count);
      const low = Math.floor(count / 3);
      assert.equal(await text(popup, '#accounts-summary'), `${low} of ${count} accounts need money`);
      const size = await popup.evaluate(() => ({
        page: document.documentElement.scrollHeight,
        list: document.getElementById('account-rows').scrollHeight,
        shown: document.getElementById('account-rows').clientHeight,
      }));
      assert.ok(size.page <= 600, `the popup with ${count} accounts is ${size.page} px high`);
      assert.ok(size.list > size.shown, `the list scrolls inside (${size.list} px in ${size.shown})`);
      // The last row can be reached (scrolled to, by keyboard too: rows are buttons).
      const last = popup.locator('#account-rows button[data-account]').last();
      await last.focus();
      assert.ok(await last.isVisible());
      await screenshot(popup, `popup-${count}-accounts.png`);

      // Refresh all asks for every account (each within its own floor: none is due yet, so
      // nothing is sent, and the button says nothing false).
      const before = api.balanceRequests();
      await popup.locator('#refresh-all').click();
      await idle(ext);
      assert.equal(api.balanceRequests(), before, 'within the request floor nothing is sent');

      // One account's details with every fold open still fit.
      await popup.locator('#account-rows button', { hasText: 'Account 03' }).click();
      await popup.evaluate(() => { for (const fold of document.querySelectorAll('details')) fold.open = true; });
      const details = await popup.evaluate(() => document.documentElement.scrollHeight);
      assert.ok(details <= 600, `the details with every fold open are ${details} px high`);
      await screenshot(popup, `popup-${count}-accounts-details.png`);
      await popup.close();
    }
  });
});

test('options: errors stand next to the right account\'s field; a refused host permission saves nothing', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, TWO());
    const before = await storedState(ext);

    // A bad key in the second account: the message is in that account's key field only.
    const page = await openOptions(ext);
    await accountSection(page, 1).getByLabel('API key', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#status[data-kind="error"]').waitFor();
    assert.equal(await accountSection(page, 1).locator('[data-field="apiKey"] > .field-error').isVisible(), true);
    assert.equal(await accountSection(page, 0).locator('[data-field="apiKey"] > .field-error').isVisible(), false);
    assert.equal(await accountSection(page, 1).getByLabel('API key', { exact: true }).getAttribute('aria-invalid'), 'true');
    // A shared field's problem shows once, in the shared section, however many accounts.
    await accountSection(page, 1).getByLabel('API key', { exact: true }).fill('');
    await page.locator('#intervalMinutes').fill('0');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#status[data-kind="error"]').waitFor();
    assert.equal(await page.locator('.field-error:visible').count(), 1);
    assert.equal(await page.locator('.shared [data-field="intervalMinutes"] > .field-error').isVisible(), true);
    await page.close();

    // A custom endpoint on a host the manifest does not grant: Save asks for it, within the
    // click (user activation), and a refusal saves nothing.
    for (const answer of [false, true]) {
      const options = await ext.page();
      await options.addInitScript((granted) => {
        globalThis.permissionAsks = [];
        chrome.permissions.request = async (request) => {
          globalThis.permissionAsks.push({ origins: request.origins, active: navigator.userActivation.isActive });
          return granted;
        };
      }, answer);
      await options.goto(`chrome-extension://${ext.extensionId}/options.html`);
      await options.locator('#save:enabled').waitFor();
      const section = accountSection(options, 1);
      await section.getByLabel('Provider', { exact: true }).selectOption({ label: 'Custom (createTask-compatible)' });
      // A custom provider has no address of its own: its endpoint shows, marked required.
      const endpoint = section.getByLabel('API endpoint', { exact: true });
      assert.equal(await endpoint.isVisible(), true, 'the endpoint of a custom provider is folded away');
      assert.equal(await endpoint.evaluate((el) => el.required), true);
      assert.match(await section.locator('.endpoint-help').innerText(), /^Required/);
      await section.getByLabel('API endpoint', { exact: true }).fill('https://proxy.example.com:8443/balance');
      await options.getByRole('button', { name: 'Save', exact: true }).click();
      await options.locator(`#status[data-kind="${answer ? 'ok' : 'error'}"], #status[data-kind="warn"]`).waitFor();
      const asks = await options.evaluate(() => globalThis.permissionAsks);
      assert.deepEqual(asks, [{ origins: ['https://proxy.example.com/*'], active: true }],
        'the permission was asked for once, while the click\'s user activation lasted');
      await idle(ext);
      const state = await storedState(ext);
      if (!answer) {
        const error = section.locator('[data-field="endpoint"] > .field-error');
        assert.equal(await error.isVisible(), true, 'the refusal stands next to the endpoint');
        assert.match(await error.innerText(), /proxy\.example\.com/);
        assert.deepEqual(state, before, 'a refused permission saved something');
        await screenshot(options, 'options-permission-refused.png');
      } else {
        assert.equal(state.accounts[1].settings.provider, 'custom-createtask');
        assert.equal(state.accounts[1].settings.endpoint, 'https://proxy.example.com:8443/balance');
      }
      await options.close();
    }
  });
});

test('Add account and Remove: a fresh install shows one account without Remove; a removed account is gone', async () => {
  api.setScenario({ scenario: 'ok' });
  api2.setScenario({ scenario: 'ok', balance: '7.5' });
  await withExtension(async (ext) => {
    const page = await openOptions(ext);
    assert.equal(await page.locator('fieldset.account').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Remove', exact: true }).count(), 0, 'no Remove for the only account');
    const labels = await page.getByLabel('Provider', { exact: true }).locator('option').allInnerTexts();
    assert.deepEqual(labels, ['CaptchaAI', '2Captcha', 'RuCaptcha', 'Anti-Captcha', 'CapMonster Cloud', 'CapSolver',
      'Custom (2captcha-compatible)', 'Custom (createTask-compatible)']);
    await page.close();

    await configureAccounts(ext, TWO());
    await expectBadge(ext, { text: '12.3', color: GREEN });
    const options = await openOptions(ext);
    assert.equal(await options.getByRole('button', { name: 'Remove', exact: true }).count(), 2);
    await accountSection(options, 0).getByRole('button', { name: 'Remove', exact: true }).click();
    assert.equal(await options.locator('fieldset.account').count(), 1);
    // The remaining account now holds the first account's ids (what a one-account page has).
    assert.equal(await options.locator('#apiKey').count(), 1);
    await options.getByRole('button', { name: 'Save', exact: true }).click();
    await options.locator('#status[data-kind="ok"], #status[data-kind="warn"]').waitFor();
    await idle(ext);
    const state = await storedState(ext);
    assert.deepEqual(state.accounts.map((a) => a.settings.name), ['Staging']);
    // The badge is the remaining account's.
    await expectBadge(ext, { text: '7.50', color: GREEN });
    assert.doesNotMatch((await badge(ext)).title, /12\.3450/);
    // One account again: the popup shows its details at once, no list.
    const popup = await openPage(ext, 'popup.html', { viewport: POPUP_VIEWPORT });
    await popup.waitForFunction(() => Number(document.documentElement.dataset.checks ?? 0) >= 1);
    assert.equal(await popup.locator('#accounts').isVisible(), false);
    assert.equal(await text(popup, '#balance'), '$7.5000');
    assert.equal(await popup.locator('#back').isVisible(), false);
  });
});

test('two options tabs: a save from the second, filled before the first saved, is refused, the page refills, and nothing the first saved is lost', async () => {
  api.setScenario({ scenario: 'ok' });
  api2.setScenario({ scenario: 'ok', balance: '7.5' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, TWO());
    await expectBadge(ext, { text: '12.3', color: GREEN });
    const [first, second] = [await openOptions(ext), await openOptions(ext)];
    // The first tab renames Staging and saves.
    await accountSection(first, 1).getByLabel('Name', { exact: true }).fill('Staging EU');
    await first.getByRole('button', { name: 'Save', exact: true }).click();
    await first.locator('#status[data-kind="ok"]').waitFor();
    await idle(ext);
    // The second still shows "Staging"; it changes Production's threshold and saves: its list
    // would undo the rename, so it is refused.
    assert.equal(await accountSection(second, 1).getByLabel('Name', { exact: true }).inputValue(), 'Staging');
    await accountSection(second, 0).getByLabel(/threshold/i).fill('5');
    await second.getByRole('button', { name: 'Save', exact: true }).click();
    await second.locator('#status[data-kind="error"]').waitFor();
    assert.match(await text(second, '#status'), /changed in another tab or window.*nothing was saved/);
    assert.notEqual(await text(second, '#status'), 'Saved.');
    // The page shows what is stored now: the rename is there, the refused threshold is not.
    assert.equal(await accountSection(second, 1).getByLabel('Name', { exact: true }).inputValue(), 'Staging EU');
    assert.equal(await accountSection(second, 0).getByLabel(/threshold/i).inputValue(), '1');
    await screenshot(second, 'options-saved-elsewhere.png');
    let state = await storedState(ext);
    assert.deepEqual(state.accounts.map((a) => a.settings.name), ['Production', 'Staging EU']);
    assert.equal(state.accounts[0].settings.threshold, '1');
    // Made again on the refilled page, the change saves and keeps the rename.
    await accountSection(second, 0).getByLabel(/threshold/i).fill('5');
    await second.getByRole('button', { name: 'Save', exact: true }).click();
    await second.locator('#status[data-kind="ok"]').waitFor();
    await idle(ext);
    state = await storedState(ext);
    assert.deepEqual(state.accounts.map((a) => a.settings.name), ['Production', 'Staging EU']);
    assert.equal(state.accounts[0].settings.threshold, '5');
    // And now the first tab is the stale one.
    await first.getByRole('button', { name: 'Save', exact: true }).click();
    await first.locator('#status[data-kind="error"]').waitFor();
    assert.equal(await accountSection(first, 0).getByLabel(/threshold/i).inputValue(), '5');
  });
});

test('Test key checks only its own account, and its status stands next to that account\'s key', async () => {
  api.setScenario({ scenario: 'ok' });
  api2.setScenario({ scenario: 'ok', balance: '7.5' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, TWO());
    await expectBadge(ext, { text: '12.3', color: GREEN });
    assert.deepEqual([api.balanceRequests(), api2.balanceRequests()], [1, 1]);
    // Past both floors, the second account's Test key asks its API alone.
    await shiftWorkerClock(ext, 2 * MINUTE);
    api2.setScenario({ scenario: 'wrong_key' });
    const page = await openOptions(ext);
    const staging = accountSection(page, 1);
    const button = staging.getByRole('button', { name: 'Test key', exact: true });
    await waitFor(() => button.isDisabled(), (d) => !d, { what: 'Test key enabled' });
    await button.click();
    await waitFor(() => staging.locator('.key-status').innerText(), (s) => /Key not found|does not know|rejected/i.test(s),
      { what: 'the second account\'s key status' });
    await idle(ext);
    assert.deepEqual([api.balanceRequests(), api2.balanceRequests()], [1, 2], 'Test key asked another account too');
    assert.equal(await staging.locator('.key-status').getAttribute('data-ok'), 'false');
    assert.match(await accountSection(page, 0).locator('.key-status').innerText(), /accepted/, 'the first account\'s status is its own');
  });
});

test('the popup\'s first paint lists every account from the view its previous opening stored', async () => {
  api.setScenario({ scenario: 'ok', balance: '12.345' });
  api2.setScenario({ scenario: 'low', balance: '0.42' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, TWO());
    await (await openPopup(ext, { viewport: POPUP_VIEWPORT })).close();
    // The wasm never finishes compiling in this page: only the stored entry can paint.
    const page = await openPopupWithoutWasm(ext);
    const listed = await waitFor(() => rows(page), (r) => r.length === 2, { what: 'the stored rows' });
    assert.match(listed[0], /Staging[\s\S]*\$0\.4200/);
    assert.match(listed[1], /Production[\s\S]*\$12\.3450/);
    const raw = await page.evaluate(() => localStorage.getItem('cab-popup-view'));
    assert.ok(!raw.includes(KEY) && !raw.includes(KEY_2), 'a key in the stored entry');
    assert.ok(!raw.includes(`${KEY.slice(0, 4)}…`) && !raw.includes(`${KEY_2.slice(0, 4)}…`), 'a masked key in the stored entry');
  });
});
