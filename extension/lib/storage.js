/**
 * @file The whole extension state is one object in chrome.storage.local under `state`
 * (the service worker dies when idle, so nothing lives in memory). Every read goes through
 * the core's `loadState`, which migrates older versions and repairs damaged parts.
 *
 * One writer: only the service worker writes, and only through `updateState`, whose queue
 * runs one read-change-write at a time. Pages read, and send changes to the worker
 * (`{ type: 'saveSettings', input }`), so a save and a check can never overwrite each other.
 */
import { ready } from './core.js';

const KEY = 'state';

/**
 * Read the stored state, migrated to the current version (a fresh default state when empty).
 * @returns {Promise<object>} State
 */
export async function readState() {
  const [cab, stored] = await Promise.all([ready, chrome.storage.local.get(KEY)]);
  return cab.loadState(stored[KEY] ?? null);
}

/** The tail of the write queue. */
let queue = Promise.resolve();

/**
 * Read the state, apply `change`, store the result if it is a new object; one at a time, in
 * call order. Worker only (see the file comment).
 * @param {(state: object) => object | Promise<object>} change returns the new state (or the
 *   same object)
 * @returns {Promise<object>} the state after the change
 */
export function updateState(change) {
  const run = queue.then(async () => {
    const state = await readState();
    // An async change (the checker schedules the next alarm from the begun state) finishes
    // before the write: what is stored never runs ahead of what the change did.
    const next = await change(state);
    if (next !== state) await chrome.storage.local.set({ [KEY]: next });
    return next;
  });
  queue = run.catch(() => {});
  return run;
}

/**
 * Call `callback` whenever another context (the worker after a check, the options page after
 * a save) writes the state.
 * @param {() => void} callback
 */
export function onStateChanged(callback) {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && KEY in changes) callback();
  });
}
