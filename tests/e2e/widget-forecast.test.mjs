// The <captchaai-balance> widget's forecast in Debian's Chromium: the runway line under the
// balance, the 24 h sparkline of the `history` attribute (toggled live), the `balancechange`
// detail's runwaySeconds and spendPerHour, the balance shown before a slow history, and the seeding of a server account's history from
// `GET {endpoint}/v1/accounts/NAME/history`, or without `account` the default account's from
// `GET {endpoint}/v1/history` (a 404 or an unreadable answer is ignored; never in direct mode).
//
// The server here is this file's own: dist/www and the host pages, plus the answers of
// captchaai-balance-server the widget uses in `account` mode (`/accounts/NAME/res.php`,
// `/v1/accounts/NAME`, `/v1/accounts/NAME/history`) and without it (`/res.php`,
// `/v1/history`, each under a path prefix standing for one server), so it tests the widget's
// side of that contract alone. Needs `make build` first (dist/www).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOCK, OUT_DIR, launch, pattern, until } from './lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WWW = path.resolve(process.env.CAB_WWW_DIR ?? path.join(ROOT, 'dist', 'www'));
const MIME = { '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The server: `balances[name]` is what `/accounts/NAME/res.php` answers (2captcha shape);
 * `histories[name]` is `{ status, type, body, delayMs? }` for `/v1/accounts/NAME/history` (404
 * when absent; sent `delayMs` late); `defaults[prefix]` is `{ balance, history? }` for `/PREFIX/res.php` and
 * `/PREFIX/v1/history` (a server at `endpoint="/PREFIX"`: its default account); pages are
 * registered with `page(name, html)`; `requests()` lists the paths asked.
 */
async function startFakeServer() {
  const balances = {};
  const histories = {};
  const defaults = {};
  const pages = new Map();
  let requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname);
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    const json = (status, value) => send(status, 'application/json', JSON.stringify(value));
    let m = url.pathname.match(/^\/accounts\/([^/]+)\/res\.php$/);
    if (m) {
      const balance = balances[decodeURIComponent(m[1])];
      return balance == null
        ? json(404, { status: 0, request: 'ERROR_NO_SUCH_ACCOUNT' })
        : json(200, { status: 1, request: balance });
    }
    m = url.pathname.match(/^\/([^/]+)\/res\.php$/);
    if (m && defaults[m[1]]) return json(200, { status: 1, request: defaults[m[1]].balance });
    m = url.pathname.match(/^\/([^/]+)\/v1\/history$/);
    if (m && defaults[m[1]]) {
      const answer = defaults[m[1]].history;
      return answer ? send(answer.status, answer.type, answer.body) : json(404, { error: 'not found' });
    }
    m = url.pathname.match(/^\/v1\/accounts\/([^/]+)\/history$/);
    if (m) {
      const answer = histories[decodeURIComponent(m[1])];
      if (!answer) return json(404, { error: 'no such account' });
      return setTimeout(() => send(answer.status, answer.type, answer.body), answer.delayMs ?? 0);
    }
    if (url.pathname.startsWith('/v1/')) return json(404, { error: 'no such account' });
    const file = url.pathname.slice(1);
    if (pages.has(file)) return send(200, 'text/html; charset=utf-8', pages.get(file));
    const full = path.join(WWW, path.normalize(file));
    if (!full.startsWith(WWW) || !fs.existsSync(full) || !fs.statSync(full).isFile()) return send(404, 'text/plain', 'not found');
    send(200, MIME[path.extname(full)] ?? 'application/octet-stream', fs.readFileSync(full));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    balances,
    histories,
    defaults,
    page: (name, html) => pages.set(`${name}.html`, html),
    requests: () => [...requests],
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** Units of $0.0001 as a decimal string. */
const decimal = (units) => `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, '0')}`;

/**
 * The server's answer for a steady drain: one reading every 10 minutes over `hours`, the last
 * `endAgoMs` before now at `endUnits`, `perStep` units spent per step; oldest first.
 */
function drainAnswer(name, { hours, endUnits, perStep, endAgoMs }) {
  const end = Date.now() - endAgoMs;
  const points = [];
  for (let i = hours * 6; i >= 0; i -= 1) points.push({ at: end - i * 10 * MINUTE, balance: decimal(endUnits + i * perStep) });
  return { status: 200, type: 'application/json', body: JSON.stringify({ account: name, provider: 'captchaai', points }) };
}

function hostPage(body, lang = 'en') {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
<script type="module" src="./captchaai-balance.js"></script>
<style>body{font:14px system-ui;margin:16px;display:grid;gap:12px;max-width:420px}</style>
<script>
  window.__events = [];
  document.addEventListener('balancechange', (e) => window.__events.push({ id: e.target.id, detail: e.detail }));
</script>
</head><body>${body}</body></html>`;
}

/** What the test reads from one widget. */
function readWidget(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    const root = el.shadowRoot;
    const svg = root.querySelector('.sparkline');
    const runway = root.querySelector('.runway');
    return {
      state: el.getAttribute('state'),
      balance: root.querySelector('[part=balance]').textContent,
      runway: runway.hidden ? null : runway.textContent,
      runwayIsNote: runway.classList.contains('note'),
      sparkline: svg.hasAttribute('hidden') || getComputedStyle(svg).display === 'none' ? null : {
        points: svg.querySelector('polyline').getAttribute('points'),
        label: svg.getAttribute('aria-label'),
        title: svg.querySelector('title').textContent,
        viewBox: svg.getAttribute('viewBox'),
        height: svg.getBoundingClientRect().height,
      },
      detail: window.__events.filter((e) => e.id === el.id).at(-1)?.detail ?? null,
    };
  }, selector);
}

const hasDist = fs.existsSync(path.join(WWW, 'captchaai-balance.js'));

describe('widget forecast', { skip: !hasDist && 'dist/www missing: run `make build` first' }, () => {
  let server;
  let browser;
  let n = 0;
  before(async () => {
    server = await startFakeServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(body, lang) {
    const name = `f${n++}`;
    server.page(name, hostPage(body, lang));
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/${name}.html`);
    return page;
  }

  test('a server account starts from the server\'s history: runway line, 24 h sparkline, runwaySeconds and spendPerHour', async () => {
    // A day at $0.60 an hour, the last reading a minute ago at $10.50; the widget reads $10.49.
    server.balances.production = '10.49';
    server.histories.production = drainAnswer('production', { hours: 24, endUnits: 105_000, perStep: 1_000, endAgoMs: MINUTE });
    const page = await open(`<captchaai-balance id="w" account="production" threshold="1" history></captchaai-balance>
      <captchaai-balance id="c" account="production" threshold="1" compact></captchaai-balance>`);
    const w = await until(async () => {
      const r = await readWidget(page, '#w');
      return r.runway?.startsWith('Empty') && r.sparkline ? r : null;
    }, 'the runway and the sparkline');
    assert.equal(w.state, 'ok');
    assert.match(w.runway, pattern`^Empty in about 17 h 2\d min, around ${CLOCK} · Below the threshold in about 15 h [45]\d min$`);
    assert.equal(w.runwayIsNote, false);
    assert.equal(w.sparkline.viewBox, '0 0 100 30');
    assert.match(w.sparkline.label, /^Balance over the last 24 h: from \$2\d\.\d{4} to \$10\.4900, lowest \$10\.4900$/);
    assert.equal(w.sparkline.title, w.sparkline.label);
    const points = w.sparkline.points.split(' ');
    // The server's day (a reading every 10 minutes) and the widget's reading, thinned to at
    // most one point per unit of width.
    assert.ok(points.length >= 60 && points.length <= 101, `${points.length} points: the server's day and the widget's reading`);
    const [x, y] = points.at(-1).split(',').map(Number);
    assert.ok(x >= 99.5 && y === 30, `${points.at(-1)}: now, at the lowest balance`);
    assert.ok(w.sparkline.height >= 25, `the sparkline is ${w.sparkline.height} px high`);
    // The event: the runway in seconds (a number), the spend as the core's exact decimal.
    assert.equal(typeof w.detail.runwaySeconds, 'number');
    assert.ok(w.detail.runwaySeconds > 17 * 3600 && w.detail.runwaySeconds < 18 * 3600, `${w.detail.runwaySeconds} s`);
    assert.equal(w.detail.spendPerHour, '0.6');
    // Both widgets of the account asked the server's history once between them.
    assert.equal(server.requests().filter((p) => p === '/v1/accounts/production/history').length, 1);
    // A compact widget shows neither line nor sparkline, but its event carries the figures.
    const c = await readWidget(page, '#c');
    assert.equal(c.sparkline, null);
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#c').shadowRoot.querySelector('.forecast')).display), 'none');
    assert.equal(c.detail.spendPerHour, '0.6');
    await page.locator('#w').screenshot({ path: path.join(OUT_DIR, 'widget-history.png') });

    // `history` toggles live: off, the runway line stays; on again, the sparkline is back.
    await page.evaluate(() => document.querySelector('#w').removeAttribute('history'));
    const off = await readWidget(page, '#w');
    assert.equal(off.sparkline, null);
    assert.match(off.runway, /^Empty in about/);
    await page.evaluate(() => document.querySelector('#w').setAttribute('history', ''));
    assert.ok((await readWidget(page, '#w')).sparkline, 'the sparkline is back');
    assert.equal(server.requests().filter((p) => p.endsWith('/history')).length, 1, 'toggling asked nothing again');
  });

  test('the balance first: shown and announced before a slow history arrives, without a "not enough history" line meanwhile; then the runway', async () => {
    server.balances.slow = '10.49';
    server.histories.slow = { ...drainAnswer('slow', { hours: 24, endUnits: 105_000, perStep: 1_000, endAgoMs: MINUTE }), delayMs: 1_500 };
    const page = await open('<captchaai-balance id="w" account="slow" threshold="1" history></captchaai-balance>');
    const first = await until(async () => {
      const r = await readWidget(page, '#w');
      return r.balance === '$10.4900' ? r : null;
    }, 'the balance');
    // The history is still on its way (1.5 s): no runway yet, and no note saying there is too
    // little history, which would be wrong a moment later.
    assert.equal(first.state, 'ok');
    assert.equal(first.runway, null);
    assert.equal(first.detail.balance, '10.49');
    assert.equal(first.detail.runwaySeconds, null);
    await page.locator('#w').screenshot({ path: path.join(OUT_DIR, 'widget-balance-first.png') });
    const w = await until(async () => {
      const r = await readWidget(page, '#w');
      return r.runway?.startsWith('Empty') ? r : null;
    }, 'the runway once the history is in');
    assert.equal(typeof w.detail.runwaySeconds, 'number');
    assert.equal(w.detail.spendPerHour, '0.6');
    // Two events for the one check: the balance, then the same balance with its forecast.
    const events = await page.evaluate(() => window.__events.filter((e) => e.id === 'w' && e.detail.balance).map((e) => e.detail));
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.equal(events[0].runwaySeconds, null);
    assert.equal(events[1].balance, '10.49');
    assert.equal(server.requests().filter((p) => p === '/v1/accounts/slow/history').length, 1);
  });

  test('in Indonesian: the runway line and the sparkline\'s text in its words', async () => {
    server.balances.jakarta = '10.49';
    server.histories.jakarta = drainAnswer('jakarta', { hours: 24, endUnits: 105_000, perStep: 1_000, endAgoMs: MINUTE });
    const page = await open('<captchaai-balance id="w" account="jakarta" threshold="1" history></captchaai-balance>', 'id');
    const w = await until(async () => {
      const r = await readWidget(page, '#w');
      return r.runway?.startsWith('Habis') && r.sparkline ? r : null;
    }, 'the Indonesian runway');
    assert.match(w.runway, /^Habis dalam sekitar 17 jam/);
    assert.match(w.sparkline.label, /^Saldo selama 24 jam terakhir: dari \$2\d,\d{4} ke \$10,4900/);
    assert.equal(w.detail.spendPerHour, '0.6', 'the detail is data, not localized');
    await page.locator('#w').screenshot({ path: path.join(OUT_DIR, 'widget-history-id.png') });
  });

  test('a 404 or an unreadable history answer is ignored: the widget starts from its own readings', async () => {
    Object.assign(server.balances, { none: '7.5', html: '7.5', nolist: '7.5', direct: '7.5' });
    server.histories.html = { status: 200, type: 'text/html', body: '<!doctype html><p>Not here</p>' };
    server.histories.nolist = { status: 200, type: 'application/json', body: '{"account":"nolist","points":"all of them"}' };
    const page = await open(['none', 'html', 'nolist'].map((name) => `<captchaai-balance id="${name}" account="${name}" threshold="1" history></captchaai-balance>`).join('\n'));
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    for (const id of ['#none', '#html', '#nolist']) {
      const w = await until(async () => {
        const r = await readWidget(page, id);
        return r.state === 'ok' && r.runway ? r : null;
      }, `${id} with its own reading`);
      assert.equal(w.balance, '$7.5000', id);
      assert.match(w.runway, /^Not enough history yet/, id);
      assert.equal(w.runwayIsNote, true);
      assert.equal(w.sparkline, null, `${id}: one reading draws nothing`);
      assert.equal(w.detail.runwaySeconds, null);
      assert.equal(w.detail.spendPerHour, null);
    }
    for (const name of ['none', 'html', 'nolist']) {
      assert.equal(server.requests().filter((p) => p === `/v1/accounts/${name}/history`).length, 1, name);
    }
    assert.deepEqual(errors, []);
  });

  test('server mode without `account` starts from the default account\'s history at {endpoint}/v1/history; never in direct mode', async () => {
    const day = (name) => drainAnswer(name, { hours: 24, endUnits: 105_000, perStep: 1_000, endAgoMs: MINUTE });
    server.defaults.fleet = { balance: '10.49', history: day('production') };
    server.defaults.gone = { balance: '7.5' };
    server.defaults.page = { balance: '7.5', history: { status: 200, type: 'text/html', body: '<!doctype html><p>Not here</p>' } };
    // A history the direct-mode widget would show if it asked (the provider has no such route).
    server.defaults.direct = { balance: '7.5', history: day('direct') };
    const page = await open(`<captchaai-balance id="w" endpoint="/fleet" threshold="1" history></captchaai-balance>
      <captchaai-balance id="c" endpoint="/fleet" threshold="3" compact></captchaai-balance>
      <captchaai-balance id="gone" endpoint="/gone" threshold="1" history></captchaai-balance>
      <captchaai-balance id="page" endpoint="/page" threshold="1" history></captchaai-balance>
      <captchaai-balance id="direct" endpoint="/direct" api-key="0123456789abcdef0123456789abcdef" threshold="1" history></captchaai-balance>`);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const w = await until(async () => {
      const r = await readWidget(page, '#w');
      return r.runway?.startsWith('Empty') && r.sparkline ? r : null;
    }, 'the runway and the sparkline from /fleet/v1/history');
    assert.equal(w.state, 'ok');
    assert.match(w.runway, /^Empty in about 17 h 2\d min/);
    assert.match(w.sparkline.label, /^Balance over the last 24 h: from \$2\d\.\d{4} to \$10\.4900/);
    assert.equal(w.detail.spendPerHour, '0.6');
    const c = await until(async () => {
      const r = await readWidget(page, '#c');
      return r.detail?.spendPerHour ? r : null;
    }, 'the compact widget\'s figures');
    assert.equal(c.detail.spendPerHour, '0.6');
    assert.equal(server.requests().filter((p) => p === '/fleet/v1/history').length, 1, 'one request for both widgets');

    for (const id of ['#gone', '#page', '#direct']) {
      const r = await until(async () => {
        const got = await readWidget(page, id);
        return got.state === 'ok' && got.runway ? got : null;
      }, `${id} with its own reading`);
      assert.equal(r.balance, '$7.5000', id);
      assert.match(r.runway, /^Not enough history yet/, id);
      assert.equal(r.sparkline, null, id);
      assert.equal(r.detail.spendPerHour, null, id);
    }
    assert.equal(server.requests().filter((p) => p === '/gone/v1/history').length, 1);
    assert.equal(server.requests().filter((p) => p === '/page/v1/history').length, 1);
    // Direct mode asks the provider for the balance and nothing else.
    assert.deepEqual([...new Set(server.requests().filter((p) => p.startsWith('/direct/')))], ['/direct/res.php']);
    assert.deepEqual(errors, []);
  });
});
