// Demo wiring for index.html: the host page reacts to `balancechange` without knowing anything
// about the widget's internals. Kept out of index.html so the page works under a strict CSP
// (script-src 'self' 'wasm-unsafe-eval').
const pill = document.getElementById('funds-pill');
const accountsPanel = document.getElementById('accounts-panel');
const accountList = document.getElementById('accounts');
const events = document.getElementById('events');
const names = { 'prod-balance': 'production', 'compact-balance': 'compact' };
/** The last line logged per widget. */
const logged = new WeakMap();

/** A thread plan's line under each admin-view widget, by account name. */
const threadLines = new Map();

/**
 * A thread plan's capacity in the server's words (`threadsText` of `/v1/accounts`: "3 of 10
 * threads busy", "All 10 threads busy", "No active plan"), never its counts or a code. Hidden
 * for an account without a thread plan.
 */
function showThreads(line, account) {
  const text = account?.threadsText ?? '';
  line.textContent = text;
  line.hidden = text === '';
}

document.addEventListener('balancechange', (event) => {
  const { balance, balanceText, level, status, levelText, stale, error, message } = event.detail;
  const who = names[event.target.id] ?? event.target.getAttribute('account') ?? event.target.id ?? 'widget';

  // The widget's own words (the core's number format and localized level or error), never the
  // raw decimal or a code such as `key_not_found`.
  const words = [balanceText, levelText ?? message].filter(Boolean).join(' · ') || '…';
  const line = `${who}: ${words}`;
  // An event whose line reads as the widget's last one (the forecast changed, not the balance)
  // is not logged again: the six lines stay six different events.
  if (logged.get(event.target) !== line) {
    logged.set(event.target, line);
    const item = document.createElement('li');
    // The widgets' clock style (24-hour, as the core writes times in English), not the
    // browser's locale default, which may be 12-hour: one clock style on the page.
    const time = new Date().toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    item.textContent = `${time} ${line}`;
    events.prepend(item);
    while (events.children.length > 6) events.lastElementChild.remove();
  }

  // An admin-view widget read its account: the plan's threads of the same check, from the
  // server's cache (no upstream request of its own).
  const threadLine = threadLines.get(event.target.getAttribute('account'));
  if (threadLine) {
    const name = encodeURIComponent(event.target.getAttribute('account'));
    fetch(`/v1/accounts/${name}`, { cache: 'no-store' })
      .then((response) => (response.ok ? response.json() : null))
      .then((account) => { if (account) showThreads(threadLine, account); })
      .catch(() => {});
  }

  if (event.target.id === 'prod-balance') {
    // Words from the widget (localized by its core), never a raw code such as `server_error`.
    pill.dataset.level = error && balance == null ? 'error' : level;
    // A thread plan with no threads runs no job whatever the money: red, as the widget shows it.
    pill.dataset.status = status;
    pill.dataset.stale = String(Boolean(stale));
    pill.textContent = `Captcha funds: ${words}`;
  }
});

/**
 * The admin view: one widget per account of the server (`GET /v1/accounts`), in the server's
 * order, each with the server's threshold so the widget and the server agree on its level.
 * Served by anything but captchaai-balance-server the panel simply stays hidden.
 */
async function showAccounts() {
  let accounts;
  try {
    const response = await fetch('/v1/accounts', { cache: 'no-store' });
    if (!response.ok) return;
    ({ accounts } = await response.json());
  } catch {
    return;
  }
  if (!Array.isArray(accounts) || accounts.length === 0) return;
  for (const account of accounts) {
    const cell = document.createElement('div');
    cell.className = 'account';
    const widget = document.createElement('captchaai-balance');
    widget.id = `account-${account.name}`;
    widget.setAttribute('account', account.name);
    widget.setAttribute('endpoint', '/');
    widget.setAttribute('threshold', account.threshold);
    widget.setAttribute('interval', '300');
    // The last 24 hours as a sparkline, from the server's history at once.
    widget.setAttribute('history', '');
    const caption = document.createElement('p');
    caption.className = 'hint';
    // The provider's name as people know it (the server sends it beside its id).
    caption.textContent = account.providerLabel ?? '';
    cell.append(widget, caption);
    // A thread plan (CaptchaAI): its threads, in words, under the widget.
    if (account.threads !== undefined && account.threads !== null) {
      const line = document.createElement('p');
      line.className = 'threads';
      line.id = `threads-${account.name}`;
      showThreads(line, account);
      threadLines.set(account.name, line);
      cell.append(line);
    }
    accountList.append(cell);
  }
  accountsPanel.hidden = false;
}

showAccounts();
