/**
 * @file The toolbar popup: renders the core's `view()` of the stored state, asks the worker
 * for a check on open (the core reuses a reading younger than 5 minutes) and on Refresh,
 * and re-renders whenever the worker stores a new state. Text only through textContent.
 *
 * Speed: the wasm module takes a few dozen milliseconds to compile, so the popup first paints
 * the view it rendered last time (kept in chrome.storage.session, memory only), then the wasm
 * renders the current one over it. Nothing in that first paint is decided here: it is the
 * core's own earlier answer.
 */
import { ready } from './lib/core.js';
import { readState, onStateChanged } from './lib/storage.js';
import { localizePage, t, uiLang } from './lib/i18n.js';

const $ = (id) => document.getElementById(id);
const lang = uiLang();
/** Minutes east of UTC: the core shows clock times ("read 12:02") in the browser's zone. */
const utcOffset = -new Date().getTimezoneOffset();
/** chrome.storage.session key of the last rendered view (the next opening paints it first). */
const LAST_VIEW = 'popupView';

/** The state last rendered (the calculator estimates against it). */
let currentState = null;
/** The view last painted (repainted when a check starts or ends). */
let currentView = null;
/** Renders run one after the other, so an older state never overwrites a newer one. */
let renderQueue = Promise.resolve();
/** Checks answered by the worker since the popup opened (exposed as <html data-checks>). */
let checksDone = 0;
/** A check asked by this popup is out: the button shows a spinner. */
let checking = false;
/** Re-renders once a second while the button counts down. */
let tickTimer = 0;
let wasmRendered = false;
let balanceMarked = false;

localizePage();

for (const id of ['options-link', 'paused-link', 'error-link', 'rates-note']) {
  $(id).addEventListener('click', openOptions);
}
$('refresh').addEventListener('click', () => requestCheck('refresh'));
$('calc').addEventListener('submit', (event) => event.preventDefault());
$('calc-type').addEventListener('change', renderEstimate);
$('calc-qty').addEventListener('input', renderEstimate);
onStateChanged(render);
// "read 3 min ago" and the stale flag move with the clock.
setInterval(render, 30_000);

paintStored();
render().then(() => requestCheck('open'));

/** Paint the view stored by the previous opening, unless the wasm already rendered. */
async function paintStored() {
  try {
    const stored = await chrome.storage.session?.get(LAST_VIEW);
    const view = stored?.[LAST_VIEW];
    if (view && !wasmRendered) paint(view);
  } catch {
    // No session storage (older browser): the wasm render below is the first paint.
  }
}

/** @param {Event} event */
function openOptions(event) {
  event.preventDefault();
  chrome.runtime.openOptionsPage();
}

/**
 * Ask the service worker for a check; it decides (through the core) whether to send a request.
 * @param {'open'|'refresh'} trigger
 */
