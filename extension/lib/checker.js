/**
 * @file One balance check of every due account (the shared cycle in check-cycle.js: plan,
 * mark the requests and schedule the next alarm before fetching, one fetch per due account,
 * fold each outcome in), then paint the badge, notify and re-schedule the one alarm. Also the
 * worker's side of a settings save.
 *
 * Single flight: the popup, the alarm and the options page may trigger checks at the same
 * time; they share the one in flight (one request per key, the APIs ban noisy callers).
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
/**
 * Checks that wait for the one in flight, by trigger and account (`settings:`,
 * `refresh:ID`): each runs once more afterwards.
 * @type {Map<string, Promise<CheckResult>>}
 */
const queued = new Map();

/**
 * @typedef {{ fetched: boolean, reason: string, due: string[] }} CheckResult
 * `fetched`: whether a request was sent; `reason`: the core's planCheck reason; `due`: the
 * accounts asked.
 */

/**
 * @param {unknown} value
 * @returns {value is 'alarm'|'open'|'refresh'|'settings'}
 */
export function isTrigger(value) {
  return typeof value === 'string' && TRIGGERS.has(value);
}

/**
 * Run a check, or join the one in flight. A `settings` trigger, or a check of one account
 * (`only`: Refresh or Test key in that account's details), that arrives mid-check runs once
 * more afterwards: the running check was planned with the old settings, or without that
 * account (the core's floors keep the rerun from asking twice).
 * @param {'alarm'|'open'|'refresh'|'settings'} trigger
 * @param {string} [only] an account id: check only that account
 * @returns {Promise<CheckResult>}
 */
export function check(trigger, only) {
  if (!inFlight) {
    inFlight = runCheck(trigger, only).finally(() => { inFlight = null; });
    return inFlight;
  }
  if (trigger === 'settings' || only) {
    const key = `${trigger}:${only ?? ''}`;
    if (!queued.has(key)) {
      queued.set(key, inFlight.catch(() => {}).then(() => {
        queued.delete(key);
        return check(trigger, only);
      }));
    }
    return queued.get(key);
  }
  return inFlight;
}

/**
 * Resolves when no check is running (used by the e2e tests through `captchaaiBalance.idle`).
 * @returns {Promise<void>}
 */
export async function idle() {
  while (inFlight || queued.size) {
    await (queued.values().next().value ?? inFlight).catch(() => {});
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

/**
 * @param {'alarm'|'open'|'refresh'|'settings'} trigger
 * @param {string} [only]
 */
async function runCheck(trigger, only) {
  const cab = await ready;
  const result = await runCheckCycle(cab, {
    trigger,
    only,
    lang: uiLang(),
    update: updateState,
    // The next alarm exists before the begun state is stored (the alarm that woke the worker
    // is used up by then): a worker stopped at any point from here on wakes again.
    beforeStore: (state) => publish(state),
    fetchOutcome: (state, account) => checkIfAllowed(cab, state, account),
  });
  const view = await publish(result.state);
  // One notification per account that has something to say (each names its account).
  if (view.notifications) await Promise.all(result.alerts.map(notify));
  return { fetched: result.fetched, reason: result.plan.reason, due: result.plan.due };
}

/**
 * One account's balance, unless the browser has not granted the host its endpoint needs
 * (refused at Save, or revoked since): then nothing is sent and the outcome says so, with the
 * origin to grant, instead of a request that can only fail as "no connection".
 * @returns {Promise<object>} the core's TaggedOutcome
 */
async function checkIfAllowed(cab, state, account) {
  const origins = cab.hostPermissions(state, account);
  if (origins.length && !(await chrome.permissions.contains({ origins }))) {
    return cab.permissionMissing(account, origins);
  }
  return cab.checkBalance(state, account, false);
}

/**
 * Badge + the one alarm (the earliest next check of any account) from one state.
 * @returns {Promise<any>} the core's View of that state
 */
async function publish(state) {
  const cab = await ready;
  const view = cab.view(state, Date.now(), uiLang());
  await Promise.all([renderBadge(view.badge), scheduleAt(view.nextCheckAt)]);
  return view;
}
