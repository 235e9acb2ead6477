/**
 * @file One balance check (the shared cycle in check-cycle.js: plan, mark the request and
 * schedule the next alarm before fetching, fetch, fold the outcome in), then paint the badge,
 * notify and re-schedule the alarm. Also the worker's side of a settings save.
 *
 * Single flight: the popup, the alarm and the options page may trigger checks at the same
 * time; they share the one in flight (one request per key, the API bans noisy callers).
 * Every state change goes through `updateState`'s queue, the only writer.
 */
import { ready } from './core.js';
import { readState, updateState } from './storage.js';
import { renderBadge } from './badge.js';
import { scheduleAt } from './alarm.js';
import { notify } from './notifications.js';
import { uiLang } from './i18n.js';
import { runCheckCycle } from './check-cycle.js';

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

/**
 * Apply a settings form (the options page's Save) inside the write queue, then start a
 * `settings` check when it was accepted. Answers `{ ok, errors }` (errors: field -> sentence).
 * @param {object} input the form as typed
 * @returns {Promise<{ ok: boolean, errors: Record<string, string> }>}
 */
export async function saveSettings(input) {
  const cab = await ready;
  let result = null;
  await updateState((state) => {
    result = cab.applySettings(state, input, uiLang());
    return result.ok ? result.state : state;
  });
  if (result.ok) {
    check('settings').catch((error) => {
      console.warn('captchaai-balance: check after save failed:', error?.message ?? String(error));
    });
  }
  return { ok: Boolean(result.ok), errors: result.errors ?? {} };
}

/** @param {'alarm'|'open'|'refresh'|'settings'} trigger */
async function runCheck(trigger) {
  const cab = await ready;
  const result = await runCheckCycle(cab, {
    trigger,
    lang: uiLang(),
    update: updateState,
    // The next alarm exists before the begun state is stored (the alarm that woke the worker
    // is used up by then): a worker stopped at any point from here on wakes again.
    beforeStore: (state) => publish(state),
  });
  const { state, alert } = result;
  if (alert && state.settings.notifications) await notify(alert);
  await publish(state);
  return { fetched: result.fetched, reason: result.plan.reason };
}

/** Badge + alarm from one state. */
async function publish(state) {
  const cab = await ready;
  const view = cab.view(state, Date.now(), uiLang());
  await Promise.all([renderBadge(view.badge), scheduleAt(view.nextCheckAt)]);
}
