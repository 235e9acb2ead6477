/**
 * @file The options page. The form goes to the service worker (`saveSettings`), the only
 * writer of the stored state: it validates through the core (`applySettings`) in the same
 * queue as checks, stores, and starts a `settings` check; otherwise each message goes next to
 * its field and nothing is saved. The stored key is never put back into the page: the key
 * input stays empty (empty = keep the stored key) with the masked key as its placeholder.
 */
import { ready } from './lib/core.js';
import { readState } from './lib/storage.js';
import { localizePage, t, uiLang } from './lib/i18n.js';

const $ = (id) => document.getElementById(id);
const lang = uiLang();
const form = $('settings');

localizePage();
form.addEventListener('submit', (event) => {
  event.preventDefault();
  save();
});
fill();

/** Put the stored settings into the form (never the key itself). */
async function fill() {
  const [cab, state] = await Promise.all([ready, readState()]);
  const { settings } = state;
  const view = cab.view(state, Date.now(), lang);
  const key = $('apiKey');
  key.value = '';
  key.placeholder = view.keyMasked || t('options_api_key_placeholder');
  $('apiKey-help').textContent = view.keyMasked
    ? `${t('options_api_key_help')} ${t('options_api_key_keep')}`
    : t('options_api_key_help');
  $('threshold').value = settings.threshold;
  $('intervalMinutes').value = String(settings.intervalMinutes);
  $('endpoint').value = settings.endpoint;
  $('notifications').checked = Boolean(settings.notifications);
  renderRates(settings.rates, new Map(view.remaining.map((row) => [row.type, row.label])));
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
    intervalMinutes: $('intervalMinutes').value.trim(),
    endpoint: $('endpoint').value.trim(),
    notifications: $('notifications').checked,
    rates: Object.fromEntries([...document.querySelectorAll('input[data-rate]')]
      .map((el) => [el.dataset.rate, el.value.trim()])),
  };
  // Empty means "keep the stored key"; pasted keys often carry a stray space or newline.
  const key = $('apiKey').value.trim();
  if (key) input.apiKey = key;
  return input;
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
    await fill();
    setStatus('ok', t('options_saved'));
  } finally {
    button.disabled = false;
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

/** @param {'ok'|'error'|''} kind @param {string} text */
function setStatus(kind, text) {
  const status = $('status');
  status.dataset.kind = kind;
  status.textContent = text;
}
