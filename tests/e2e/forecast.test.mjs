// The forecast in the MV3 extension, in real Chromium against the loopback mock APIs: the
// popup's sparkline (24 h / 7 d), spend, runway and last top-up from a stored history; the
// predictive and spike notifications the next reading fires; the options' predictive horizon
// and spike switch. Histories are seeded into the stored state the way the worker keeps them
// (`monitor.history`), so a test does not wait days for readings. Needs `make build`.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOCK, pattern } from './lib/browser.mjs';
import { startMockApi } from './lib/mock-api.mjs';
import {
  KEY_2, MINUTE, POPUP_VIEWPORT, configure, configureAccounts, fireAlarm, idle, openOptions, openPopup, recordNotifications,
  screenshot, shiftClock, shiftWorkerClock, text, waitFor, withExtension,
} from './lib/extension.mjs';

const HOUR = 60 * MINUTE;

let api;
let api2;
before(async () => { [api, api2] = await Promise.all([startMockApi(), startMockApi()]); });
after(async () => { await Promise.all([api?.close(), api2?.close()]); });
beforeEach(() => {
  api.reset();
  api2.reset();
});

/**
 * Replace the history of account `index` in the stored state (a new state object; the one read
 * is left alone) with one reading every 10 minutes over `spec.hours`, ending with the
 * account's stored reading (`lastGood`, whose balance is `spec.endUnits` units of $0.0001):
 * `spec.perStep` units spent per 10 minutes, and `spec.topUpUnits` added `spec.topUpHoursAgo`
 * hours ago. Oldest first, as the worker keeps it. Returns the number of points.
 */
function seedHistory(ext, index, spec) {
  return ext.worker.evaluate(async ({ index, spec }) => {
    const { state } = await chrome.storage.local.get('state');
    const account = state.accounts[index];
    const endAt = account.monitor.lastGood.at;
    const decimal = (units) => `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, '0')}`;
    const points = [];
    for (let i = spec.hours * 6; i >= 0; i -= 1) {
      const toppedUpSince = spec.topUpHoursAgo !== null && i * 600_000 >= spec.topUpHoursAgo * 3_600_000;
      points.push({
        at: endAt - i * 600_000,
        balance: decimal(spec.endUnits + i * spec.perStep - (toppedUpSince ? spec.topUpUnits : 0)),
        account: account.monitor.account,
      });
    }
    const accounts = state.accounts.map((a, i) => (i === index ? { ...a, monitor: { ...a.monitor, history: points } } : a));
    await chrome.storage.local.set({ state: { ...state, accounts } });
    return points.length;
  }, { index, spec: { topUpHoursAgo: null, topUpUnits: 0, ...spec } });
}

/** Three days of steady drain at $0.60 an hour to $10.50, with a $20 top-up 30 hours ago. */
const THREE_DAYS = { endUnits: 105_000, hours: 72, perStep: 1_000, topUpHoursAgo: 30, topUpUnits: 200_000 };

/** The stored state's first account id (the notification ids name it). */
function firstAccountId(ext) {
  return ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state.accounts[0].monitor.account);
}

/** `"x,y x,y"` -> [[x, y], …]. */
const pairs = (points) => points.trim().split(/\s+/).map((p) => p.split(',').map(Number));

