// Demo wiring for index.html: the host page reacts to `balancechange` without knowing anything
// about the widget's internals. Kept out of index.html so the page works under a strict CSP
// (script-src 'self' 'wasm-unsafe-eval').
const pill = document.getElementById('funds-pill');
const events = document.getElementById('events');
const names = { 'prod-balance': 'production', 'compact-balance': 'compact' };

document.addEventListener('balancechange', (event) => {
  const { balance, balanceText, level, levelText, stale, error, message } = event.detail;
  const who = names[event.target.id] ?? event.target.id ?? 'widget';

  const item = document.createElement('li');
  const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const shown = level === 'unknown' && !error ? 'loading' : level;
  // The widget's own words for the balance (the core's format), never the raw decimal.
  item.textContent = `${time} ${who}: ${shown}${balance != null ? ` ${balanceText}` : ''}${stale ? ' (stale)' : ''}${error ? ` [${error}]` : ''}`;
  events.prepend(item);
  while (events.children.length > 6) events.lastElementChild.remove();

  if (event.target.id === 'prod-balance') {
    // Words from the widget (localized by its core), never a raw code such as `server_error`.
    pill.dataset.level = error && balance == null ? 'error' : level;
    pill.dataset.stale = String(Boolean(stale));
    pill.textContent = `Captcha funds: ${[balanceText, levelText ?? message].filter(Boolean).join(' · ') || '…'}`;
  }
});
