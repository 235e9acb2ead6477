/**
 * @file One balance check: ask the core whether to fetch, fetch, fold the outcome into the
 * state, store it, then paint the badge, notify and re-schedule the alarm.
 *
 * Single flight: the popup, the alarm and the options page may trigger checks at the same
 * time; they share the one in flight (one request per key, the API bans noisy callers).
 */
import { ready } from './core.js';
import { readState, writeState } from './storage.js';
import { renderBadge } from './badge.js';
import { scheduleAt } from './alarm.js';
import { notify } from './notifications.js';
import { uiLang } from './i18n.js';

/** Give up on the API after this long (the core turns it into a `timeout` outcome). */
const FETCH_TIMEOUT_MS = 15_000;

/** What may start a check (the core's `planCheck` triggers). */
const TRIGGERS = new Set(['alarm', 'open', 'refresh', 'settings']);

/** @type {Promise<CheckResult> | null} */
let inFlight = null;
/** @type {Promise<CheckResult> | null} */
let queuedSettingsCheck = null;

/**
 * @typedef {{ fetched: boolean, reason: string }} CheckResult
 * `fetched`: whether a request was sent; `reason`: the core's planCheck reason.
 */

/**
 * @param {unknown} value
 * @returns {value is 'alarm'|'open'|'refresh'|'settings'}
 */
export function isTrigger(value) {
  return typeof value === 'string' && TRIGGERS.has(value);
}

/**
 * Run a check, or join the one in flight. A `settings` trigger that arrives mid-check runs
 * once more afterwards: the running check was planned with the old settings.
 * @param {'alarm'|'open'|'refresh'|'settings'} trigger
 * @returns {Promise<CheckResult>}
 */
export function check(trigger) {
  if (!inFlight) {
    inFlight = runCheck(trigger).finally(() => { inFlight = null; });
    return inFlight;
  }
  if (trigger === 'settings') {
    queuedSettingsCheck ??= inFlight.catch(() => {}).then(() => {
      queuedSettingsCheck = null;
      return check('settings');
    });
    return queuedSettingsCheck;
  }
  return inFlight;
}

/**
 * Resolves when no check is running (used by the e2e tests through `captchaaiBalance.idle`).
 * @returns {Promise<void>}
 */
export async function idle() {
  while (inFlight || queuedSettingsCheck) {
    await (queuedSettingsCheck ?? inFlight).catch(() => {});
  }
}

/**
 * Paint the badge and schedule the alarm from the stored state, without any request
 * (install, browser start-up). Shows `?` before the first reading.
 * @returns {Promise<void>}
 */
export async function restore() {
  await publish(await readState());
}

/** @param {'alarm'|'open'|'refresh'|'settings'} trigger */
async function runCheck(trigger) {
  const cab = await ready;
  const lang = uiLang();
  let state = await readState();
  const plan = cab.planCheck(state, Date.now(), trigger);
  let fetched = false;
  if (plan.fetch) {
    const outcome = await cab.fetchBalance(state, FETCH_TIMEOUT_MS, false);
    fetched = true;
    // The options page may have saved while the request was out: fold the outcome into what
    // is stored now. The core drops an answer tagged with another key or endpoint; the
    // `settings` check that the options page asked for fetches again.
    const result = cab.observe(await readState(), outcome, Date.now(), lang);
    state = result.state;
    await writeState(state);
    if (result.alert && state.settings.notifications) await notify(result.alert);
  }
  await publish(state);
  return { fetched, reason: plan.reason };
}

/** Badge + alarm from one state. */
async function publish(state) {
  const cab = await ready;
  const view = cab.view(state, Date.now(), uiLang());
  await Promise.all([renderBadge(view.badge), scheduleAt(view.nextCheckAt)]);
}