test('popup: sparkline with its text, spend, runway and last top-up; the 7 d switch; four accounts fit in 600 px', async () => {
  api.setScenario({ scenario: 'ok', balance: '10.5' });
  api2.setScenario({ scenario: 'ok', balance: '25' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, [
      { name: 'Production', provider: 'CaptchaAI', endpoint: api.url },
      { name: 'Staging', provider: 'Anti-Captcha', key: KEY_2, endpoint: api2.url },
      { name: 'Backup', provider: 'CapMonster Cloud', key: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', endpoint: `${api2.url}/ok` },
      { name: 'Solver', provider: 'CapSolver', key: 'CAP-0123456789ABCDEF0123456789ABCDEF', endpoint: `${api2.url}/ok` },
    ]);
    assert.equal(await seedHistory(ext, 0, THREE_DAYS), 433);
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    await popup.locator('#account-rows button', { hasText: 'Production' }).click();
    await popup.locator('#forecast').waitFor({ state: 'visible' });

    // The core's figures, each on its line.
    assert.equal(await text(popup, '#spend'), 'Spending $0.6000 per hour, $14.4000 per day');
    assert.match(await text(popup, '#runway'), pattern`^Empty in about 17 h 2\d min, around ${CLOCK}$`);
    assert.match(await text(popup, '#runway-low'), /^Below the threshold in about 15 h [45]\d min$/);
    assert.match(await text(popup, '#top-up'), pattern`^Last top-up: \+\$19\.9000 at ${CLOCK}$`);
    assert.equal(await popup.locator('#forecast-note').isVisible(), false);

    // 24 h: an inline SVG polyline in the core's 100 x 30 box, falling to the lowest point now,
    // with its text alternative as <title> and aria-label.
    const svg = popup.locator('#sparkline');
    assert.equal(await svg.getAttribute('viewBox'), '0 0 100 30');
    assert.equal(await popup.locator('#period-day').getAttribute('aria-pressed'), 'true');
    assert.equal(await popup.locator('#period-week').getAttribute('aria-pressed'), 'false');
    const day = pairs(await popup.locator('#sparkline-line').getAttribute('points'));
    // A reading every 10 minutes for a day, at most one point per unit of width (the core
    // thins them) and always the newest.
    assert.ok(day.length >= 60 && day.length <= 101, `${day.length} points in the last 24 h`);
    assert.deepEqual(day.at(-1).map(Math.round), [100, 30], 'now, at the lowest balance');
    assert.equal(day[0][1], 0, 'the day starts at its highest balance');
    const dayText = await popup.locator('#sparkline-title').textContent();
    assert.match(dayText, /^Balance over the last 24 h: from \$2\d\.\d{4} to \$10\.5000, lowest \$10\.5000$/);
    assert.equal(await svg.getAttribute('aria-label'), dayText);
    assert.equal(await svg.getAttribute('role'), 'img');
    const box = await svg.boundingBox();
    assert.ok(box.width >= 100 && box.height >= 30, `the sparkline is ${box.width}x${box.height}`);

    // The whole details view fits Chrome's 600 px popup: the calculator starts folded here,
    // one click away (an account without a sparkline keeps it open: tests/e2e/popup.test.mjs).
    assert.equal(await popup.locator('#calc-card').evaluate((d) => d.open), false);
    await screenshot(popup, 'popup-forecast.png');
    const height = await popup.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(height <= 600, `the details with the forecast are ${height} px high`);

    // 7 d: the other button, three days of the seven, the top-up's jump in it.
    await popup.locator('#period-week').click();
    assert.equal(await popup.locator('#period-week').getAttribute('aria-pressed'), 'true');
    assert.equal(await popup.locator('#period-day').getAttribute('aria-pressed'), 'false');
    const week = pairs(await popup.locator('#sparkline-line').getAttribute('points'));
    // 433 readings over three days of the seven, thinned to one point per unit of width.
    assert.ok(week.length >= 40 && week.length <= 45, `${week.length} points in 7 d`);
    assert.ok(week[0][0] > 56 && week[0][0] < 58, `three days of seven start at x=${week[0][0]}`);
    assert.ok(week.some(([, y], i) => i > 0 && y < week[i - 1][1] - 10), 'the top-up shows as a jump up');
    const weekText = await popup.locator('#sparkline-title').textContent();
    assert.match(weekText, /^Balance over the last 7 days: from \$33\.7000 to \$10\.5000, lowest \$8\.5000$/);
    assert.equal(await svg.getAttribute('aria-label'), weekText);
    assert.ok(await popup.evaluate(() => document.documentElement.scrollHeight) <= 600);
    await screenshot(popup, 'popup-forecast-week.png');

    // The switch stays on 7 d while the popup repaints (a new view every check).
    const checks = api.balanceRequests();
    await shiftWorkerClock(ext, 2 * MINUTE);
    // The popup on the same clock as the worker (a reading "from the future" reads as such).
    await popup.evaluate(shiftClock, 2 * MINUTE);
    const production = await firstAccountId(ext);
    await ext.worker.evaluate((id) => globalThis.captchaaiBalance.check('refresh', id), production);
    await idle(ext);
    assert.equal(api.balanceRequests(), checks + 1);
    await waitFor(() => text(popup, '#checked'), (s) => /2 min ago|just now/.test(s), { what: 'the repaint' });
    assert.equal(await popup.locator('#period-week').getAttribute('aria-pressed'), 'true');

    // An account with one reading: the note instead of figures, no sparkline.
    await popup.locator('#back').click();
    await popup.locator('#account-rows button', { hasText: 'Staging' }).click();
    await waitFor(() => text(popup, '#trend-note'), (s) => /^Not enough history yet/.test(s), { what: 'the note beside the balance' });
    assert.equal(await popup.locator('#forecast').isVisible(), false, 'no figures');
    assert.equal(await svg.isVisible(), false);
    assert.equal(await popup.locator('#period').isVisible(), false);
    await screenshot(popup, 'popup-forecast-not-yet.png');
  });
});

