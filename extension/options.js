/**
 * @file The options page: a list of accounts (each with its name, provider, key, threshold,
 * endpoint and rates, its key status and Test key), the settings every account shares, and one
 * Save. The form goes to the service worker (`saveSettings`), the only writer of the stored
 * state: it validates through the core (`applySettings`) in the same queue as checks, stores,
 * and starts a `settings` check; otherwise each message goes next to its account's field and
 * nothing is saved. The stored keys are never put back into the page: a key input stays empty
 * (empty = keep the stored key) with the masked key as its placeholder. What the API said
 * about an account's saved key (the core's `keyStatus`) stands next to its key field; **Test
 * key** asks the worker for one check of that account within the same request floors. Stored
 * values the core could not read and reset (`repairs`) are said above the accounts until a
 * Save.
 *
 * The form carries the revision of the settings it was filled from: a Save from a second tab
 * or window, filled before this one saved, is refused (the page refills and says why) rather
 * than silently removing an account added or renamed here.
 *
 * An endpoint on a host the manifest does not grant (neither a known provider's API nor
 * loopback) needs the user's permission: Save asks for it (`optional_host_permissions`) while
 * the click's user activation lasts, so the origins are computed synchronously from the core's
 * answer for the form, before anything is awaited.
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
/** The wasm module's API, once loaded (Save needs it synchronously). */
let cab = null;
/** The state the form was filled from (Save computes the permissions to ask for from it). */
let stored = null;
/** The providers for the select (the core's labels and default endpoints). */
let providers = [];
/** The captcha types a rate can be set for, with their labels, in the core's display order. */
let types = [];
/** The id of the account a check asked by this page is out for ('' for all). */
let checking = null;
/** Re-renders the key statuses once a second while a Test key counts down. */
let tickTimer = 0;
/**
 * The accounts whose Test key was pressed: a press within the request floor shows the core's
 * countdown under the field until one can send; before a press the button just reads Test key.
 */
const testPressed = new Set();
/**
 * The interval field as filled from the stored settings: sent only when the user changed it,
 * since it shows whole minutes and a stored interval in seconds (90 s, set by the widget or a
 * newer build) would otherwise be cut down by any unrelated Save.
 */
let filledInterval = '';
/**
 * The settings the form was filled from (the core's `revision`): Save sends it, and the worker
 * refuses a form filled before another tab or window saved, instead of undoing that save.
 */
let filledRevision = '';

localizePage();
form.addEventListener('submit', (event) => {
  event.preventDefault();
  save();
});
$('add-account').addEventListener('click', () => {
  const provider = providers[0];
  const section = accountSection({ id: '', name: provider.label, provider: provider.id, keyMasked: '', threshold: '1', endpoint: '', rates: {}, allowPlainHttp: false });
  $('accounts').append(section);
  renumber();
  section.querySelector('[data-input="name"]').focus();
});
// The worker finished a check (this page's or the alarm's): show what the API said.
onStateChanged(() => renderKeyStatus());
fill();

/** The account sections, in the user's order. */
const sections = () => [...$('accounts').querySelectorAll(':scope > fieldset.account')];
/** One input of an account section. */
const input = (section, name) => section.querySelector(`[data-input="${name}"]`);

/** Put the stored settings into the form (never a key itself). */
async function fill() {
  const [module, state] = await Promise.all([ready, readState()]);
  cab = module;
  stored = state;
  providers = cab.providers(lang);
  const filled = cab.settingsForm(state, lang);
  types = filled.types;
  const view = cab.view(state, Date.now(), lang, utcOffset);
  // A refill after Save keeps the "Advanced" parts the user opened.
  const opened = sections().map((section) => section.querySelector('details.advanced').open);
  $('accounts').replaceChildren(...filled.accounts.map((account) => accountSection(account)));
  sections().forEach((section, i) => {
    if (opened[i]) section.querySelector('details.advanced').open = true;
  });
  renumber();
  paintRepairs(filled.repairs ?? []);
  filledRevision = filled.revision;
  filledInterval = String(filled.intervalMinutes);
  $('intervalMinutes').value = filledInterval;
  $('notifications').checked = filled.notifications;
  $('showSolves').checked = filled.showSolves;
  $('predictiveHours').value = String(filled.predictiveHours);
  $('spikeAlerts').checked = filled.spikeAlerts;
  paintKeyStatus(view);
  $('save').disabled = false;
}

