/**
 * @file The options page. The form goes to the service worker (`saveSettings`), the only
 * writer of the stored state: it validates through the core (`applySettings`) in the same
 * queue as checks, stores, and starts a `settings` check; otherwise each message goes next to
 * its field and nothing is saved. The stored key is never put back into the page: the key
 * input stays empty (empty = keep the stored key) with the masked key as its placeholder.
 * What the API said about the saved key (the core's `view.keyStatus`) stands next to the key
 * field; **Test key** asks the worker for one check within the same request floors.
 */
import { ready } from './lib/core.js';
import { readState, onStateChanged } from './lib/storage.js';
import { localizePage, t, uiLang } from './lib/i18n.js';

const $ = (id) => document.getElementById(id);
const lang = uiLang();
/** The popup's stored first-paint view (LAST_VIEW in lib/popup-paint.js, a classic script). */
const POPUP_VIEW = 'cab-popup-view';
/** Minutes east of UTC: the core shows "rejected this key at 10:02" in the browser's zone. */
const utcOffset = -new Date().getTimezoneOffset();
const form = $('settings');
/** A check asked by this page is out. */
let checking = false;
/** Re-renders the key status once a second while Test key counts down. */
let tickTimer = 0;
/**
 * The interval field as filled from the stored settings: sent only when the user changed it,
 * since it shows whole minutes and a stored interval in seconds (90 s, set by the widget or a
 * newer build) would otherwise be cut down by any unrelated Save.
 */
let filledInterval = '';

localizePage();
form.addEventListener('submit', (event) => {
  event.preventDefault();
  save();
});
$('test-key').addEventListener('click', testKey);
$('apiKey').addEventListener('input', () => renderKeyStatus());
// The worker finished a check (this page's or the alarm's): show what the API said.
onStateChanged(() => renderKeyStatus());
fill();

/** Put the stored settings into the form (never the key itself). */
async function fill() {
  const [cab, state] = await Promise.all([ready, readState()]);
  const { settings } = state;
  const view = cab.view(state, Date.now(), lang, utcOffset);
  const key = $('apiKey');
  key.value = '';
  key.placeholder = view.keyMasked || t('options_api_key_placeholder');
  $('apiKey-help').textContent = view.keyMasked
    ? `${t('options_api_key_help')} ${t('options_api_key_keep')}`
    : t('options_api_key_help');
  $('threshold').value = settings.threshold;
  filledInterval = String(settings.intervalMinutes);
  $('intervalMinutes').value = filledInterval;
  $('endpoint').value = settings.endpoint;
  $('notifications').checked = Boolean(settings.notifications);
  $('showSolves').checked = settings.showSolves !== false;
  renderRates(settings.rates, new Map(view.remaining.map((row) => [row.type, row.label])));
  paintKeyStatus(view);
}

/** Re-read the state and show the key status and the Test key button. */
async function renderKeyStatus() {
  const [cab, state] = await Promise.all([ready, readState()]);
  paintKeyStatus(cab.view(state, Date.now(), lang, utcOffset));
}

/**
 * The key status next to the key field and the Test key button (spinner while a check is out,
 * the core's countdown within the request floor).
 * @param {any} view the core's View
 */
function paintKeyStatus(view) {
  const status = $('apiKey-status');
  const keyStatus = checking ? { ok: null, text: view.refresh.checkingText } : view.keyStatus;
  status.hidden = !keyStatus;
  status.textContent = keyStatus?.text ?? '';
  status.dataset.ok = String(keyStatus?.ok ?? '');

  const button = $('test-key');
  // A key typed in the field is tested by saving it (the save checks it once).
  const typed = $('apiKey').value.trim() !== '';
  const waiting = !typed && view.refresh.allowedAt != null;
  button.disabled = checking || (!typed && !view.refresh.enabled);
  button.dataset.busy = String(checking);
  button.title = !typed && view.refresh.reason ? view.refresh.reason : '';
  // The wait goes under the field: the button keeps its short label.
  $('test-key-wait').hidden = !waiting || checking;
  $('test-key-wait').textContent = waiting ? view.refresh.text : '';
  clearTimeout(tickTimer);
  if (waiting && !checking) {
    const left = view.refresh.allowedAt - Date.now();
    tickTimer = setTimeout(renderKeyStatus, Math.max(50, left % 1000 || 1000));
  }
}

/**
 * One input per captcha type, labelled with the core's localized type name.
 * @param {Record<string, string>} rates
 * @param {Map<string, string>} labels
 */