test('popup in Indonesian: the forecast in its words and numbers', async () => {
  api.setScenario({ scenario: 'ok', balance: '10.5' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await seedHistory(ext, 0, THREE_DAYS);
    const popup = await openPopup(ext, { viewport: POPUP_VIEWPORT });
    await popup.locator('#forecast').waitFor({ state: 'visible' });
    assert.equal(await text(popup, '#spend'), 'Pengeluaran $0,6000 per jam, $14,4000 per hari');
    assert.match(await text(popup, '#runway'), /^Habis dalam sekitar /);
    assert.equal(await text(popup, '#period-day'), '24 jam');
    assert.equal(await text(popup, '#period-week'), '7 hari');
    assert.match(await popup.locator('#sparkline').getAttribute('aria-label'), /^Saldo selama 24 jam terakhir: dari \$2\d,\d{4} ke \$10,5000/);
    await screenshot(popup, 'popup-forecast-id.png');
    assert.ok(await popup.evaluate(() => document.documentElement.scrollHeight) <= 600);
  }, { lang: 'id' });
});

test('the forecast never contradicts the balance: at $0 it says since when it is empty; an old reading\'s runway is counted from it and says so', async () => {
  api.setScenario({ scenario: 'ok', balance: '0.6' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    // Six hours at $0.10 an hour down to $0.60; then the money runs out.
    await seedHistory(ext, 0, { endUnits: 6_000, hours: 6, perStep: 167 });
    api.setScenario({ scenario: 'zero' });
    await shiftWorkerClock(ext, 11 * MINUTE);
    await fireAlarm(ext);
    let popup = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
    await waitFor(() => text(popup, '#balance'), (b) => b === '$0.0000', { what: 'the empty balance' });
    const runway = await text(popup, '#runway');
    assert.match(runway, pattern`^Empty since ${CLOCK}$`, runway);
    assert.doesNotMatch(await text(popup, '#forecast'), /Empty in about/);
    await screenshot(popup, 'popup-empty-since.png');
    await popup.close();

    // Topped up; then the API goes down for hours: the runway is counted from the last reading
    // and said to be as of it, not from now as if the money had not moved.
    api.setScenario({ scenario: 'ok', balance: '0.6' });
    await shiftWorkerClock(ext, 22 * MINUTE);
    await fireAlarm(ext);
    await seedHistory(ext, 0, { endUnits: 6_000, hours: 6, perStep: 167 });
    api.setScenario({ scenario: 'html_502' });
    await shiftWorkerClock(ext, 3 * HOUR);
    await fireAlarm(ext);
    popup = await openPopup(ext, { viewport: POPUP_VIEWPORT, checks: 0 });
    await waitFor(() => text(popup, '#runway'), (r) => /as of the reading at/.test(r), { what: 'the runway as of the reading' });
    const old = await text(popup, '#runway');
    assert.match(old, pattern`^(Empty in about .*|At the recent spend it would be empty since about .*) \(as of the reading at ${CLOCK}\)$`, old);
    assert.match(await text(popup, '#level'), /out of date/);
    await screenshot(popup, 'popup-runway-as-of.png');
  });
});

test('a steady drain: the next reading fires one "runs out soon" notification naming the account', async () => {
  api.setScenario({ scenario: 'ok', balance: '10.5' });
  await withExtension(async (ext) => {
    await configure(ext, { endpoint: api.url });
    await recordNotifications(ext);
    // A day at $0.60 an hour: 17.5 hours of money left, within the default 24.
    await seedHistory(ext, 0, { endUnits: 105_000, hours: 24, perStep: 1_000 });
    api.setScenario({ scenario: 'ok', balance: '10.39' }); // 11 minutes later on the same line
    await shiftWorkerClock(ext, 11 * MINUTE);
    await fireAlarm(ext);
    const id = await firstAccountId(ext);
    const notified = await ext.worker.evaluate(() => globalThis.notified);
    assert.equal(notified.length, 1, JSON.stringify(notified));
    assert.equal(notified[0].id, `captchaai-balance-predictive:${id}`);
    assert.match(notified[0].title, /Runs out soon/);
    assert.match(notified[0].title, /CaptchaAI/, 'the title names the account');
    assert.match(notified[0].message, /\$0\.6000 per hour/);
    assert.equal(notified[0].priority, 1);
    assert.ok(Object.keys(await ext.worker.evaluate(() => chrome.notifications.getAll())).includes(`captchaai-balance-predictive:${id}`));

    // Once per episode: the next reading on the same line says nothing new.
    api.setScenario({ scenario: 'ok', balance: '10.28' });
    await shiftWorkerClock(ext, 22 * MINUTE);
    await fireAlarm(ext);
    assert.equal((await ext.worker.evaluate(() => globalThis.notified)).length, 1);
  });
});