/**
 * Above the accounts: what the core could not read from the stored settings and reset (which
 * account, which field, the value it has now), one sentence each, until a Save clears it.
 * @param {string[]} repairs the core's sentences
 */
function paintRepairs(repairs) {
  $('repairs').hidden = repairs.length === 0;
  $('repairs-list').replaceChildren(...repairs.map((sentence) => {
    const item = document.createElement('li');
    item.textContent = sentence;
    return item;
  }));
}

/**
 * One account's fields, as the core's settings form gives them (an `id` of '' for an account
 * not saved yet).
 * @param {import('./pkg/captchaai_balance.js').AccountFormView} settings
 * @returns {HTMLFieldSetElement}
 */
function accountSection(settings) {
  const section = $('account-template').content.firstElementChild.cloneNode(true);
  localizePage(section);
  section.dataset.accountId = settings.id;
  const name = input(section, 'name');
  name.value = settings.name;
  name.addEventListener('input', () => renumber());
  const select = input(section, 'provider');
  select.replaceChildren(...providers.map((p) => new Option(p.label, p.id)));
  select.value = settings.provider;
  section.dataset.provider = settings.provider;
  select.addEventListener('change', () => providerChanged(section));
  const key = input(section, 'apiKey');
  key.value = '';
  key.placeholder = settings.keyMasked || t('options_api_key_placeholder');
  key.addEventListener('input', () => renderKeyStatus());
  section.querySelector('.key-help').textContent = settings.keyMasked
    ? `${t('options_api_key_help')} ${t('options_api_key_keep')}`
    : t('options_api_key_help');
  input(section, 'threshold').value = settings.threshold;
  // Empty means the provider's own API: only an override is shown.
  input(section, 'endpoint').value = settings.endpoint;
  input(section, 'allowPlainHttp').checked = settings.allowPlainHttp;
  describeEndpoint(section);
  renderRates(section, settings.rates);
  section.querySelector('.test-key').addEventListener('click', () => testKey(section));
  section.querySelector('.remove-account').addEventListener('click', () => {
    section.remove();
    renumber();
  });
  return section;
}

/**
 * A new provider: the name follows it while the user has not typed one of their own (the
 * core moves an untouched endpoint and example rates the same way at Save).
 * @param {HTMLElement} section
 */
function providerChanged(section) {
  const label = (id) => providers.find((p) => p.id === id)?.label ?? '';
  const name = input(section, 'name');
  const next = input(section, 'provider').value;
  if (name.value.trim() === '' || name.value === label(section.dataset.provider)) name.value = label(next);
  section.dataset.provider = next;
  describeEndpoint(section);
  renumber();
}

/** The endpoint's help and placeholder: the provider's own API, or required (custom). */
function describeEndpoint(section) {
  const provider = providers.find((p) => p.id === input(section, 'provider').value);
  const endpoint = input(section, 'endpoint');
  endpoint.placeholder = provider?.endpoint ?? '';
  endpoint.required = Boolean(provider?.custom);
  section.querySelector('.endpoint-help').textContent = provider?.custom
    ? t('options_endpoint_required')
    : t('options_endpoint_help', provider?.endpoint ?? '');
  // A custom provider has no other address: its endpoint field is shown, not folded away.
  if (provider?.custom) section.querySelector('details.advanced').open = true;
}

/**
 * One input per captcha type, labelled with the core's localized type name; empty where the
 * account has no rate for it.
 * @param {HTMLElement} section
 * @param {Record<string, string>} rates
 */
function renderRates(section, rates) {
  section.querySelector('.rates-grid').replaceChildren(...types.map(({ type, label: text }) => {
    const wrap = document.createElement('div');
    wrap.className = 'rate';
    wrap.dataset.field = `rates.${type}`;
    const label = document.createElement('label');
    label.textContent = text;
    const field = document.createElement('input');
    field.type = 'text';
    field.inputMode = 'decimal';
    field.dataset.rate = type;
    field.value = rates[type] ?? '';
    const error = document.createElement('p');
    error.className = 'field-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    wrap.append(label, field, error);
    return wrap;
  }));
}

/**
 * Ids and labels by position: the first account keeps the ids one account always had
 * (`apiKey`, `threshold`, `endpoint`, `rate-image` …), the others end in `-2`, `-3` …; the
 * title follows the name; Remove shows while there is more than one account.
 */
