// Playwright tests of the <captchaai-balance> widget in Debian's Chromium.
//
// Needs `make build` first (dist/www). Two set-ups:
// - direct mode: dist/www served by a tiny static server in this file, the widget's `endpoint`
//   and `api-key` pointing at the loopback mock API of lib/mock-api.mjs (2captcha family) or,
//   with `provider`, of lib/mock-createtask.mjs (createTask family);
// - server mode: the Rust server (mock mode) serving dist/www and answering /res.php itself,
//   driven through its /mock/scenario control API (skipped with a reason if it cannot be built).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOCK, OUT_DIR, launch, pattern, until } from './lib/browser.mjs';
import { startMockApi } from './lib/mock-api.mjs';
import { startCreateTaskApi } from './lib/mock-createtask.mjs';
import { freePort, startServer } from './lib/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// CAB_WWW_DIR: test another assembled copy of dist/www (e.g. while dist/ is being rebuilt).
const WWW = path.resolve(process.env.CAB_WWW_DIR ?? path.join(ROOT, 'dist', 'www'));
/** A well-formed (32 hex) key that must never show up in the page. */
const KEY = '0123456789abcdef0123456789abcdef';
const KEY_B = 'fedcba9876543210fedcba9876543210';
/** A CapSolver-style key (the core's token format, not 32 hex). */
const CAP_KEY = 'CAP-0123456789ABCDEF0123456789ABCDEF';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/**
 * Serve dist/www under several prefixes, each breaking the deployment in one way:
 *   /ok/…        correct
 *   /html-wasm/… the .wasm path answers an HTML page as text/html (SPA fallback, wrong MIME)
 *   /missing/…   the .wasm path answers 404
 *   /csp/…       every page carries a CSP without 'wasm-unsafe-eval'
 *   /no-id-text/… the Indonesian text catalog (messages/id.json) answers 404
 * Test pages are registered with `page(name, html)` and served as /<prefix>/<name>.html;
 * `requests()` lists the paths asked for since `clearRequests()`.
 */