async function requestCheck(trigger) {
  checking = true;
  if (currentView) paintRefresh(currentView.refresh);
  $('card').setAttribute('aria-busy', 'true');
  try {
    const answer = await chrome.runtime.sendMessage({ type: 'check', trigger });
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
  currentState = state;
  const view = cab.view(state, Date.now(), lang, utcOffset);
  wasmRendered = true;
  paint(view);
  renderTypeOptions(view.remaining);
  renderEstimate();
  chrome.storage.session?.set({ [LAST_VIEW]: view }).catch(() => {});
}

/**
 * Put one view on screen (no wasm needed: the stored view is painted the same way).
 * @param {any} view the core's View
 */
function paint(view) {
  currentView = view;
  const card = $('card');
  card.dataset.level = view.level;
  card.dataset.stale = String(Boolean(view.stale));
  card.style.setProperty('--level', view.badge.color);
  $('balance').textContent = view.balanceText ?? '—';
  $('level').textContent = view.pillText;
  // When the balance on screen was read; the failed check has its own line in the error box.
  $('checked').textContent = view.readText ?? view.checkedText;
  $('stale-text').hidden = !view.staleText || Boolean(view.error);
  $('stale-text').textContent = view.staleText ?? '';
  // Checks are paused (no key, key rejected): say why, with the way to the options. When an
  // error paused them, its own fix already says so: only the link is added there.
  $('paused').hidden = !view.pausedText || Boolean(view.error);
  $('paused-text').textContent = view.pausedText ?? '';
  $('error-link').hidden = !(view.pausedText && view.error);
  paintRefresh(view.refresh);

  const error = view.error;
  $('error').hidden = !error;
  if (error) {
    // An outage with a last good balance on screen is a warning, not the red of an empty account.
    $('error').dataset.severity = error.severity;
    $('failed').hidden = !view.failedText;
    $('failed').textContent = view.failedText ?? '';
    $('error-message').textContent = error.message;
    $('error-cause').textContent = error.cause;
    $('error-fix').textContent = error.fix;
  }

  const addFunds = $('add-funds');
  addFunds.href = view.addFundsUrl;
  // The call to action stands out only when money is what is missing.
  addFunds.classList.toggle('primary', view.level === 'low' || view.level === 'empty');
  // The per-solve figures: hidden for thread plans (a setting); solves need a balance.
  $('rates-note').hidden = !view.ratesNote || !view.showSolves;
  $('rates-note').textContent = view.ratesNote ?? '';
  $('remaining-card').hidden = view.balance === null || !view.showSolves;
  $('calc-card').hidden = !view.showSolves;
  renderRemaining(view.remaining);

  if (view.balanceText && !balanceMarked) {
    balanceMarked = true;
    // Read by scripts/bench.mjs: when the balance reached the screen.
    requestAnimationFrame(() => performance.mark('cab-balance-painted'));
  }
}

/**
 * The Refresh button never stays silent: a spinner while a check is out, a countdown within
 * the request floor, disabled with the reason while checks are paused (all from the core).
 * @param {{ enabled: boolean, text: string, reason: string | null, allowedAt: number | null, checkingText: string }} refresh
 */
function paintRefresh(refresh) {
  const button = $('refresh');
  button.disabled = checking || !refresh.enabled;
  button.dataset.busy = String(checking);
  $('refresh-text').textContent = checking ? refresh.checkingText : refresh.text;
  button.title = checking ? '' : refresh.reason ?? '';
  clearTimeout(tickTimer);
  if (!checking && refresh.allowedAt != null) {
    // Next whole second of the countdown (the core words every step).
    const left = refresh.allowedAt - Date.now();
    tickTimer = setTimeout(render, Math.max(50, left % 1000 || 1000));
  }
}

/** @param {Array<{ type: string, label: string, rateText: string, solvesText: string | null }>} rows */
function renderRemaining(rows) {
  const body = $('remaining').tBodies[0];
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement('tr');
    tr.dataset.type = row.type;
    const type = cell(row.label, 'type');
    const rate = document.createElement('span');
    rate.className = 'rate';
    rate.textContent = row.rateText;
    type.append(rate);
    tr.append(type, cell(row.solvesText ?? '—', 'num'));
    return tr;
  }));
}

/** Fill the calculator's type list once (labels are localized by the core). */
function renderTypeOptions(rows) {
  const select = $('calc-type');
  if (select.options.length === rows.length) return;
  const selected = select.value;
  select.replaceChildren(...rows.map((row) => new Option(row.label, row.type)));
  if (selected) select.value = selected;
}

async function renderEstimate() {
  const type = $('calc-type').value;
  if (!currentState || !type) return;
  const cab = await ready;
  const estimate = cab.estimate(currentState, type, $('calc-qty').value, lang);
  const verdict = $('calc-verdict');
  $('calc-qty').setAttribute('aria-invalid', String(!estimate.ok));
  $('calc-cost').textContent = estimate.ok ? t('popup_calc_cost', estimate.costText) : '';
  // One sentence from the core: covered, short by how much, or why it can not estimate.
  verdict.textContent = estimate.ok ? estimate.summary : (estimate.error ?? '');
  if (estimate.ok && (estimate.enough === null || estimate.enough === undefined)) delete verdict.dataset.enough;
  else verdict.dataset.enough = String(Boolean(estimate.ok && estimate.enough));
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
