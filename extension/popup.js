/**
 * @file The toolbar popup: renders the core's `view()` of the stored state, asks the worker
 * for a check on open (the core reuses a reading younger than 5 minutes) and on Refresh,
 * and re-renders whenever the worker stores a new state. Text only through textContent.
 */
import { ready } from './lib/core.js';
import { readState, onStateChanged } from './lib/storage.js';
import { localizePage, t, uiLang } from './lib/i18n.js';

const $ = (id) => document.getElementById(id);
const lang = uiLang();
const numberFormat = new Intl.NumberFormat(lang);

/** The state last rendered (the calculator estimates against it). */
let currentState = null;
/** Renders run one after the other, so an older state never overwrites a newer one. */
let renderQueue = Promise.resolve();
/** Checks answered by the worker since the popup opened (exposed as <html data-checks>). */
let checksDone = 0;

localizePage();

$('options-link').addEventListener('click', openOptions);
$('paused-link').addEventListener('click', openOptions);
$('error-link').addEventListener('click', openOptions);
$('refresh').addEventListener('click', () => requestCheck('refresh'));
$('calc').addEventListener('submit', (event) => event.preventDefault());
$('calc-type').addEventListener('change', renderEstimate);
$('calc-qty').addEventListener('input', renderEstimate);
onStateChanged(render);
// "last checked 3 min ago" and the stale flag move with the clock.
setInterval(render, 30_000);

render().then(() => requestCheck('open'));

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
  const button = $('refresh');
  button.disabled = true;
  button.textContent = t('popup_checking');
  $('card').setAttribute('aria-busy', 'true');
  try {
    const answer = await chrome.runtime.sendMessage({ type: 'check', trigger });
    if (answer && !answer.ok) console.warn('captchaai-balance: check failed:', answer.error);
  } catch (error) {
    console.warn('captchaai-balance: worker unreachable:', error?.message ?? String(error));
  } finally {
    button.disabled = false;
    button.textContent = t('popup_refresh');
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
  const view = cab.view(state, Date.now(), lang);

  const card = $('card');
  card.dataset.level = view.level;
  card.dataset.stale = String(Boolean(view.stale));
  card.style.setProperty('--level', view.badge.color);
  $('balance').textContent = view.balanceText ?? '—';
  $('level').textContent = view.levelText;
  $('stale').hidden = !view.stale;
  $('stale-text').hidden = !view.staleText;
  $('stale-text').textContent = view.staleText ?? '';
  $('checked').textContent = view.checkedText;
  // Checks are paused (no key, key rejected): say why, with the way to the options. When an
  // error paused them, its own fix already says so: only the link is added there.
  $('paused').hidden = !view.pausedText || Boolean(view.error);
  $('paused-text').textContent = view.pausedText ?? '';
  $('error-link').hidden = !(view.pausedText && view.error);

  const error = view.error;
  $('error').hidden = !error;
  if (error) {
    $('error-message').textContent = error.message;
    $('error-cause').textContent = error.cause;
    $('error-fix').textContent = error.fix;
  }

  const addFunds = $('add-funds');
  addFunds.href = view.addFundsUrl;
  // The call to action stands out only when money is what is missing.
  addFunds.classList.toggle('primary', view.level === 'low' || view.level === 'empty');
  // Solves remaining need a balance; without one the table would be all dashes.
  $('remaining-card').hidden = view.balance === null;
  renderRemaining(view.remaining);
  renderTypeOptions(view.remaining);
  renderEstimate();
}

/** @param {Array<{ type: string, label: string, rateText: string, solves: number | null }>} rows */
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
    tr.append(type, cell(formatCount(row.solves), 'num'));
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

/** @param {number | null | undefined} value */
function formatCount(value) {
  return typeof value === 'number' ? numberFormat.format(value) : '—';
}
