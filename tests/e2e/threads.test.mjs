// A CaptchaAI thread plan in the MV3 extension, in real Chromium against the loopback mock API
// (`POST /res.php` with `action=threadsinfo`: 10 threads, 3 busy; scenarios `saturated` and
// `expired`, or a plan given with any scenario). The same check reads the balance and the
// threads; the popup, the badge's tooltip and the notifications say them; a "no money" answer
// while money remains is told as what it is. Needs `make build`.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMockApi } from './lib/mock-api.mjs';
import {
  KEY_2, MINUTE, POPUP_VIEWPORT, badge, configure, configureAccounts, expectBadge, fireAlarm, idle, notified, openPopup,
  recordNotifications, screenshot, shiftWorkerClock, text, waitFor, withExtension,
} from './lib/extension.mjs';

const GREEN = '#15803d';

let api;
let api2;
before(async () => { [api, api2] = await Promise.all([startMockApi(), startMockApi()]); });
after(async () => { await Promise.all([api?.close(), api2?.close()]); });
beforeEach(() => {
  api.reset();
  api2.reset();
});

/**
 * Two accounts: Production, a CaptchaAI plan on `api`, and Staging, an Anti-Captcha account on
 * `api2` (a provider without thread plans); configured and read once, the badge green.
 */
async function productionAndStaging(ext) {
  await configureAccounts(ext, [
    { name: 'Production', provider: 'CaptchaAI', endpoint: api.url },
    { name: 'Staging', provider: 'Anti-Captcha', key: KEY_2, endpoint: api2.url },
  ]);
  await expectBadge(ext, { text: '12.3', color: GREEN });
}

/** One scheduled check `minutes` after the start (the worker's clock moved there, the alarm fired). */
async function checkAt(ext, minutes) {
  await shiftWorkerClock(ext, minutes * MINUTE);
  await fireAlarm(ext);
  await idle(ext);
}

test('a CaptchaAI plan\'s threads beside its balance: one check asks both; the popup row and details and the badge tooltip say them; another provider shows none', async () => {
  api.setScenario({ scenario: 'ok' });
  api2.setScenario({ scenario: 'ok', balance: '7.5' });
  await withExtension(async (ext) => {
    await productionAndStaging(ext);
    // One check of the CaptchaAI account: its balance and its threads, the key in the form body.
    assert.deepEqual([api.balanceRequests(), api.threadsRequests(), api2.threadsRequests()], [1, 1, 0]);
    assert.equal(api.threadsKeysSeen().length, 1);
    assert.match((await badge(ext)).title, /Production \(CaptchaAI\): \$12\.3450 · OK · 3 of 10 threads busy/);

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    const production = popup.locator('#account-rows button', { hasText: 'Production' });
    assert.equal(await production.locator('.row-threads').innerText(), '3 of 10 threads busy');
    assert.equal(await popup.locator('#account-rows button', { hasText: 'Staging' }).locator('.row-threads').count(), 0);
    await screenshot(popup, 'popup-threads-list.png');
    await production.click();
    await popup.locator('#threads').waitFor({ state: 'visible' });
    assert.equal(await text(popup, '#threads-text'), '3 of 10 threads busy');
    assert.equal(await popup.locator('#threads').getAttribute('data-capacity'), 'free');
    await screenshot(popup, 'popup-threads.png');
    await popup.locator('#back').click();
    await popup.locator('#account-rows button', { hasText: 'Staging' }).click();
    assert.equal(await popup.locator('#threads').isVisible(), false, 'Anti-Captcha sells no thread plans');
    // Opening the popup reused the reading: nothing more was asked.
    assert.deepEqual([api.balanceRequests(), api.threadsRequests()], [1, 1]);
  });
});