function renumber() {
  const all = sections();
  all.forEach((section, i) => {
    const suffix = i === 0 ? '' : `-${i + 1}`;
    section.dataset.index = String(i);
    for (const el of section.querySelectorAll('[data-id]')) el.id = el.dataset.id + suffix;
    for (const el of section.querySelectorAll('[data-for]')) el.htmlFor = el.dataset.for + suffix;
    for (const el of section.querySelectorAll('[data-describedby]')) {
      el.setAttribute('aria-describedby', el.dataset.describedby.split(' ').map((id) => id + suffix).join(' '));
    }
    for (const el of section.querySelectorAll('input[data-rate]')) {
      el.id = `rate-${el.dataset.rate}${suffix}`;
      el.previousElementSibling.htmlFor = el.id;
    }
    section.querySelector('.account-title').textContent = input(section, 'name').value.trim() || t('options_new_account');
    section.querySelector('.remove-account').hidden = all.length < 2;
  });
}

/** Re-read the state and show the key statuses and the Test key buttons. */
async function renderKeyStatus() {
  const [module, state] = await Promise.all([ready, readState()]);
  paintKeyStatus(module.view(state, Date.now(), lang, utcOffset));
}

/**
 * Each account's key status next to its key field and its Test key button (spinner while a
 * check is out, the core's countdown within the request floor).
 * @param {any} view the core's View
 */
function paintKeyStatus(view) {
  clearTimeout(tickTimer);
  let nextTick = Infinity;
  for (const section of sections()) {
    const account = view.accounts.find((a) => a.id === section.dataset.accountId);
    const busy = checking !== null && (checking === '' || checking === section.dataset.accountId) && Boolean(account);
    const keyStatus = busy ? { ok: null, text: account.refresh.checkingText } : account?.keyStatus;
    const status = section.querySelector('.key-status');
    status.hidden = !keyStatus;
    status.textContent = keyStatus?.text ?? '';
    status.dataset.ok = String(keyStatus?.ok ?? '');

    const button = section.querySelector('.test-key');
    // A key typed in the field is tested by saving it (the save checks it once); an account
    // not saved yet has nothing to test otherwise.
    const typed = input(section, 'apiKey').value.trim() !== '';
    const refresh = account?.refresh;
    if (refresh?.allowedAt == null) testPressed.delete(section.dataset.accountId);
    const waiting = !typed && testPressed.has(section.dataset.accountId) && refresh?.waitText != null;
    button.disabled = busy || (!typed && (!refresh?.enabled || waiting));
    button.dataset.busy = String(busy);
    button.title = !typed && (waiting || !refresh?.enabled) && refresh?.reason ? refresh.reason : '';
    // The wait goes under the field: the button keeps its short label.
    const wait = section.querySelector('.test-key-wait');
    wait.hidden = !waiting || busy;
    wait.textContent = waiting ? refresh.waitText : '';
    if (waiting && !busy) nextTick = Math.min(nextTick, Math.max(50, (refresh.allowedAt - Date.now()) % 1000 || 1000));
  }
  if (nextTick !== Infinity) tickTimer = setTimeout(renderKeyStatus, nextTick);
}

/** The form as typed (strings; the core parses and validates). */
function readForm() {
  const accounts = sections().map((section) => {
    const id = section.dataset.accountId;
    const rates = {};
    for (const el of section.querySelectorAll('input[data-rate]')) {
      // A stored account sends every field ("" clears a rate); a new one only what was typed.
      if (id || el.value.trim()) rates[el.dataset.rate] = el.value.trim();
    }
    const row = {
      name: input(section, 'name').value.trim(),
      provider: input(section, 'provider').value,
      // Empty means "keep the stored key"; pasted keys often carry a stray space or newline.
      apiKey: input(section, 'apiKey').value.trim(),
      threshold: input(section, 'threshold').value.trim(),
      endpoint: input(section, 'endpoint').value.trim(),
      allowPlainHttp: input(section, 'allowPlainHttp').checked,
      rates,
    };
    if (id) row.id = id;
    return row;
  });
  const result = {
    notifications: $('notifications').checked,
    showSolves: $('showSolves').checked,
    // The core checks the range (1 to 168 hours) and words the error.
    predictiveHours: $('predictiveHours').value.trim(),
    spikeAlerts: $('spikeAlerts').checked,
    accounts,
    revision: filledRevision,
  };
  const interval = $('intervalMinutes').value.trim();
  if (interval !== filledInterval) result.intervalMinutes = interval;
  return result;
}

/**
 * Ask the worker for one check; resolves when it has answered (the worker applies the floors).
 * @param {'settings'|'refresh'} trigger
 * @param {string} [only] one account's id
 */
