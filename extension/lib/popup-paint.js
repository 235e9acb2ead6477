/**
 * @file Paints the core's View into the popup's DOM, text only through textContent.
 *
 * A classic script at the end of popup.html's body, not a module: it runs while the page is
 * parsed, so the first frames already show the view the previous opening rendered (kept in
 * localStorage, read synchronously: no wasm and no storage round trip to wait for; the options
 * page drops the entry on every save, so a previous key's balance never shows, not even for a
 * frame; `make bench` measured the chrome.storage read that checked this instead at 1.42x a
 * blank page). Module scripts only run after
 * parsing and their imports (the wasm glue among them). Measured with `make bench` on a busy
 * 2-core machine (medians of 15 runs, noisy): the first paint took 2.2x a blank extension page
 * when it waited for the wasm, 1.6x from a module, about 1.2x to 1.3x as this classic script
 * that starts popup.js only after the first frame.
 * popup.js (a module) then paints every fresh view from the wasm core with the same functions,
 * reached through `globalThis.cabPopup`.
 */
(() => {

  /**
   * localStorage key of the last rendered view (synchronous to read: no wait before painting).
   * extension/options.js removes it on every save (POPUP_VIEW there).
   */
  const LAST_VIEW = 'cab-popup-view';
  /** Shape of the stored entry; an entry of another version is dropped, never painted. */
  const ENTRY_VERSION = 1;

  const $ = (id) => document.getElementById(id);
  let balanceMarked = false;

  /**
   * The entry the previous opening stored (`{ v, account, view }`), or null.
   * @returns {any}
   */
  function storedEntry() {
    try {
      const entry = JSON.parse(localStorage.getItem(LAST_VIEW) ?? 'null');
      if (entry?.v === ENTRY_VERSION && typeof entry.account === 'string' && entry.view) return entry;
    } catch {
      // Not JSON: dropped below.
    }
    dropEntry();
    return null;
  }

  function dropEntry() {
    try {
      localStorage.removeItem(LAST_VIEW);
    } catch {
      // Storage disabled: nothing was stored either.
    }
  }

  /**
   * Keep what `paint` shows for the next opening, tagged with the account it belongs to (the
   * core's hash of endpoint and key, `monitor.account`). Nothing of the key, not even masked,
   * no badge title, no error code or detail.
   * @param {any} view the core's View
   * @param {string} account the rendered state's `monitor.account`
   */
  function storeView(view, account) {
    const error = view.error && {
      severity: view.error.severity, message: view.error.message, cause: view.error.cause, fix: view.error.fix,
    };
    const refresh = {
      enabled: view.refresh.enabled, text: view.refresh.text, reason: view.refresh.reason, checkingText: view.refresh.checkingText,
    };
    const remaining = view.remaining.map((row) => ({
      type: row.type, label: row.label, rateText: row.rateText, solvesText: row.solvesText,
    }));
    const painted = {
      level: view.level, stale: view.stale, badge: { color: view.badge.color }, balance: view.balance,
      balanceText: view.balanceText, pillText: view.pillText, readText: view.readText,
      checkedText: view.checkedText, staleText: view.staleText, pausedText: view.pausedText,
      failedText: view.failedText, error, refresh, addFundsUrl: view.addFundsUrl,
      ratesNote: view.ratesNote, showSolves: view.showSolves, remaining,
    };
    try {
      localStorage.setItem(LAST_VIEW, JSON.stringify({ v: ENTRY_VERSION, account, view: painted }));
    } catch {
      // Storage full or disabled: the next opening waits for the wasm, nothing else changes.
    }
  }

  /**
   * Put one view on screen.
   * @param {any} view the core's View
   * @param {boolean} checking a check asked by this popup is out (the button shows a spinner)
   */
  function paint(view, checking) {
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
    paintRefresh(view.refresh, checking);

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
      // Read by scripts/bench.mjs: the frame that shows the balance.
      requestAnimationFrame(() => performance.mark('cab-balance-painted'));
    }
  }

  /**
   * The Refresh button never stays silent: a spinner while a check is out, a countdown within
   * the request floor, disabled with the reason while checks are paused (all from the core).
   * @param {{ enabled: boolean, text: string, reason: string | null, checkingText: string }} refresh
   * @param {boolean} checking
   */
  function paintRefresh(refresh, checking) {
    const button = $('refresh');
    button.disabled = checking || !refresh.enabled;
    button.dataset.busy = String(checking);
    $('refresh-text').textContent = checking ? refresh.checkingText : refresh.text;
    button.title = checking ? '' : refresh.reason ?? '';
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

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // The page's static labels (Chrome's _locales/, the same as lib/i18n.js reads).
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = chrome.i18n.getMessage(el.dataset.i18n) || el.dataset.i18n;
  }
  document.documentElement.lang = chrome.i18n.getUILanguage();
  globalThis.cabPopup = { paint, paintRefresh, storeView };

  // popup.js (the wasm glue and its compile) starts once the stored view is on screen, so that
  // work does not hold back the first frame; with nothing stored it starts at once. It starts
  // whatever happens here: an entry that cannot be painted must not leave the popup blank.
  const start = () => {
    const script = document.createElement('script');
    script.type = 'module';
    script.src = 'popup.js';
    document.body.append(script);
  };
  const entry = storedEntry();
  let painted = false;
  if (entry) {
    try {
      paint(entry.view, false);
      painted = true;
    } catch {
      // A shape this build does not paint (written by another build, or damaged).
      dropEntry();
    }
  }
  if (painted) requestAnimationFrame(() => setTimeout(start));
  else start();
})();
