/**
 * @file The whole extension state is one object in chrome.storage.local under `state`
 * (the service worker dies when idle, so nothing lives in memory). Every read goes through
 * the core's `loadState`, which migrates older versions and repairs damaged parts.
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

/**
 * Store the state whole.
 * @param {object} state State as returned by the core
 * @returns {Promise<void>}
 */
export async function writeState(state) {
  await chrome.storage.local.set({ [KEY]: state });
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
