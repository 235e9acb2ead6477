/**
 * @file The toolbar popup: renders the core's `view()` of the stored state, asks the worker
 * for a check on open (the core reuses a reading younger than 5 minutes) and on Refresh,
 * and re-renders whenever the worker stores a new state. Text only through textContent.
 *
 * Several accounts: one row each, the worst first; choosing a row shows that account's
 * details (its Refresh checks only that account; the calculator estimates against its
 * balance and rates), **All accounts** goes back. One account: its details at once.
 *
 * Speed: loading and compiling the wasm module takes tens of milliseconds, so
 * lib/popup-paint.js (a classic script) paints the view rendered last time while the page is
 * parsed; the wasm then renders the current one over it. Nothing in that first paint is decided in JS: it
 * is the core's own earlier answer.
 */
import { ready } from './lib/core.js';
import { readState, onStateChanged } from './lib/storage.js';
import { t, uiLang } from './lib/i18n.js';

const $ = (id) => document.getElementById(id);
const lang = uiLang();
/** Minutes east of UTC: the core shows clock times ("read 12:02") in the browser's zone. */
const utcOffset = -new Date().getTimezoneOffset();

/** The state last rendered (the calculator estimates against it). */
let currentState = null;
/** The wasm module once loaded (Grant access needs it without awaiting). */
let cabModule = null;
/** The view last painted (repainted when a check starts or ends). */
let currentView = null;
/** The id of the account whose details are shown (several accounts), or null: the list. */
let selected = null;
/** The AccountView whose details are on screen (null: the list). */
let shown = null;
/** Renders run one after the other, so an older state never overwrites a newer one. */
let renderQueue = Promise.resolve();
/** Checks answered by the worker since the popup opened (exposed as <html data-checks>). */
let checksDone = 0;
/** A check asked by this popup is out: the button shows a spinner. */
let checking = false;
/** Re-renders once a second while the button counts down. */
let tickTimer = 0;
/**
 * The account whose Refresh the user pressed: its countdown shows until a press can send
 * again (a popup opened within the request floor still reads "Refresh" until pressed).
 */
let pressed = null;

/** Painting functions of lib/popup-paint.js (a classic script: it ran before this module). */
const { paint, paintRefresh, storeView } = globalThis.cabPopup;
// The page's labels were filled by lib/popup-paint.js.

for (const id of ['options-link', 'paused-link', 'error-link', 'rates-note']) {
  $(id).addEventListener('click', openOptions);
}
$('refresh').addEventListener('click', () => {
  pressed = shown?.id ?? null;
  requestCheck('refresh', shown?.id);
});
// Every account at once (each within its own request floor: the core plans them).
$('refresh-all').addEventListener('click', () => requestCheck('refresh'));
$('grant-access').addEventListener('click', grantAccess);
$('account-rows').addEventListener('click', (event) => {
  const row = event.target.closest('button[data-account]');
  if (!row) return;
  selected = row.dataset.account;
  if (currentView) showAccount();
  $('back').focus();
});
$('back').addEventListener('click', () => {
  selected = null;
  if (currentView) showAccount();
});
$('calc').addEventListener('submit', (event) => event.preventDefault());
$('calc-type').addEventListener('change', renderEstimate);
$('calc-qty').addEventListener('input', renderEstimate);
onStateChanged(render);
// "read 3 min ago" and the stale flag move with the clock.
setInterval(render, 30_000);

render().then(() => requestCheck('open'));

/**
 * Ask the browser for the host the shown account's endpoint needs (the click's user activation
 * is still there: nothing is awaited first), then check that account again.
 */
function grantAccess() {
  if (!cabModule || !currentState || !shown) return;
  const account = shown.id;
  const origins = cabModule.hostPermissions(currentState, account);
  chrome.permissions.request({ origins })
    .then((granted) => { if (granted) requestCheck('refresh', account); })
    .catch((error) => console.warn('captchaai-balance: permission request failed:', error?.message ?? String(error)));
}

/** @param {Event} event */
function openOptions(event) {
  event.preventDefault();
  chrome.runtime.openOptionsPage();
}

/**
 * Ask the service worker for a check; it decides (through the core) whether to send a request.
 * @param {'open'|'refresh'} trigger
 * @param {string} [only] one account's id (Refresh in its details)
 */
async function requestCheck(trigger, only) {
  checking = true;
  if (shown) paintRefresh(shown.refresh, true, pressed === shown.id);
  if (!only && currentView) showAccount();
  $('card').setAttribute('aria-busy', 'true');
  try {
    const answer = await chrome.runtime.sendMessage({ type: 'check', trigger, only });
    if (answer && !answer.ok) console.warn('captchaai-balance: check failed:', answer.error);
  } catch (error) {
    console.warn('captchaai-balance: worker unreachable:', error?.message ?? String(error));
  } finally {
    checking = false;
    $('card').removeAttribute('aria-busy');
  }
  await render();
  document.documentElement.dataset.checks = String(++checksDone);
}

/** Re-read the stored state and show it; resolves once it is on screen. */
function render() {
  renderQueue = renderQueue.then(renderNow, renderNow);
  return renderQueue;
}

async function renderNow() {
  const [cab, state] = await Promise.all([ready, readState()]);
  cabModule = cab;
  currentState = state;
  currentView = cab.view(state, Date.now(), lang, utcOffset);
  showAccount();
  // Tagged with the accounts (the core's hashes of provider, endpoint and key); the options
  // page drops the entry on every save, so it is never painted for other settings.
  storeView(currentView, state.accounts.map((a) => a.monitor.account).join(','));
}

/**
 * Paint the current view (the list, or the chosen account's details), and re-render once a
 * second while the button counts down (the core words every step of the countdown).
 */
function showAccount() {
  // A wait the user was shown ends when a press can send again.
  if (pressed && !currentView.accounts.some((a) => a.id === pressed && a.refresh.allowedAt != null)) pressed = null;
  shown = paint(currentView, checking, selected, pressed);
  // The chosen account is gone (removed, or a new key made it another account): the list.
  if (!shown && selected) selected = null;
  clearTimeout(tickTimer);
  if (shown && !checking && pressed === shown.id) {
    const left = shown.refresh.allowedAt - Date.now();
    tickTimer = setTimeout(render, Math.max(50, left % 1000 || 1000));
  }
  if (shown) {
    renderTypeOptions(shown.remaining);
    renderEstimate();
  }
}

/** Fill the calculator's type list (labels are localized by the core) when it changed. */
function renderTypeOptions(rows) {
  const select = $('calc-type');
  const types = rows.map((row) => row.type).join();
  if ([...select.options].map((o) => o.value).join() === types) return;
  const chosen = select.value;
  select.replaceChildren(...rows.map((row) => new Option(row.label, row.type)));
  if (chosen && types.split(',').includes(chosen)) select.value = chosen;
}

async function renderEstimate() {
  const type = $('calc-type').value;
  if (!currentState || !shown || !type) return;
  const cab = await ready;
  const estimate = cab.estimate(currentState, shown.id, type, $('calc-qty').value, lang);
  const verdict = $('calc-verdict');
  $('calc-qty').setAttribute('aria-invalid', String(!estimate.ok));
  $('calc-cost').textContent = estimate.ok ? t('popup_calc_cost', estimate.costText) : '';
  // One sentence from the core: covered, short by how much, or why it can not estimate.
  verdict.textContent = estimate.ok ? estimate.summary : (estimate.error ?? '');
  if (estimate.ok && (estimate.enough === null || estimate.enough === undefined)) delete verdict.dataset.enough;
  else verdict.dataset.enough = String(Boolean(estimate.ok && estimate.enough));
}
