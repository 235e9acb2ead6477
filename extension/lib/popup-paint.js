/**
 * @file Paints the core's View into the popup's DOM, text only through textContent: one row per
 * account (several accounts) and one account's details.
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
  /**
   * Shape of the stored entry; an entry of another version is dropped, never painted
   * (version 3: each account's accent; version 2: a list of accounts; version 1 held one
   * account's view).
   */
  const ENTRY_VERSION = 3;

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
   * Keep what `paint` shows for the next opening, tagged with the accounts it belongs to (the
   * core's hashes of provider, endpoint and key, `monitor.account`). Nothing of a key, not
   * even masked, no badge title, no error detail.
   * @param {any} view the core's View
   * @param {string} account the rendered state's accounts (their ids, joined)
   */
  function storeView(view, account) {
    const painted = { summaryText: view.summaryText ?? null, accounts: view.accounts.map(trimAccount) };
    try {
      localStorage.setItem(LAST_VIEW, JSON.stringify({ v: ENTRY_VERSION, account, view: painted }));
    } catch {
      // Storage full or disabled: the next opening waits for the wasm, nothing else changes.
    }
  }

  /** One AccountView cut down to what `paint` shows. */
  function trimAccount(a) {
    const error = a.error && {
      code: a.error.code, severity: a.error.severity, message: a.error.message, cause: a.error.cause, fix: a.error.fix,
      diagnosis: a.error.diagnosis,
    };
    const refresh = {
      enabled: a.refresh.enabled, text: a.refresh.text, waitText: null, reason: a.refresh.reason, checkingText: a.refresh.checkingText,
    };
    const remaining = a.remaining.map((row) => ({
      type: row.type, label: row.label, rateText: row.rateText, solvesText: row.solvesText,
    }));
    return {
      id: a.id, name: a.name, providerLabel: a.providerLabel,
      level: a.level, levelText: a.levelText, statusText: a.statusText, stale: a.stale, accent: { color: a.accent.color }, balance: a.balance,
      balanceText: a.balanceText, pillText: a.pillText, readText: a.readText, updatedAgo: a.updatedAgo,
      checkedText: a.checkedText, staleText: a.staleText, pausedText: a.pausedText,
      failedText: a.failedText, error, refresh, addFundsUrl: a.addFundsUrl,
      ratesNote: a.ratesNote, showSolves: a.showSolves, remaining, forecast: trimForecast(a.forecast),
      threads: a.threads && {
        text: a.threads.text, capacity: a.threads.capacity, stale: a.threads.stale, shareText: a.threads.shareText,
      },
    };
  }

  /** The forecast's texts and sparklines (no figure `paintForecast` does not show). */
  function trimForecast(f) {
    if (!f) return null;
    const line = (s) => s && { points: s.points, text: s.text };
    return {
      spendText: f.spendText, note: f.note, runwayText: f.runwayText, runwayLowText: f.runwayLowText,
      lastTopUpText: f.lastTopUpText, day: line(f.day), week: line(f.week),
    };
  }

  /**
   * Put one view on screen. One account: its details. Several: one row per account, the
   * worst first (the core's order), or the chosen account's details with a way back.
   * @param {any} view the core's View
   * @param {boolean} checking a check asked by this popup is out (the button shows a spinner)
   * @param {string | null} [selected] the id of the account whose details are shown
   * @param {string | null} [pressed] the id of the account whose Refresh the user pressed
   * @returns {any} the AccountView whose details are shown, or null (the list)
   */
  function paint(view, checking, selected, pressed = null) {
    const { accounts } = view;
    if (!Array.isArray(accounts) || accounts.length === 0) throw new Error('no accounts');
    const several = accounts.length > 1;
    const chosen = several ? accounts.find((a) => a.id === selected) ?? null : accounts[0];
    document.body.dataset.accounts = String(accounts.length);
    $('accounts').hidden = !several || Boolean(chosen);
    $('details').hidden = !chosen;
    $('back').hidden = !several;
    $('account-name').hidden = !several;
    $('accounts-summary').textContent = view.summaryText ?? '';
    const refreshAll = $('refresh-all');
    refreshAll.dataset.busy = String(Boolean(checking));
    refreshAll.disabled = Boolean(checking);
    if (several) renderRows(accounts);
    if (chosen) paintAccount(chosen, checking, pressed === chosen.id);
    if (accounts.some((a) => a.balanceText) && !balanceMarked) {
      balanceMarked = true;
      // Read by scripts/bench.mjs: the frame that shows a balance.
      requestAnimationFrame(() => performance.mark('cab-balance-painted'));
    }
    return chosen;
  }

  /**
   * One row per account: name and provider, balance, level, when it was read (or, with no
   * balance to show, what went wrong). A row is a button: popup.js shows its details.
   * @param {any[]} accounts
   */
  function renderRows(accounts) {
    $('account-rows').replaceChildren(...accounts.map((a) => {
      const li = document.createElement('li');
      const row = document.createElement('button');
      row.type = 'button';
      row.className = 'account-row';
      row.dataset.account = a.id;
      row.dataset.level = a.level;
      row.dataset.stale = String(Boolean(a.stale));
      row.dataset.error = String(Boolean(a.error));
      row.style.setProperty('--level', a.accent.color);
      const name = span('row-name', a.name);
      // "CaptchaAI" named after its provider says it once.
      if (a.name !== a.providerLabel) name.append(' ', span('row-provider', a.providerLabel));
      // The status in words: a failed check reads "Check failed", not "Unknown".
      const level = span('pill level-pill row-level', a.statusText ?? a.levelText);
      const read = a.error && !a.balanceText ? a.error.message : a.updatedAgo ?? a.checkedText;
      row.append(name, span('row-balance', a.balanceText ?? '—'), span('row-read', read), level);
      // A thread plan: busy threads, or no active plan (the core's words).
      if (a.threads) {
        const threads = span('row-threads', a.threads.text);
        threads.dataset.capacity = a.threads.capacity ?? '';
        row.append(threads);
      }
      li.append(row);
      return li;
    }));
  }

  function span(className, text) {
    const el = document.createElement('span');
    el.className = className;
    el.textContent = text ?? '';
    return el;
  }

  /**
   * One account's details (the whole popup when there is one account).
   * @param {any} view the AccountView
   * @param {boolean} checking
   * @param {boolean} pressed its Refresh was pressed (a wait is then said, not before)
   */
  function paintAccount(view, checking, pressed) {
    const card = $('card');
    card.dataset.level = view.level;
    card.dataset.stale = String(Boolean(view.stale));
    card.style.setProperty('--level', view.accent.color);
    const name = $('account-name');
    name.replaceChildren(view.name);
    if (view.name !== view.providerLabel) name.append(' ', span('row-provider', view.providerLabel));
    $('balance').textContent = view.balanceText ?? '—';
    $('level').textContent = view.pillText;
    // When the balance on screen was read; the failed check has its own line in the error box.
    $('checked').textContent = view.readText ?? view.checkedText;
    $('stale-text').hidden = !view.staleText || Boolean(view.error);
    $('stale-text').textContent = view.staleText ?? '';
    // A thread plan's capacity (CaptchaAI), from the same check as the balance.
    const threads = view.threads;
    // No active plan is then the error card's own title: not said twice.
    $('threads').hidden = !threads || view.error?.diagnosis === 'no_active_plan';
    $('threads').dataset.capacity = threads?.capacity ?? '';
    $('threads').dataset.stale = String(Boolean(threads?.stale));
    $('threads-text').textContent = threads?.text ?? '';
    $('threads-share').hidden = !threads?.shareText;
    $('threads-share').textContent = threads?.shareText ?? '';
    // Checks are paused (no key, key rejected): say why, with the way to the options. When an
    // error paused them, its own fix already says so: only the link is added there.
    $('paused').hidden = !view.pausedText || Boolean(view.error);
    $('paused-text').textContent = view.pausedText ?? '';
    // No access to the endpoint's host: the browser's own prompt is one press away.
    const grant = view.error?.code === 'permission_missing';
    $('grant-access').hidden = !grant;
    $('error-link').hidden = !(view.pausedText && view.error) || grant;
    paintRefresh(view.refresh, checking, pressed);

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
    // A custom provider has no known page to add funds on.
    addFunds.hidden = !view.addFundsUrl;
    if (view.addFundsUrl) addFunds.href = view.addFundsUrl;
    else addFunds.removeAttribute('href');
    // The call to action stands out only when money is what is missing.
    addFunds.classList.toggle('primary', view.level === 'low' || view.level === 'empty');
    // The per-solve figures: hidden for thread plans (a setting); solves need a balance and a rate.
    $('rates-note').hidden = !view.ratesNote || !view.showSolves;
    $('rates-note').textContent = view.ratesNote ?? '';
    $('remaining-card').hidden = view.balance === null || !view.showSolves || view.remaining.length === 0;
    $('calc-card').hidden = !view.showSolves || view.remaining.length === 0;
    renderRemaining(view.remaining);
    paintForecast(view.balance === null ? null : view.forecast);
    // With the sparkline and the forecast drawn, the calculator starts folded like Solves
    // remaining (together they would pass Chrome's 600 px); once the user opened or closed
    // it, it stays as they left it.
    if (!calcToggled) $('calc-card').open = $('sparkline').hasAttribute('hidden');
  }

  /** The user opened or closed the calculator in this popup. */
  let calcToggled = false;
  $('calc-card').querySelector('summary').addEventListener('click', () => { calcToggled = true; });

  /** The sparkline's period: `day` (24 h) or `week` (7 days), switched by the two buttons. */
  let period = 'day';
  /** The forecast on screen, repainted when the period changes. */
  let shownForecast = null;

  /**
   * The forecast in the balance card: the sparkline of the chosen period next to the balance
   * (an inline SVG polyline in the core's 100 x 30 box, its text alternative as <title> and
   * aria-label), then runway, spend and the last top-up, or the core's note (not enough
   * history yet, nothing spent).
   * @param {any} forecast the AccountView's `forecast`, or null (no balance: none of it)
   */
  function paintForecast(forecast) {
    shownForecast = forecast ?? null;
    const drawn = Boolean(forecast?.day || forecast?.week);
    // Nothing to draw yet: the note takes the sparkline's place beside the balance, so a new
    // account's details are no taller than before.
    $('trend').hidden = !drawn && !forecast?.note;
    $('sparkline').toggleAttribute('hidden', !drawn);
    $('period').hidden = !drawn;
    $('trend-note').hidden = drawn;
    $('trend-note').textContent = drawn ? '' : forecast?.note ?? '';
    if (!forecast) {
      $('forecast').hidden = true;
      return;
    }
    // A period without two readings cannot be drawn: its button is off, the other one shows.
    const chosen = forecast[period] ? period : ['day', 'week'].find((p) => forecast[p]) ?? period;
    for (const button of $('period').querySelectorAll('button')) {
      button.disabled = !forecast[button.dataset.period];
      button.setAttribute('aria-pressed', String(button.dataset.period === chosen));
    }
    const line = forecast[chosen];
    $('sparkline').setAttribute('aria-label', line?.text ?? '');
    $('sparkline-title').textContent = line?.text ?? '';
    $('sparkline-line').setAttribute('points', line?.points ?? '');
    const lines = [
      ['spend', forecast.spendText], ['runway', forecast.runwayText], ['runway-low', forecast.runwayLowText],
      ['top-up', forecast.lastTopUpText], ['forecast-note', drawn ? forecast.note : null],
    ];
    for (const [id, value] of lines) {
      $(id).hidden = !value;
      $(id).textContent = value ?? '';
    }
    $('forecast').hidden = !lines.some(([, value]) => value);
  }

  $('period').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-period]');
    if (!button || button.disabled) return;
    period = button.dataset.period;
    paintForecast(shownForecast);
  });

  /**
   * The Refresh button never stays silent: a spinner while a check is out; after a press that
   * could send nothing (the request floor, a back-off) the core's countdown until it can;
   * disabled with the reason while checks are paused (all from the core). The popup never
   * opens on a countdown: until pressed it reads "Refresh".
   * @param {{ enabled: boolean, text: string, waitText: string | null, reason: string | null, checkingText: string }} refresh
   * @param {boolean} checking
   * @param {boolean} [pressed] the user pressed it since the popup opened
   */
  function paintRefresh(refresh, checking, pressed = false) {
    const button = $('refresh');
    const waiting = pressed && refresh.waitText != null;
    button.disabled = checking || !refresh.enabled || waiting;
    button.dataset.busy = String(checking);
    $('refresh-text').textContent = checking ? refresh.checkingText : waiting ? refresh.waitText : refresh.text;
    button.title = checking || (refresh.enabled && !waiting) ? '' : refresh.reason ?? '';
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
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', chrome.i18n.getMessage(el.dataset.i18nAriaLabel) || el.dataset.i18nAriaLabel);
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
      paint(entry.view, false, null);
      painted = true;
    } catch {
      // A shape this build does not paint (written by another build, or damaged).
      dropEntry();
    }
  }
  if (painted) requestAnimationFrame(() => setTimeout(start));
  else start();
})();
