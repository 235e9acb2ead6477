/**
 * @file The one named alarm that wakes the worker for the next check. The core decides when
 * (`nextCheckAt`: interval, backoff, request floor); this file only (re)schedules it.
 */

/** Name of the polling alarm. */
export const ALARM = 'poll';

/**
 * Chrome enforces 30 s between alarms for packed extensions; never ask for less, so a core
 * answer in the past can not turn into a busy loop.
 */
const MIN_DELAY_MS = 30_000;

/**
 * Re-schedule the poll alarm at `when` (epoch ms), or cancel it when `when` is null (no key,
 * or the key was rejected: no polling until the settings change).
 * @param {number | null | undefined} when
 * @returns {Promise<void>}
 */
export async function scheduleAt(when) {
  if (when == null) {
    await chrome.alarms.clear(ALARM);
    return;
  }
  await chrome.alarms.create(ALARM, { when: Math.max(when, Date.now() + MIN_DELAY_MS) });
}
