/**
 * @file Service worker: wires browser events to lib/ and nothing else.
 *
 * Every listener is registered synchronously at the top level (MV3: a worker woken by an
 * event must have its listener in place before the first await). No top-level await, and
 * nothing here may touch `window`.
 */
import { check, idle, isTrigger, restore, saveSettings } from './lib/checker.js';
import { ALARM } from './lib/alarm.js';
import { handleNotificationClick } from './lib/notifications.js';

chrome.runtime.onInstalled.addListener(() => { restore(); });
chrome.runtime.onStartup.addListener(() => { restore(); });

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === ALARM) check('alarm');
});

// The popup asks for `open` (5-minute cache) and `refresh` checks, of every account or of one
// (`only`: an account id, Refresh in its details, Test key on the options page); the options
// page sends its form (`saveSettings`): the worker is the only writer of the stored state.
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== chrome.runtime.id) return false;
  let work;
  if (message?.type === 'check' && isTrigger(message.trigger)) {
    const only = typeof message.only === 'string' && message.only ? message.only : undefined;
    work = check(message.trigger, only).then((result) => ({ ok: true, ...result }));
  } else if (message?.type === 'saveSettings' && message.input && typeof message.input === 'object') {
    work = saveSettings(message.input);
  } else {
    return false;
  }
  work.then(sendResponse, (error) => sendResponse({ ok: false, error: error?.message ?? String(error) }));
  return true; // answer asynchronously
});

chrome.notifications.onClicked.addListener((id) => { handleNotificationClick(id); });

// Handle for the service-worker console and the e2e tests: `await captchaaiBalance.check('alarm')`.
globalThis.captchaaiBalance = { check, idle };
