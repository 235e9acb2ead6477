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

document.addEventListener('balancechange', (event) => {
  const { balance, balanceText, level, levelText, stale, error, message } = event.detail;
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
    const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    item.textContent = `${time} ${line}`;
    events.prepend(item);
    while (events.children.length > 6) events.lastElementChild.remove();
  }

  if (event.target.id === 'prod-balance') {
    // Words from the widget (localized by its core), never a raw code such as `server_error`.
    pill.dataset.level = error && balance == null ? 'error' : level;
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
    accountList.append(cell);
  }
  accountsPanel.hidden = false;
}

showAccounts();