test('a drop far above the account\'s usual spend fires one "unusual spending" notification; off in the options, none', async () => {
  for (const spikeAlerts of [true, false]) {
    api.reset();
    api.setScenario({ scenario: 'ok', balance: '20' });
    await withExtension(async (ext) => {
      await configure(ext, { endpoint: api.url });
      if (!spikeAlerts) {
        const page = await openOptions(ext);
        await page.locator('#spikeAlerts').setChecked(false);
        await page.locator('#save').click();
        await page.locator('#status[data-kind="ok"]').waitFor();
        await idle(ext);
      }
      await recordNotifications(ext);
      // A day at $0.06 an hour (years of money), then $2 gone in 11 minutes.
      await seedHistory(ext, 0, { endUnits: 200_000, hours: 24, perStep: 100 });
      api.setScenario({ scenario: 'ok', balance: '18' });
      await shiftWorkerClock(ext, 11 * MINUTE);
      await fireAlarm(ext);
      const notified = await ext.worker.evaluate(() => globalThis.notified);
      if (!spikeAlerts) {
        assert.deepEqual(notified, [], 'spike alerts are off');
        return;
      }
      const id = await firstAccountId(ext);
      assert.equal(notified.length, 1, JSON.stringify(notified));
      assert.equal(notified[0].id, `captchaai-balance-spike:${id}`);
      assert.match(notified[0].title, /Unusual spending/);
      assert.match(notified[0].title, /CaptchaAI/, 'the title names the account');
      assert.match(notified[0].message, /leaked key/);
      assert.equal(notified[0].priority, 2);
    });
  }
});

test('options: the predictive horizon (1 to 168 hours) and the spike switch, saved for every account; errors at the field', async () => {
  api.setScenario({ scenario: 'ok' });
  await withExtension(async (ext) => {
    await configureAccounts(ext, [
      { name: 'Production', provider: 'CaptchaAI', endpoint: api.url },
      { name: 'Staging', provider: 'Anti-Captcha', key: KEY_2, endpoint: api2.url },
    ]);
    const page = await openOptions(ext);
    assert.equal(await page.locator('#predictiveHours').inputValue(), '24');
    assert.equal(await page.locator('#spikeAlerts').isChecked(), true);
    assert.equal(await page.getByLabel('Warn when the money runs out within (hours)').count(), 1);
    assert.equal(await page.getByLabel('Warn about unusual spending').count(), 1);

    for (const [typed, sentence] of [['0', /^Enter a whole number from 1 to 168\.$/], ['169', /from 1 to 168/], ['a day', /^Enter a whole number\.$/]]) {
      await page.locator('#predictiveHours').fill(typed);
      await page.locator('#save').click();
      await page.locator('#status[data-kind="error"]').waitFor();
      const error = page.locator('#predictiveHours-error');
      assert.equal(await error.isVisible(), true, typed);
      assert.match(await error.innerText(), sentence, typed);
      assert.equal(await page.locator('#predictiveHours').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#form-error').isVisible(), false, 'the error stands at its field, not under the form');
    }
    const before = (await ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state)).accounts;
    assert.ok(before.every((a) => a.settings.predictiveHours === 24), 'nothing was saved');
    await page.locator('.shared').scrollIntoViewIfNeeded();
    await screenshot(page, 'options-forecast-error.png');

    await page.locator('#predictiveHours').fill('48');
    await page.locator('#spikeAlerts').setChecked(false);
    await page.locator('#save').click();
    await page.locator('#status[data-kind="ok"]').waitFor();
    assert.equal(await page.locator('#predictiveHours-error').isVisible(), false);
    await idle(ext);
    const saved = (await ext.worker.evaluate(async () => (await chrome.storage.local.get('state')).state)).accounts;
    assert.deepEqual(saved.map((a) => [a.settings.predictiveHours, a.settings.spikeAlerts]), [[48, false], [48, false]]);
    // A new page shows what was saved.
    const again = await openOptions(ext);
    assert.equal(await again.locator('#predictiveHours').inputValue(), '48');
    assert.equal(await again.locator('#spikeAlerts').isChecked(), false);
    await again.locator('.shared').scrollIntoViewIfNeeded();
    await screenshot(again, 'options-forecast.png');
  });
});