async function askCheck(trigger, only) {
  checking = only ?? '';
  await renderKeyStatus();
  try {
    await chrome.runtime.sendMessage({ type: 'check', trigger, only });
  } catch (error) {
    console.warn('captchaai-balance: worker unreachable:', error?.message ?? String(error));
  } finally {
    checking = null;
  }
}

/**
 * Save: ask for the host permissions the new endpoints need while the click's user activation
 * lasts (nothing is awaited before `chrome.permissions.request`), then let the worker apply
 * the form.
 * @returns {Promise<void>}
 */
function save() {
  const typed = readForm();
  let origins = [];
  let perAccount = [];
  if (cab && stored) {
    const trial = cab.applySettings(stored, typed, lang);
    if (trial.ok) {
      origins = cab.hostPermissions(trial.state);
      perAccount = trial.state.accounts.map((account) => cab.hostPermissions({ ...trial.state, accounts: [account] }));
    }
  }
  const granted = origins.length
    ? chrome.permissions.request({ origins }).catch((error) => {
      console.warn('captchaai-balance: permission request failed:', error?.message ?? String(error));
      return false;
    })
    : Promise.resolve(true);
  return finishSave(typed, granted, perAccount);
}

/**
 * @param {object} typed the form
 * @param {Promise<boolean>} granted the permission answer
 * @param {string[][]} perAccount each account's origins that needed asking
 */
async function finishSave(typed, granted, perAccount) {
  const button = $('save');
  button.disabled = true;
  setStatus('', '');
  clearErrors();
  try {
    if (!(await granted)) {
      // Refused: the endpoint could never be reached, so nothing is saved.
      const errors = {};
      perAccount.forEach((origins, i) => {
        if (origins.length) {
          errors[`accounts.${i}.endpoint`] = t('options_permission_refused', origins.map((o) => o.replace(/\/\*$/, '')).join(', '));
        }
      });
      showErrors(errors);
      setStatus('error', t('options_not_saved'));
      return;
    }
    // The worker applies it between checks, never over one, and then checks (within the floor).
    const result = await chrome.runtime.sendMessage({ type: 'saveSettings', input: typed })
      .catch((error) => ({ ok: false, error: error?.message ?? String(error) }));
    if (result?.errors?.revision) {
      // Saved elsewhere since this page was filled: show what is stored now, and say why the
      // change the user made here is gone.
      await fill();
      setStatus('error', result.errors.revision);
      return;
    }
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
    // request floor, sends nothing more), then say what the API made of each key.
    await askCheck('settings');
    await afterCheck();
  } finally {
    button.disabled = false;
  }
}

/**
 * Test key: one check of that account's saved key (a key typed in the field is saved first).
 * @param {HTMLElement} section
 */
async function testKey(section) {
  if (input(section, 'apiKey').value.trim() || !section.dataset.accountId) {
    await save();
    return;
  }
  setStatus('', '');
  testPressed.add(section.dataset.accountId);
  await askCheck('refresh', section.dataset.accountId);
  await afterCheck();
}

/** After a check: the key statuses, and no "Saved." in green next to a rejected key. */
async function afterCheck() {
  const [module, state] = await Promise.all([ready, readState()]);
  const view = module.view(state, Date.now(), lang, utcOffset);
  paintKeyStatus(view);
  if (view.accounts.some((a) => a.keyStatus && !a.keyStatus.ok) && $('status').dataset.kind === 'ok') {
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
 * Each message next to its field: `accounts.1.apiKey`, `accounts.0.rates.image`, a shared
 * `intervalMinutes` … (the core reports a shared field once, by its bare name). Names the page
 * does not know (a newer core) still show, under the form.
 * @param {Record<string, string>} errors
 */
function showErrors(errors) {
  const unplaced = [];
  let first = null;
  for (const [name, message] of Object.entries(errors)) {
    const match = name.match(/^accounts\.(\d+)\.(.+)$/);
    const field = match ? match[2] : name;
    const section = match ? sections()[Number(match[1])] : null;
    const scope = section ?? form.querySelector('.shared');
    const container = scope?.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!container) {
      unplaced.push(message);
      continue;
    }
    const slot = [...container.children].find((el) => el.classList.contains('field-error'));
    slot.textContent = message;
    slot.hidden = false;
    const control = container.querySelector('input, select');
    if (control && control.type !== 'checkbox') control.setAttribute('aria-invalid', 'true');
    if (section && (field === 'endpoint' || field.startsWith('rates'))) section.querySelector('details.advanced').open = true;
    first ??= control;
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