async function startStatic() {
  const pages = new Map();
  let requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname);
    const [, prefix, ...rest] = url.pathname.split('/');
    const file = rest.join('/');
    const headers = { 'Cache-Control': 'no-store' };
    if (prefix === 'csp') headers['Content-Security-Policy'] = "script-src 'self'; object-src 'none'";
    const send = (status, type, body) => {
      res.writeHead(status, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    if (pages.has(file)) return send(200, MIME['.html'], pages.get(file));
    if (file.endsWith('.wasm') && prefix === 'missing') return send(404, 'text/plain', 'not found');
    if (file === 'messages/id.json' && prefix === 'no-id-text') return send(404, 'text/plain', 'not found');
    if (file.endsWith('.wasm') && prefix === 'html-wasm') {
      return send(200, MIME['.html'], '<!doctype html><title>App</title><div id="app"></div>');
    }
    const full = path.join(WWW, path.normalize(file));
    if (!full.startsWith(WWW) || !fs.existsSync(full) || !fs.statSync(full).isFile()) {
      return send(404, 'text/plain', 'not found');
    }
    send(200, MIME[path.extname(full)] ?? 'application/octet-stream', fs.readFileSync(full));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    page(name, html) {
      pages.set(`${name}.html`, html);
    },
    requests: () => [...requests],
    clearRequests() {
      requests = [];
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** A minimal host page: the widget module plus the given widget markup. */
function hostPage(body, { lang = 'en' } = {}) {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
<script type="module" src="./captchaai-balance.js"></script>
<style>body{font:14px system-ui;margin:16px;display:grid;gap:12px;max-width:420px}</style>
</head><body>${body}</body></html>`;
}

/** Everything the test reads from one widget, shadow DOM included. */
function readWidget(page, selector = 'captchaai-balance') {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const root = el.shadowRoot;
    const text = (s) => root.querySelector(s)?.textContent ?? null;
    const shown = (s) => { const n = root.querySelector(s); return Boolean(n) && !n.hidden; };
    return {
      state: el.getAttribute('state'),
      balance: text('[part=balance]'),
      level: shown('[part=level]') ? text('[part=level]') : null,
      stale: root.querySelector('[part=container]').classList.contains('stale'),
      error: shown('[part=error]') ? text('[part=error]') : null,
      errorClass: root.querySelector('[part=error]').className,
      fix: shown('.error .fix') ? text('.error .fix .text') : null,
      refreshDisabled: root.querySelector('[part=refresh]').getAttribute('aria-disabled') === 'true',
      busy: root.querySelector('[part=refresh]').dataset.busy === 'true',
      refreshTitle: root.querySelector('[part=refresh]').title,
      meta: text('.meta'),
      estimate: shown('[part=estimate]') ? text('[part=estimate] output') : null,
      threads: shown('[part=threads]') ? text('[part=threads] .text') : null,
      refresh: text('[part=refresh]'),
      html: root.innerHTML,
    };
  }, selector);
}

/** Record every balancechange event of the page in window.__events. */
async function recordEvents(page) {
  await page.addInitScript(() => {
    window.__events = [];
    document.addEventListener('balancechange', (e) => {
      window.__events.push({ id: e.target.id, detail: e.detail, composed: e.composed, bubbles: e.bubbles });
    });
  });
}

function waitState(page, state, selector = 'captchaai-balance') {
  return until(async () => {
    const w = await readWidget(page, selector);
    return w?.state === state ? w : null;
  }, `${selector} state=${state}`);
}


const hasDist = fs.existsSync(path.join(WWW, 'captchaai-balance.js')) && fs.existsSync(path.join(WWW, 'captchaai_balance_bg.wasm'));

describe('widget, direct mode against the loopback mock API', { skip: !hasDist && 'dist/www missing: run `make build` first' }, () => {
  let browser;
  let mock;
  let createTask;
  let web;
  let n = 0;

  before(async () => {
    mock = await startMockApi();
    createTask = await startCreateTaskApi();
    web = await startStatic();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await mock?.close();
    await createTask?.close();
    await web?.close();
  });

  /** Register a page with the given widget markup and open it (fake clock installed first). */
  async function open(body, { prefix = 'ok', lang = 'en', clock = true } = {}) {
    const name = `t${n++}`;
    web.page(name, hostPage(body, { lang }));
    const page = await browser.context.newPage();
    page.on('dialog', (d) => { page.__dialogs = (page.__dialogs ?? 0) + 1; d.dismiss(); });
    await recordEvents(page);
    if (clock) await page.clock.install();
    await page.goto(`${web.url}/${prefix}/${name}.html`);
    return page;
  }

  const direct = (attrs = '') => `<captchaai-balance endpoint="${mock.url}" api-key="${KEY}" ${attrs}></captchaai-balance>`;

  test('ok: exact balance, level text and colour, "updated" text, estimate, event', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok', balance: '12.345' });
    const page = await open(direct('id="w"'));
    const w = await waitState(page, 'ok');
    assert.match(w.balance, /12\.345/);
    assert.ok(w.level && w.level.trim().length > 0, 'level is shown as text, not only colour');
    assert.equal(w.error, null);
    assert.equal(w.stale, false);
    assert.ok(w.meta && w.meta.trim().length > 0, 'checked text shown');
    assert.ok(w.estimate && /\$/.test(w.estimate), `estimate shown: ${w.estimate}`);
    const colour = await page.evaluate(() => getComputedStyle(document.querySelector('captchaai-balance').shadowRoot.querySelector('[part=container]')).borderLeftColor);
    assert.equal(colour, 'rgb(21, 128, 61)', 'ok uses the badge green #15803d');
    const events = await page.evaluate(() => window.__events);
    const last = events.at(-1);
    // CaptchaAI sells thread plans: the same check read the mock plan's 10 threads, 3 busy.
    assert.deepEqual(last.detail, { balance: '12.345', balanceText: '$12.3450', level: 'ok', status: 'ok', levelText: 'OK', stale: false, error: null, message: null, runwaySeconds: null, spendPerHour: null, threads: 10, workingThreads: 3 });
    assert.equal(w.threads, '3 of 10 threads busy');
    assert.equal(mock.threadsRequests(), 1, 'one threadsinfo with the balance');
    assert.ok(last.bubbles && last.composed, 'balancechange bubbles and is composed');
    assert.equal(mock.keysSeen().at(-1), KEY, 'the widget sent its key to the API');
    // Accessibility: a polite live region and a keyboard-reachable Refresh button.
    const a11y = await page.evaluate(() => {
      const root = document.querySelector('captchaai-balance').shadowRoot;
      const status = root.querySelector('[role=status]');
      return { live: status?.getAttribute('aria-live'), hasBalance: status?.contains(root.querySelector('[part=balance]')) };
    });
    assert.deepEqual(a11y, { live: 'polite', hasBalance: true });
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.querySelector('captchaai-balance').shadowRoot.activeElement?.getAttribute('part'));
    assert.equal(focused, 'refresh', 'Tab reaches the Refresh button first');
    await page.close();
  });

  test('provider="anticaptcha": the createTask request (key in the JSON body), exact balance, the provider in the title', async () => {
    createTask.reset();
    createTask.set({ balance: '3.25' });
    const widget = (attrs) => `<captchaai-balance endpoint="${createTask.url}" api-key="${KEY}" ${attrs}></captchaai-balance>`;
    const page = await open(widget('id="w" provider="anticaptcha" threshold="5"'));
    const w = await waitState(page, 'low');
    assert.match(w.balance, /^\$3\.2500$/);
    assert.deepEqual(createTask.keysSeen(), [KEY], 'one POST /getBalance with the key in its body');
    const title = await page.evaluate(() => document.querySelector('#w').shadowRoot.querySelector('.title').textContent);
    assert.equal(title, 'Anti-Captcha balance');
    const last = (await page.evaluate(() => window.__events)).at(-1).detail;
    assert.deepEqual(
      { balance: last.balance, level: last.level, error: last.error },
      { balance: '3.25', level: 'low', error: null },
    );
    await page.locator('#w').screenshot({ path: path.join(OUT_DIR, 'widget-anticaptcha.png') });
    await page.close();

    // The createTask error answer, read by the core: a rejected key, checks paused.
    createTask.set({ errorCode: 'ERROR_KEY_DOES_NOT_EXIST' });
    const rejected = await open(widget('provider="anticaptcha"'));
    await waitState(rejected, 'error');
    assert.equal((await rejected.evaluate(() => window.__events)).at(-1).detail.error, 'key_not_found');
    await rejected.close();

    // CapSolver keys are not 32 hex characters: the provider's key format applies.
    createTask.reset();
    const solver = await open(`<captchaai-balance endpoint="${createTask.url}" api-key="${CAP_KEY}" provider="capsolver"></captchaai-balance>`);
    const s = await waitState(solver, 'ok');
    assert.match(s.balance, /12\.3456/);
    assert.deepEqual(createTask.keysSeen(), [CAP_KEY]);
    await solver.close();
  });

  test('control: without provider (captchaai) the createTask host is asked the 2captcha way and gives no balance; a bad provider is an attribute error', async () => {
    createTask.reset();
    const page = await open(`<captchaai-balance endpoint="${createTask.url}" api-key="${KEY}"></captchaai-balance>`);
    const w = await waitState(page, 'error');
    assert.equal(w.balance, '—');
    assert.equal(createTask.balanceRequests(), 0, 'no POST /getBalance was sent');
    await page.close();

    const bad = await open(`<captchaai-balance endpoint="${createTask.url}" api-key="${KEY}" provider="nope"></captchaai-balance>`);
    const b = await waitState(bad, 'error');
    assert.match(b.error, /provider: /);
    assert.equal((await bad.evaluate(() => window.__events)).at(-1).detail.error, 'invalid_settings');
    assert.equal(createTask.balanceRequests(), 0);
    await bad.close();
  });

  test('low, empty (zero and ERROR_ZERO_BALANCE): state attribute and red level colour', async () => {
    for (const [scenario, state, extra] of [
      ['low', 'low', {}],
      ['zero', 'empty', {}],
      ['error_zero_balance', 'empty', {}],
    ]) {
      mock.reset();
      mock.setScenario({ scenario, ...extra });
      const page = await open(direct('threshold="1.00"'));
      const w = await waitState(page, state);
      assert.ok(w.level, `${scenario}: level text shown`);
      const colour = await page.evaluate(() => getComputedStyle(document.querySelector('captchaai-balance').shadowRoot.querySelector('[part=container]')).borderLeftColor);
      assert.equal(colour, 'rgb(220, 38, 38)', `${scenario}: red #dc2626`);
      const last = (await page.evaluate(() => window.__events)).at(-1).detail;
      assert.equal(last.level, state);
      await page.close();
    }
  });

  test('error: a rejected key shows the cause and the fix, state=error, event carries the code', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'key_not_found' });
    const page = await open(direct());
    const w = await waitState(page, 'error');
    assert.ok(w.error && w.error.length > 20, `error text shown: ${w.error}`);
    const parts = await page.evaluate(() => {
      const root = document.querySelector('captchaai-balance').shadowRoot;
      return [...root.querySelectorAll('[part=error] :is(.message, .cause, .fix)')].filter((p) => !p.hidden).length;
    });
    assert.equal(parts, 3, 'message, cause and fix');
    assert.match(w.error, pattern`Latest check failed at ${CLOCK}; checks are paused\.`);
    await page.locator('captchaai-balance').screenshot({ path: path.join(OUT_DIR, 'widget-error.png') });
    const last = (await page.evaluate(() => window.__events)).at(-1).detail;
    assert.deepEqual(last, { balance: null, balanceText: null, level: 'unknown', status: 'error', levelText: null, stale: false, error: 'key_not_found', message: 'Key not found', runwaySeconds: null, spendPerHour: null, threads: null, workingThreads: null });
    await page.close();
  });

  test('a rejected key re-enabled at the provider: nothing automatic asks it again, Refresh once the floor allows', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'wrong_key' });
    const page = await open(direct('interval="60"'));
    let w = await waitState(page, 'error');
    assert.equal(mock.balanceRequests(), 1);
    mock.setScenario({ scenario: 'ok', balance: '12.345' });
    // Within the floor a press counts down and sends nothing; then it may try once more.
    assert.equal(w.refresh, 'Refresh');
    await page.locator('captchaai-balance').locator('[part=refresh]').click();
    w = await until(async () => {
      const r = await readWidget(page);
      return /^You can check again in \d+ s$/.test(r.refresh) ? r : null;
    }, 'the countdown after a press within the floor');
    assert.equal(w.refreshDisabled, true);
    assert.equal(mock.balanceRequests(), 1, 'a press within the floor sent a request');
    await page.clock.fastForward(5 * 61_000);
    w = await until(async () => {
      const r = await readWidget(page);
      return r.refresh === 'Refresh' ? r : null;
    }, 'Refresh enabled after the floor');
    assert.equal(w.refreshDisabled, false, 'Refresh is disabled for a rejected key');
    assert.equal(mock.balanceRequests(), 1, 'the widget retried a rejected key by itself');
    await page.locator('captchaai-balance').locator('[part=refresh]').click();
    w = await waitState(page, 'ok');
    assert.match(w.balance, /12\.345/);
    assert.equal(mock.balanceRequests(), 2, 'Refresh sent no request, or more than one');
    await page.close();
  });

  test('a thread plan: every thread busy in amber, no active plan in red, the money untouched', async () => {
    mock.reset();
    // The card: green while only the threads are busy (a warning, in the amber line); red for
    // no active plan, which stops every job as an empty balance does, never a green "No active plan".
    for (const [scenario, words, capacity, border] of [['saturated', 'All 10 threads busy', 'all_busy', 'rgb(21, 128, 61)'], ['expired', 'No active plan', 'no_plan', 'rgb(220, 38, 38)']]) {
      mock.setScenario({ scenario });
      const page = await open(direct());
      const w = await until(async () => {
        const r = await readWidget(page);
        return r?.threads ? r : null;
      }, `the threads line (${scenario})`);
      assert.equal(w.threads, words);
      assert.match(w.balance, /12\.3450/);
      const shown = await page.evaluate(() => document.querySelector('captchaai-balance').shadowRoot.querySelector('[part=threads]').dataset.capacity);
      assert.equal(shown, capacity);
      const colour = await page.evaluate(() => getComputedStyle(document.querySelector('captchaai-balance').shadowRoot.querySelector('[part=container]')).borderLeftColor);
      assert.equal(colour, border, scenario);
      const detail = (await page.evaluate(() => window.__events)).at(-1).detail;
      assert.deepEqual([detail.level, detail.status], ['ok', scenario === 'expired' ? 'plan_expired' : 'ok'], 'the event tells a page the plan needs someone');
      await page.locator('captchaai-balance').screenshot({ path: path.join(OUT_DIR, `widget-threads-${scenario}.png`) });
      await page.close();
    }
  });

  test('stale: an HTML 502 after a good reading keeps the balance and marks it stale', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok', balance: '7.5' });
    const page = await open(direct('interval="60"'));
    await waitState(page, 'ok');
    mock.setScenario({ scenario: 'html_502' });
    await page.clock.fastForward(61_000);
    const w = await until(async () => {
      const r = await readWidget(page);
      return r.stale ? r : null;
    }, 'stale marking');
    assert.equal(w.state, 'ok', 'a stale good reading keeps its level');
    assert.match(w.balance, /7\.5/);
    assert.ok(w.error, 'the error is explained');
    // One story: when the balance was read, that the latest check failed, an amber warning.
    assert.match(w.meta, pattern`^Balance read ${CLOCK}, 1 min ago`);
    assert.match(w.error, pattern`Latest check failed at ${CLOCK}; next check at ${CLOCK}\.`);
    assert.match(w.errorClass, /\bwarning\b/);
    assert.equal(w.level, 'OK · out of date');
    const colour = await page.evaluate(() => getComputedStyle(document.querySelector('captchaai-balance').shadowRoot.querySelector('[part=container]')).borderLeftColor);
    assert.equal(colour, 'rgb(180, 83, 9)', 'the badge table\'s amber for a stale reading');
    assert.ok(!w.html.includes('Bad Gateway'), 'the HTML body is not shown');
    const last = (await page.evaluate(() => window.__events)).at(-1).detail;
    assert.equal(last.stale, true);
    assert.equal(last.balance, '7.5');
    assert.ok(last.error, 'error code present');
    assert.equal(mock.balanceRequests(), 2);
    await page.close();
  });

  test('markup in the balance field stays text: no element created, shown as malformed', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'markup' });
    const page = await open(direct());
    const w = await waitState(page, 'error');
    const imgs = await page.evaluate(() => document.querySelectorAll('img').length
      + document.querySelector('captchaai-balance').shadowRoot.querySelectorAll('img').length);
    assert.equal(imgs, 0, 'no <img> element anywhere');
    assert.ok(!page.__dialogs, 'no script ran');
    assert.ok(!/<img/i.test(w.html), 'no raw markup inside the shadow DOM');
    const last = (await page.evaluate(() => window.__events)).at(-1).detail;
    assert.equal(last.error, 'malformed');
    await page.close();
  });

  test('a balance sent as a JSON number is read', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'number', balance: '3.25' });
    const page = await open(direct());
    const w = await waitState(page, 'ok');
    assert.match(w.balance, /3\.25/);
    await page.close();
  });

  test('two widgets with the same endpoint and key share one request; another key does not', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok', balance: '4.00' });
    const page = await open(`${direct('id="a" threshold="1"')}${direct('id="b" threshold="10" compact')}`);
    await waitState(page, 'ok', '#a');
    await waitState(page, 'low', '#b');
    await new Promise((r) => setTimeout(r, 300)); // nothing else in flight
    assert.equal(mock.balanceRequests(), 1, 'one request for two widgets');
    await page.close();

    mock.reset();
    const page2 = await open(`${direct('id="a"')}<captchaai-balance id="c" endpoint="${mock.url}" api-key="${KEY_B}"></captchaai-balance>`);
    await waitState(page2, 'ok', '#a');
    await waitState(page2, 'ok', '#c');
    assert.equal(mock.balanceRequests(), 2, 'different keys: one request each');
    await page2.close();
  });

  test('attribute changes keep the reading and the request floor: one request, the balance stays', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok', balance: '12.345' });
    const page = await open(direct('id="w" threshold="1"'));
    await waitState(page, 'ok');
    assert.equal(mock.balanceRequests(), 1);
    // A host page re-rendering its settings: language and threshold change several times.
    const changes = [['lang', 'id'], ['threshold', '20'], ['lang', 'en'], ['threshold', '5'], ['lang', 'id'], ['threshold', 'oops'], ['threshold', '20']];
    for (const [name, value] of changes) {
      await page.evaluate(([n, v]) => document.querySelector('#w').setAttribute(n, v), [name, value]);
      await new Promise((r) => setTimeout(r, 150));
    }
    const w = await waitState(page, 'low'); // threshold 20 applied to the reading it had
    assert.match(w.balance, /12,345/, 'Indonesian, and still the balance it read');
    await new Promise((r) => setTimeout(r, 500)); // nothing else in flight
    assert.equal(mock.balanceRequests(), 1, 'an attribute change does not ask the API again within the floor');
    await page.close();
  });

  test('hidden page: no polling; visible again: an immediate check, then polling resumes', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok' });
    const page = await open(direct('interval="60"'));
    await waitState(page, 'ok');
    assert.equal(mock.balanceRequests(), 1);
    // Control: while visible, the interval does poll.
    await page.clock.fastForward(61_000);
    await until(() => mock.balanceRequests() === 2, 'a poll after 61 s');

    const setHidden = (hidden) => page.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    await setHidden(true);
    for (let i = 0; i < 5; i++) await page.clock.fastForward(61_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mock.balanceRequests(), 2, 'no request while hidden');

    await setHidden(false);
    await until(() => mock.balanceRequests() === 3, 'an immediate check when visible again');
    await page.clock.fastForward(61_000);
    await until(() => mock.balanceRequests() === 4, 'polling resumed');
    await page.close();
  });

  test('the full key never appears in the page (DOM, text, events, console); apiKey reads masked', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok' });
    const consoleStart = browser.consoleMessages.length;
    const page = await open(direct('id="k"'));
    await waitState(page, 'ok');
    const found = await page.evaluate((key) => {
      const el = document.querySelector('captchaai-balance');
      const attrs = [...el.attributes].filter((a) => a.name !== 'api-key').map((a) => a.value).join(' ');
      return {
        shadow: el.shadowRoot.innerHTML.includes(key),
        text: document.body.innerText.includes(key),
        attrs: attrs.includes(key),
        events: JSON.stringify(window.__events).includes(key),
        masked: el.apiKey,
      };
    }, KEY);
    assert.deepEqual({ ...found, masked: undefined }, { shadow: false, text: false, attrs: false, events: false, masked: undefined });
    assert.ok(!found.masked.includes(KEY) && found.masked.length > 0, `apiKey is masked: ${found.masked}`);
    assert.ok(!browser.consoleMessages.slice(consoleStart).some((m) => m.includes(KEY)), 'key not in the console');
    await page.close();
  });

  test('invalid attributes: the localized validation error is shown inside the widget', async () => {
    mock.reset();
    const page = await open(direct('threshold="lots"'));
    const w = await waitState(page, 'error');
    assert.ok(w.error && w.error.length > 10, `validation error shown: ${w.error}`);
    const last = (await page.evaluate(() => window.__events)).at(-1).detail;
    assert.equal(last.error, 'invalid_settings');
    assert.equal(mock.balanceRequests(), 0, 'nothing fetched with invalid settings');
    await page.close();

    const page2 = await open(direct('interval="5"'));
    const w2 = await waitState(page2, 'error');
    assert.match(w2.error, /60/);
    await page2.close();
  });

  test('themable: --cab-* custom properties and ::part reach inside the shadow DOM', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok' });
    const page = await open(`<style>
      captchaai-balance { --cab-ok: rgb(1, 2, 3); --cab-bg: rgb(250, 240, 230); }
      captchaai-balance::part(balance) { color: rgb(9, 8, 7); }
    </style>${direct()}`);
    await waitState(page, 'ok');
    const look = await page.evaluate(() => {
      const root = document.querySelector('captchaai-balance').shadowRoot;
      const card = getComputedStyle(root.querySelector('[part=container]'));
      return { level: card.borderLeftColor, bg: card.backgroundColor, balance: getComputedStyle(root.querySelector('[part=balance]')).color };
    });
    assert.deepEqual(look, { level: 'rgb(1, 2, 3)', bg: 'rgb(250, 240, 230)', balance: 'rgb(9, 8, 7)' });
    await page.close();
  });

  test('Indonesian: lang="id" on the page localizes the widget', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok' });
    const en = await open(direct());
    const wEn = await waitState(en, 'ok');
    const id = await open(direct(), { lang: 'id' });
    const wId = await waitState(id, 'ok');
    await id.emulateMedia({ colorScheme: 'dark' });
    await id.locator('captchaai-balance').screenshot({ path: path.join(OUT_DIR, 'widget-id-dark.png') });
    assert.notEqual(wId.refresh, wEn.refresh, 'refresh label differs');
    assert.notEqual(wId.level, wEn.level, 'level text differs');
    // The core decides what a tag means: the legacy `in` is Indonesian there, so here too.
    const legacy = await open(direct('lang="in"'));
    const wIn = await waitState(legacy, 'ok');
    assert.equal(wIn.level, wId.level);
    assert.match(wIn.balance, /^\$12,3450$/, 'Indonesian decimal separator');
    await legacy.close();
    await en.close();
    await id.close();
  });

  test('text catalogs: each language downloaded once per page, only when asked; a missing one falls back to English', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok' });
    const catalogs = () => web.requests().filter((p) => p.includes('/messages/'));
    web.clearRequests();
    const page = await open(`${direct('id="a"')}${direct('id="b"')}`, { lang: 'id' });
    await waitState(page, 'ok', '#a');
    const b = await waitState(page, 'ok', '#b');
    assert.equal(b.level, 'Aman');
    assert.deepEqual(catalogs(), ['/ok/messages/id.json'], 'two Indonesian widgets, one catalog, no English');
    // A widget switched to English fetches that catalog then; the other keeps Indonesian.
    await page.evaluate(() => document.querySelector('#b').setAttribute('lang', 'en'));
    await until(async () => (await readWidget(page, '#b')).level === 'OK', 'English level text');
    assert.equal((await readWidget(page, '#a')).level, 'Aman');
    assert.deepEqual(catalogs(), ['/ok/messages/id.json', '/ok/messages/en.json']);
    await page.close();

    web.clearRequests();
    const broken = await open(direct(), { prefix: 'no-id-text', lang: 'id' });
    const w = await waitState(broken, 'ok');
    assert.equal(w.level, 'OK', 'English sentences, not keys or blanks');
    assert.match(w.balance, /^\$12,3450$/, 'numbers keep the Indonesian format: the core still knows the language');
    assert.deepEqual(catalogs(), ['/no-id-text/messages/id.json', '/no-id-text/messages/en.json']);
    await broken.close();
  });

  test('Refresh is never silent: a plain Refresh on loading, a countdown after a press within the floor, spinner while the request is out', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'slow', delayMs: 1500 });
    const page = await open(direct());
    const busy = await until(async () => {
      const r = await readWidget(page);
      return r.busy ? r : null;
    }, 'spinner while the request is out');
    assert.match(busy.refresh, /^Checking…$/);
    assert.equal(busy.refreshDisabled, true);
    const w = await waitState(page, 'ok');
    // The page does not greet the visitor with a disabled countdown …
    assert.equal(w.refresh, 'Refresh');
    assert.equal(w.refreshDisabled, false);
    // … a press within the floor sends nothing and says how long until one can.
    await page.locator('captchaai-balance').locator('[part=refresh]').click();
    const pressed = await until(async () => {
      const r = await readWidget(page);
      return /^You can check again in (60|59|58) s$/.test(r.refresh) ? r : null;
    }, 'the countdown after a press');
    assert.equal(pressed.refreshDisabled, true);
    await page.locator('captchaai-balance').screenshot({ path: path.join(OUT_DIR, 'widget-countdown.png') });
    // A press while counting down sends nothing either.
    await page.locator('captchaai-balance').locator('[part=refresh]').click({ force: true });
    await page.clock.fastForward(20_000);
    const later = await until(async () => {
      const r = await readWidget(page);
      return /in (40|39|38) s/.test(r.refresh) ? r : null;
    }, 'the countdown near 40 s');
    assert.equal(later.refreshDisabled, true);
    assert.equal(mock.balanceRequests(), 1);
    await page.clock.fastForward(41_000);
    const ready = await until(async () => {
      const r = await readWidget(page);
      return r.refresh === 'Refresh' ? r : null;
    }, 'Refresh enabled after the floor');
    assert.equal(ready.refreshDisabled, false);
    await page.close();
  });

  test('CSS in one constructable stylesheet; the quantity field shows 50000000 whole; counts grouped', async () => {
    mock.reset();
    mock.setScenario({ scenario: 'ok', balance: '12.345' });
    const page = await open(`${direct('id="a"')}${direct('id="b" compact')}`);
    await waitState(page, 'ok', '#a');
    const sheets = await page.evaluate(() => [...document.querySelectorAll('captchaai-balance')].map((el) => ({
      adopted: el.shadowRoot.adoptedStyleSheets.length,
      styleElements: el.shadowRoot.querySelectorAll('style').length,
    })));
    assert.deepEqual(sheets, [{ adopted: 1, styleElements: 0 }, { adopted: 1, styleElements: 0 }]);
    assert.ok(await page.evaluate(() => {
      const [a, b] = document.querySelectorAll('captchaai-balance');
      return a.shadowRoot.adoptedStyleSheets[0] === b.shadowRoot.adoptedStyleSheets[0];
    }), 'one sheet shared by every widget');
    const qty = page.locator('#a').locator('[part=estimate] input');
    await qty.fill('50000000');
    const fits = await qty.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(fits.scroll <= fits.client, `quantity field cuts 50000000: ${JSON.stringify(fits)}`);
    await qty.fill('1000');
    const w = await readWidget(page, '#a');
    assert.match(w.estimate, /4,115 solves/);
    await page.close();
  });

  for (const [prefix, lang, pattern] of [
    ['missing', 'en', /HTTP 404/],
    ['html-wasm', 'en', /application\/wasm/],
    ['csp', 'en', /wasm-unsafe-eval/],
    ['missing', 'id', /Widget saldo tidak dapat berjalan/],
  ]) {
    test(`WASM load failure (${prefix}, ${lang}) is told to the site owner inside the widget`, async () => {
      const page = await open(direct(), { prefix, lang, clock: false });
      const w = await waitState(page, 'error');
      assert.match(w.error, pattern);
      const last = (await page.evaluate(() => window.__events)).at(-1).detail;
      assert.equal(last.error, 'wasm_load');
      if (prefix === 'csp' && lang === 'en') {
        await page.screenshot({ path: path.join(OUT_DIR, 'widget-load-failure-csp.png') });
      }
      await page.close();
    });
  }
});