test('every thread busy: one notification once it has lasted ten minutes, none more while it lasts, again after a free thread; the popup says it in amber', async () => {
  api.setScenario({ scenario: 'saturated' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url, notifications: true });
    await expectBadge(ext, { text: '12.3', color: GREEN });
    await recordNotifications(ext);
    const saturated = async () => (await notified(ext)).filter((n) => n.id.startsWith('captchaai-balance-threads_saturated:'));
    // The first busy reading is no saturation yet (three in a row, or ten minutes, are: the
    // default 10-minute interval makes the second reading the one).
    assert.equal((await saturated()).length, 0);
    await checkAt(ext, 11);
    const said = await saturated();
    assert.equal(said.length, 1, JSON.stringify(await notified(ext)));
    assert.equal(said[0].title, 'CaptchaAI: All threads busy');
    assert.match(said[0].message, /plan's 10 threads has been busy/);
    await checkAt(ext, 22);
    await checkAt(ext, 33);
    assert.equal((await saturated()).length, 1, 'said once per episode');
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
    await waitFor(() => text(popup, '#threads-text'), (t) => t === 'All 10 threads busy', { what: 'the threads line' });
    assert.equal(await popup.locator('#threads').getAttribute('data-capacity'), 'all_busy');
    assert.equal(await text(popup, '#level'), 'OK', 'the money is fine');
    await screenshot(popup, 'popup-threads-busy.png');
    await popup.close();
    // A free thread ends the episode; busy again for ten minutes is a new one.
    api.setScenario({ scenario: 'ok' });
    await checkAt(ext, 44);
    api.setScenario({ scenario: 'saturated' });
    await checkAt(ext, 55);
    assert.equal((await saturated()).length, 1);
    await checkAt(ext, 66);
    assert.equal((await saturated()).length, 2, 're-armed by a free thread');
    assert.equal((await notified(ext)).filter((n) => !n.id.startsWith('captchaai-balance-threads_saturated:')).length, 0,
      'no money alert: the money never moved');
  });
});

test('no active plan: said once, the account needs attention in the summary, and ERROR_ZERO_BALANCE while money remains says renew, not add funds', async () => {
  api.setScenario({ scenario: 'ok' });
  api2.setScenario({ scenario: 'ok', balance: '7.5' });
  await withExtension(async (ext) => {
    await productionAndStaging(ext);
    await recordNotifications(ext);
    // The plan expires; the provider answers the balance with ERROR_ZERO_BALANCE although
    // $12.3450 is on the account.
    api.setScenario({ scenario: 'error_zero_balance', threads: 0, working: 0 });
    await checkAt(ext, 11);
    await checkAt(ext, 22);
    const said = await notified(ext);
    assert.deepEqual(said.map((n) => n.id.split(':')[0]), ['captchaai-balance-plan_expired'], JSON.stringify(said));
    assert.equal(said[0].title, 'Production: No active plan');
    assert.equal(said[0].priority, 2);
    // The badge stays about money (Staging's green and Production's money are fine).
    const look = await badge(ext);
    assert.notEqual(look.text, '0');
    assert.match(look.title, /Production \(CaptchaAI\): \$12\.3450 · No active plan/);

    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
    await waitFor(() => text(popup, '#accounts-summary'), (s) => s === '1 of 2 accounts need attention', { what: 'the summary' });
    const rows = await popup.locator('#account-rows button[data-account]').allInnerTexts();
    assert.match(rows[0], /Production/, 'the expired plan first');
    assert.match(rows[0], /No active plan/);
    // Its row in an empty balance's colour (out of date: the submit failed), never a reassuring
    // green beside "No active plan"; Staging's stays green.
    const accents = await popup.locator('#account-rows button[data-account]').evaluateAll((buttons) => buttons.map((b) => b.style.getPropertyValue('--level')));
    assert.deepEqual(accents, ['#7f1d1d', GREEN]);
    await screenshot(popup, 'popup-plan-expired-list.png');
    await popup.locator('#account-rows button', { hasText: 'Production' }).click();
    assert.equal(await text(popup, '#balance'), '$12.3450', 'the money is kept, not read as zero');
    assert.equal(await text(popup, '#error-message'), 'No active plan');
    assert.match(await text(popup, '#error-cause'), /ERROR_ZERO_BALANCE although the balance is \$12\.3450/);
    assert.match(await text(popup, '#error-fix'), /^Renew or buy a thread plan in CaptchaAI's dashboard/);
    assert.doesNotMatch(await text(popup, '#error-fix'), /Add funds/);
    assert.equal(await popup.locator('#threads').isVisible(), false, 'the error card says it: not twice');
    assert.equal(await popup.locator('#card').evaluate((card) => card.style.getPropertyValue('--level')), '#7f1d1d');
    await screenshot(popup, 'popup-plan-expired.png');
  });
});
