/**
 * @file System notifications. The core's alert state machine decides *whether* to notify
 * (once per crossing and account, not on every check) and words the alert (its title names
 * the account); this file only shows what it returned.
 */
import { readState } from './storage.js';
import { ready } from './core.js';
import { uiLang } from './i18n.js';

const PREFIX = 'captchaai-balance-';

/**
 * How insistent each kind of alert is (Chrome's 0..2): an empty account, spending that looks
 * like a leaked key and a thread plan that takes no job (no active plan) need attention now;
 * "runs out within N hours" and every thread busy soon; the rest (low, restored, key problems)
 * is news. The core's kinds: `critical`, `warning`, `restored`, `key_error`, `spike`,
 * `predictive`, `threads_saturated`, `plan_expired`.
 */
const PRIORITY = { critical: 2, spike: 2, plan_expired: 2, predictive: 1, threads_saturated: 1 };

/**
 * Show one alert. One notification id per kind and account (`captchaai-balance-KIND:ACCOUNT`),
 * so a repeat replaces the old one and two accounts' alerts stand side by side.
 * Failures (no notification server, e.g. headless) are logged, never thrown: a check must
 * not fail because a notification could not be shown.
 * @param {{ kind: string, account: string, title: string, message: string }} alert from `observe()`
 * @returns {Promise<void>}
 */
export async function notify(alert) {
  try {
    await chrome.notifications.create(`${PREFIX}${alert.kind}:${alert.account}`, {
      type: 'basic',
      iconUrl: chrome.runtime.getURL('icons/icon-128.png'),
      title: alert.title,
      message: alert.message,
      priority: PRIORITY[alert.kind] ?? 0,
    });
  } catch (error) {
    console.warn('captchaai-balance: notification not shown:', error?.message ?? String(error));
  }
}

/**
 * Clicking an alert opens the page that fixes it: the options page for a key problem (or an
 * account whose provider has no known "add funds" page), that account's "Add funds" page
 * otherwise.
 * @param {string} id notification id
 * @returns {Promise<void>}
 */
export async function handleNotificationClick(id) {
  if (!id.startsWith(PREFIX)) return;
  await chrome.notifications.clear(id);
  const [kind, account] = id.slice(PREFIX.length).split(':');
  const [cab, state] = await Promise.all([ready, readState()]);
  const url = kind === 'key_error' ? null
    : cab.view(state, Date.now(), uiLang()).accounts.find((a) => a.id === account)?.addFundsUrl;
  if (url) await chrome.tabs.create({ url });
  else await chrome.runtime.openOptionsPage();
}