describe('widget, demo page against the Rust server in mock mode', { skip: !hasDist && 'dist/www missing: run `make build` first' }, () => {
  let browser;
  let server;
  let base;
  let control;
  let upstream;

  before(async () => {
    server = await startServer({ wwwDir: WWW });
    ({ base, control, upstream } = server);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function openDemo(colorScheme = 'light', { clock = false } = {}) {
    const page = await browser.context.newPage();
    await recordEvents(page);
    // Timers set before install stay real: install the fake clock before the page loads.
    if (clock) await page.clock.install();
    await page.emulateMedia({ colorScheme });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${base}/`);
    return page;
  }

  // First in this suite on purpose: the tests below change production's balance, and a reset
  // after them reads as a top-up that restarts the forecast's window.
  test('demo page: the production widget (no `account`) shows a runway line and a sparkline right after load, from /v1/history', async () => {
    const page = await browser.context.newPage();
    const asked = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname === '/v1/history') asked.push(r.url()); });
    await page.goto(`${base}/`);
    const w = await until(() => page.evaluate(() => {
      const root = document.querySelector('#prod-balance').shadowRoot;
      const runway = root.querySelector('.runway');
      const svg = root.querySelector('.sparkline');
      const shown = !svg.hasAttribute('hidden') && getComputedStyle(svg).display !== 'none';
      return runway && !runway.hidden && shown ? {
        runway: runway.textContent,
        note: runway.classList.contains('note'),
        points: svg.querySelector('polyline').getAttribute('points').split(' ').length,
      } : null;
    }), 'the runway line and the sparkline of #prod-balance');
    // Figures depend on the mock's clock; what matters is a runway, not "Not enough history yet".
    assert.match(w.runway, /^Empty in about /);
    assert.equal(w.note, false);
    assert.ok(w.points > 10, `${w.points} points: the server's day, not the widget's one reading`);
    // Both widgets of the page (same endpoint) asked once between them.
    assert.equal(asked.length, 1, asked.join(' '));
    await page.close();
  });

  test('demo page: both widgets read the server, one request for both, the page reacts to the event', async (t) => {
    await control('/mock/reset');
    await control('/mock/scenario', { scenario: 'ok', balance: '12.5', drainPerMinute: 0 });
    const before = await upstream();
    const page = await openDemo();
    const prod = await waitState(page, 'ok', '#prod-balance');
    const staging = await waitState(page, 'low', '#compact-balance');
    assert.match(prod.balance, /12\.5/);
    assert.match(staging.balance, /12\.5/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await upstream() - before, 1, 'two widgets, one request');
    const pill = await page.textContent('#funds-pill');
    assert.match(pill, /12\.5/);
    // One clock style on the page: the event log writes times as the widgets do (24-hour),
    // though the browser's locale (en-US here) would write "07:17:34 PM".
    const times = await page.evaluate(() => ({
      log: document.querySelector('#events li')?.textContent ?? '',
      widget: document.querySelector('#prod-balance').shadowRoot.textContent,
    }));
    assert.match(times.log, /^\d{2}:\d{2}:\d{2} \w/, times.log);
    assert.doesNotMatch(times.log, /\b[AP]M\b/, times.log);
    const read = times.widget.match(/Balance read (\d{2}):\d{2}/);
    assert.ok(read, times.widget);
    assert.equal(times.log.slice(0, 2), read[1], 'the same hour in the same style');
    await page.close();
  });

  test('demo page: each state through the server, stale after HTML 502; screenshots light and dark', async (t) => {
    // A rejected key hides nothing known: the server's last reading (empty, from the step
    // before) stays on screen, out of date, beside the error.
    for (const [scenario, state] of [['zero', 'empty'], ['wrong_key', 'empty'], ['low', 'low']]) {
      await control('/mock/reset');
      await control('/mock/scenario', { scenario });
      const page = await openDemo();
      const w = await waitState(page, state, '#prod-balance');
      if (scenario === 'wrong_key') {
        await until(async () => (await readWidget(page, '#prod-balance')).error, 'the error beside the last reading');
        Object.assign(w, await readWidget(page, '#prod-balance'));
        assert.equal(w.stale, true);
        assert.match(w.balance, /0\.0000/);
        // Server mode: the key is the server's, so the fix points there, not at "settings".
        assert.match(w.fix, /CAPTCHAAI_API_KEY/);
        assert.doesNotMatch(w.fix, /settings/);
        // Automatic checks are paused; Refresh stays offered (the key may be corrected on the
        // server, and the user may then try once more, within the request floor).
        assert.match(w.error, /checks are paused/);
        assert.equal(w.refresh, 'Refresh');
        assert.equal(w.refreshDisabled, false);
      }
      await page.close();
    }

    await control('/mock/reset');
    await control('/mock/scenario', { scenario: 'ok', balance: '12.5', drainPerMinute: 0 });
    for (const scheme of ['light', 'dark']) {
      const page = await openDemo(scheme);
      await waitState(page, 'ok', '#prod-balance');
      await waitState(page, 'low', '#compact-balance');
      await page.screenshot({ path: path.join(OUT_DIR, `widget-demo-${scheme}.png`), fullPage: true });
      await page.locator('#prod-balance').screenshot({ path: path.join(OUT_DIR, `widget-${scheme}.png`) });
      await page.close();
    }

    const page = await openDemo('light', { clock: true });
    await waitState(page, 'ok', '#prod-balance');
    await control('/mock/scenario', { scenario: 'html_502' });
    await page.clock.fastForward(301_000);
    await until(async () => (await readWidget(page, '#prod-balance')).stale, 'stale marking');
    const w = await readWidget(page, '#prod-balance');
    assert.equal(w.state, 'ok');
    assert.match(w.balance, /12\.5/);
    await page.locator('#prod-balance').screenshot({ path: path.join(OUT_DIR, 'widget-stale.png') });
    await page.close();
  });

  test('account attribute: a server account of another provider through /accounts/NAME/res.php; an unknown name is an error', async () => {
    await control('/mock/reset?account=staging');
    await control('/mock/scenario?account=staging', { scenario: 'ok', balance: '3.5', drainPerMinute: 0 });
    await control('/mock/reset');
    const before = { staging: await upstream('staging'), production: await upstream() };
    const page = await browser.context.newPage();
    await recordEvents(page);
    // A host page on the server's origin (the server itself serves only dist/www).
    await page.route(`${base}/account-test.html`, (route) => route.fulfill({
      contentType: 'text/html',
      body: hostPage(`<captchaai-balance id="s" account="staging" threshold="10"></captchaai-balance>
        <captchaai-balance id="s2" account="staging" threshold="1" compact></captchaai-balance>
        <captchaai-balance id="x" account="nobody"></captchaai-balance>
        <captchaai-balance id="s3" account="staging"></captchaai-balance>`),
    }));
    await page.goto(`${base}/account-test.html`);
    const s = await waitState(page, 'low', '#s');
    assert.match(s.balance, /^\$3\.5000$/);
    await waitState(page, 'ok', '#s2');
    await waitState(page, 'error', '#x');
    // Without a threshold attribute a server account uses the server's (10 for staging), so the
    // widget and /v1/accounts agree that $3.50 is low.
    await waitState(page, 'low', '#s3');
    const listed = await (await fetch(`${base}/v1/accounts/staging`)).json();
    assert.equal(listed.level, 'low');
    const x = await readWidget(page, '#x');
    assert.match(x.error ?? '', /No such account/, 'an unknown name says so, not "unexpected answer"');
    const title = await page.evaluate(() => document.querySelector('#s').shadowRoot.querySelector('.title').textContent);
    assert.equal(title, 'staging balance');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await upstream('staging') - before.staging, 1, 'two widgets of one account: one request');
    assert.equal(await upstream() - before.production, 0, 'the default account was not asked');
    await page.locator('#s').screenshot({ path: path.join(OUT_DIR, 'widget-account.png') });
    await page.close();
  });

  test('demo page: the admin view shows one widget per server account with the server\'s level', async () => {
    for (const account of ['production', 'staging', 'backup', 'archive']) await control(`/mock/reset?account=${account}`);
    await control('/mock/scenario', { scenario: 'ok', balance: '12.5', drainPerMinute: 0 });
    const page = await openDemo();
    const list = await (await fetch(`${base}/v1/accounts`)).json();
    const want = { production: 'ok', staging: 'low', backup: 'ok', archive: 'error' };
    assert.deepEqual(
      Object.fromEntries(list.accounts.map((a) => [a.name, a.error ? 'error' : a.level])),
      want,
      'the server\'s levels',
    );
    for (const [name, state] of Object.entries(want)) await waitState(page, state, `#account-${name}`);
    const ids = await page.evaluate(() => [...document.querySelectorAll('#accounts captchaai-balance')].map((w) => w.id));
    assert.deepEqual(ids, ['account-production', 'account-staging', 'account-backup', 'account-archive']);
    const archive = await readWidget(page, '#account-archive');
    assert.match(archive.fix, /server/, 'the key is the server\'s: the fix says so');
    await page.locator('#accounts-panel').screenshot({ path: path.join(OUT_DIR, 'demo-accounts.png') });
    await page.screenshot({ path: path.join(OUT_DIR, 'demo-accounts-page.png'), fullPage: true });
    await page.close();
  });

  test('demo page: a mock CaptchaAI plan\'s threads in the production widget and the admin view, saturated and expired in words; screenshots', async () => {
    for (const account of ['production', 'staging', 'backup', 'archive']) await control(`/mock/reset?account=${account}`);
    // The widget's thread line (its shadow DOM) and the admin view's line under `production`.
    const threads = (page) => page.evaluate(() => {
      const line = document.querySelector('#prod-balance').shadowRoot.querySelector('[part=threads]');
      const admin = document.querySelector('#threads-production');
      return line && !line.hidden && admin && !admin.hidden && admin.textContent ? {
        widget: line.querySelector('.text').textContent,
        capacity: line.dataset.capacity,
        admin: admin.textContent,
        others: [...document.querySelectorAll('#accounts .threads')].map((p) => p.id),
      } : null;
    });
    for (const [scenario, widget, capacity] of [
      ['ok', /^\d of 10 threads busy$/, 'free'],
      ['saturated', /^All 10 threads busy$/, 'all_busy'],
      ['expired', /^No active plan$/, 'no_plan'],
    ]) {
      await control('/mock/scenario', { scenario, balance: '24.5', drainPerMinute: 0 });
      const page = await openDemo();
      const prod = await waitState(page, 'ok', '#prod-balance');
      // The money is untouched whatever the plan: the balance and its level stand.
      assert.match(prod.balance, /24\.5/, scenario);
      const t = await until(() => threads(page), `${scenario}: the thread lines`);
      assert.match(t.widget, widget, scenario);
      assert.equal(t.capacity, capacity, scenario);
      // The admin view says the same in the server's words (never a count code such as all_busy).
      assert.match(t.admin, widget, scenario);
      assert.doesNotMatch(t.admin, /_|threads=|working/, scenario);
      assert.deepEqual(t.others, ['threads-production'], 'only the CaptchaAI account has a thread line');
      // The widget's event carries the counts too.
      const want = scenario === 'expired' ? 0 : 10;
      await until(() => page.evaluate((n) => window.__events.some((e) => e.id === 'prod-balance' && e.detail.threads === n), want), `${scenario}: the event's threads`);
      // The header pill reads the event's status: no active plan is red like no money, never
      // a green "No active plan"; busy threads leave the money's green.
      const status = scenario === 'expired' ? 'plan_expired' : 'ok';
      await until(() => page.evaluate(() => document.querySelector('#funds-pill').dataset.status).then((s) => s === status), `${scenario}: the pill's status`);
      const pill = await page.evaluate(() => getComputedStyle(document.querySelector('#funds-pill')).backgroundColor);
      assert.equal(pill, scenario === 'expired' ? 'rgb(185, 28, 28)' : 'rgb(22, 101, 52)', scenario);
      await page.screenshot({ path: path.join(OUT_DIR, `demo-threads-${scenario}.png`), fullPage: true });
      await page.close();
    }
    await control('/mock/reset');
  });

  test('demo page at 375 px: no horizontal scrolling; the header pill shows words, never a raw code; an outage shows the server\'s last reading out of date', async () => {
    await control('/mock/reset');
    await control('/mock/scenario', { scenario: 'server_error' });
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${base}/`);
    // A fresh page during an outage: the server's last good reading (its history), out of date,
    // as the extension that read it shows it, not "check failed".
    await until(() => page.textContent('#funds-pill').then((t) => /out of date$/.test(t)), 'the pill out of date');
    const pill = await page.textContent('#funds-pill');
    assert.doesNotMatch(pill, /server_error|Check failed/);
    assert.match(pill, /^Captcha funds: \$\d[\d,]*\.\d{4} · (OK|Low · below \$5\.0000) · out of date$/);
    assert.equal(await page.getAttribute('#funds-pill', 'data-stale'), 'true');
    assert.doesNotMatch(await page.textContent('main'), /\[[a-z_]+\]|Provider: [a-z]/, 'no raw code on the page');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `the page is ${width} px wide at 375`);
    await page.close();

    await control('/mock/scenario', { scenario: 'ok', balance: '12.5', drainPerMinute: 0 });
    const ok = await browser.context.newPage();
    await ok.setViewportSize({ width: 375, height: 812 });
    await ok.goto(`${base}/`);
    await waitState(ok, 'ok', '#prod-balance');
    assert.equal(await ok.textContent('#funds-pill'), 'Captcha funds: $12.5000 · OK');
    // The page's own event log and hints use the widget's number format, never "$12.5".
    const log = await ok.textContent('#events');
    assert.match(log, /production: \$12\.5000 · OK/);
    assert.doesNotMatch(log, /\$12\.5(?!0)/);
    assert.doesNotMatch(await ok.textContent('main'), /\$\d+\.\d{2}(?!\d)/, 'two-decimal amounts on the page');
    assert.ok(await ok.evaluate(() => document.documentElement.scrollWidth) <= 375);
    await ok.screenshot({ path: path.join(OUT_DIR, 'demo-375.png'), fullPage: true });
    await ok.close();
  });
});