function renderRates(rates, labels) {
  $('rates').replaceChildren(...Object.entries(rates).map(([type, rate]) => {
    const wrap = document.createElement('div');
    wrap.className = 'rate';
    wrap.dataset.field = `rates.${type}`;
    const id = `rate-${type}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = labels.get(type) ?? type;
    const input = document.createElement('input');
    input.id = id;
    input.type = 'text';
    input.inputMode = 'decimal';
    input.dataset.rate = type;
    input.value = rate;
    const error = document.createElement('p');
    error.className = 'field-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    wrap.append(label, input, error);
    return wrap;
  }));
}

/** The form as typed (strings; the core parses and validates). */
function readForm() {
  const input = {
    threshold: $('threshold').value.trim(),
    endpoint: $('endpoint').value.trim(),
    notifications: $('notifications').checked,
    showSolves: $('showSolves').checked,
    rates: Object.fromEntries([...document.querySelectorAll('input[data-rate]')]
      .map((el) => [el.dataset.rate, el.value.trim()])),
  };
  const interval = $('intervalMinutes').value.trim();
  if (interval !== filledInterval) input.intervalMinutes = interval;
  // Empty means "keep the stored key"; pasted keys often carry a stray space or newline.
  const key = $('apiKey').value.trim();
  if (key) input.apiKey = key;
  return input;
}

/**
 * Ask the worker for one check; resolves when it has answered (the worker applies the floors).
 * @param {'settings'|'refresh'} trigger
 */
async function askCheck(trigger) {
  checking = true;
  await renderKeyStatus();
  try {
    await chrome.runtime.sendMessage({ type: 'check', trigger });
  } catch (error) {
    console.warn('captchaai-balance: worker unreachable:', error?.message ?? String(error));
  } finally {
    checking = false;
  }
}

async function save() {
  const button = $('save');
  button.disabled = true;
  setStatus('', '');
  clearErrors();
  try {
    // The worker applies it between checks, never over one, and then checks (within the floor).
    const result = await chrome.runtime.sendMessage({ type: 'saveSettings', input: readForm() })
      .catch((error) => ({ ok: false, error: error?.message ?? String(error) }));
    if (!result?.ok) {
      showErrors(result?.errors ?? {});
      setStatus('error', t('options_not_saved'));
      return;
    }
    // The popup's first paint (lib/popup-paint.js) shows the view it stored last without
    // asking whose it is: after a save it may belong to other settings, so it goes.
    localStorage.removeItem(POPUP_VIEW);
    await fill();
    setStatus('ok', t('options_saved'));
    // Wait for the check the save started (this `settings` request joins it and, within the
    // request floor, sends nothing more), then say what the API made of the key.
    await askCheck('settings');
    await afterCheck();
  } finally {
    button.disabled = false;
  }
}

/** Test key: one check of the saved key (a key typed in the field is saved first). */
async function testKey() {
  if ($('apiKey').value.trim()) {
    await save();
    return;
  }
  setStatus('', '');
  await askCheck('refresh');
  await afterCheck();
}

/** After a check: the key status, and no "Saved." in green next to a rejected key. */
async function afterCheck() {
  const [cab, state] = await Promise.all([ready, readState()]);
  const view = cab.view(state, Date.now(), lang, utcOffset);
  paintKeyStatus(view);
  if (view.keyStatus && !view.keyStatus.ok && $('status').dataset.kind === 'ok') {
    setStatus('warn', t('options_saved_key_problem'));
  }
}

function clearErrors() {
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Each message next to its field: `apiKey`, `threshold`, `rates.image` … Names the page does
 * not know (a newer core) still show, under the form.
 * @param {Record<string, string>} errors
 */
function showErrors(errors) {
  const unplaced = [];
  let first = null;
  for (const [field, message] of Object.entries(errors)) {
    const container = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!container) {
      unplaced.push(message);
      continue;
    }
    const slot = [...container.children].find((el) => el.classList.contains('field-error'));
    slot.textContent = message;
    slot.hidden = false;
    const input = container.querySelector('input');
    if (input && input.type !== 'checkbox') input.setAttribute('aria-invalid', 'true');
    if (field === 'endpoint') $('advanced').open = true;
    first ??= input;
  }
  if (unplaced.length) {
    $('form-error').textContent = unplaced.join(' ');
    $('form-error').hidden = false;
  }
  first?.focus();
}

/** @param {'ok'|'warn'|'error'|''} kind @param {string} text */
function setStatus(kind, text) {
  const status = $('status');
  status.dataset.kind = kind;
  status.textContent = text;
}
