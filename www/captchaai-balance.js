/**
 * `<captchaai-balance>`: an embeddable captcha-service balance readout for admin pages.
 *
 * The element is only the browser front: every decision (level, colour, texts, staleness, when
 * to poll, cost estimate) comes from the Rust/WASM module next to this file
 * (`captchaai_balance.js` + `captchaai_balance_bg.wasm`), the same module the extension uses, so
 * both always agree. The module is loaded lazily, once per page, when the first widget connects.
 * It carries no text: the sentences of each language a widget shows come from
 * `messages/<lang>.json` next to this file, fetched once per language per page
 * (docs/ARCHITECTURE.md, "Text catalogs").
 *
 * Modes:
 * - server mode (recommended): `endpoint` is a same-origin server (see server/) that holds the
 *   key; no `api-key` attribute. Without `endpoint` and `api-key` the page origin is used.
 *   `account="NAME"` reads one account of captchaai-balance-server, whatever its provider:
 *   the widget asks `{endpoint}/accounts/NAME/res.php`, which answers in the 2captcha shape
 *   (with `account`, `provider` and `api-key` are not used: the server holds both).
 * - direct mode (quick trial): `api-key` set, `provider` (default `captchaai`; the provider ids
 *   of the core's table) picks the protocol and the default endpoint (the provider's own host);
 *   2captcha-family requests carry `header_acao=1` so the API answers with CORS headers.
 *
 * Attributes: endpoint, api-key, provider, account, threshold, interval (seconds, >= 60),
 * lang (en|id), compact, history (a sparkline of the last 24 h; toggles live).
 * Shows under the balance the core's runway line ("Empty in about 2 d 5 h, around Sun 03:10")
 * or why there is none yet. In server mode it seeds its history once at start from the
 * server's `GET {endpoint}/v1/accounts/NAME/history` (with `account`) or `GET
 * {endpoint}/v1/history` (the default account's, without it) through the core's
 * `mergeHistory`; a 404 or an answer it cannot read leaves it with its own readings. Never in
 * direct mode: the provider has no such route.
 * Reflects: `state` = loading | ok | low | empty | error (the core's `view.state`).
 * Fires: `balancechange` (bubbles, composed), detail
 * `{ balance, balanceText, level, levelText, stale, error, message, runwaySeconds, spendPerHour }`
 * (texts localized by the core; `runwaySeconds` a number or null, `spendPerHour` an exact
 * decimal string or null, both from the core's forecast).
 *
 * Text from the server never reaches innerHTML: everything variable is set with textContent.
 * The api key is never copied into the DOM, an attribute, an event or the console.
 *
 * The check itself (plan -> begin -> fetch -> observe) is the extension's shared cycle,
 * `check-cycle.js` next to this file; the state and the per-account request sharing stay here.
 *
 * Exports `CaptchaaiBalance` (the element, defined on import) and `setAssets`. Every file it
 * loads is named statically, relative to this file, so bundlers find them (`assets` below;
 * types in captchaai-balance.d.ts; esbuild users import `esbuild.js` instead).
 */
const TAG = 'captchaai-balance';
const DEFAULT_PROVIDER = 'captchaai';
/** What a server account is asked as: captchaai-balance-server answers the 2captcha shape. */
const SERVER_ACCOUNT_PROVIDER = 'custom-2captcha';
/** Settings field (core) -> the attribute that feeds it, to say which attribute is wrong. */
const ATTRIBUTE_OF_FIELD = {
  apiKey: 'api-key', endpoint: 'endpoint', provider: 'provider', name: 'account', threshold: 'threshold', intervalSeconds: 'interval',
};
/** How often the relative time ("updated 2 min ago") is re-rendered. */
const RELATIVE_TIME_TICK_MS = 30_000;
const DEFAULT_ESTIMATE_QTY = 1000;

/**
 * Sentences for a WebAssembly module that failed to load. These cannot come from locales/ like
 * every other text, because locales/ reach the page through that very module (it installs the
 * catalogs); keep this table to exactly these sentences. Audience: the site owner who deployed the widget.
 */
const LOAD_FAILURE = {
  en: {
    glue: 'The balance widget cannot start: $1 could not be loaded. Deploy it next to captchaai-balance.js and serve it as JavaScript (Content-Type: text/javascript).',
    not_found: 'The balance widget cannot start: $1 answered HTTP $2. Deploy captchaai_balance_bg.wasm next to captchaai-balance.js.',
    mime: 'The balance widget cannot start: $1 was served as "$2" instead of application/wasm. Configure the web server to send .wasm files with Content-Type: application/wasm (and a 404, not an HTML page, for missing files).',
    csp: "The balance widget cannot start: this page's Content-Security-Policy does not allow WebAssembly. Add 'wasm-unsafe-eval' to the script-src directive.",
    network: "The balance widget cannot start: $1 could not be downloaded (network error or blocked by CORS). Serve it from this page's origin, or send Access-Control-Allow-Origin for it.",
    other: 'The balance widget cannot start its WebAssembly module ($1). Check the browser console.',
  },
  id: {
    glue: 'Widget saldo tidak dapat berjalan: $1 gagal dimuat. Letakkan file itu di samping captchaai-balance.js dan sajikan sebagai JavaScript (Content-Type: text/javascript).',
    not_found: 'Widget saldo tidak dapat berjalan: $1 menjawab HTTP $2. Letakkan captchaai_balance_bg.wasm di samping captchaai-balance.js.',
    mime: 'Widget saldo tidak dapat berjalan: $1 dikirim sebagai "$2", bukan application/wasm. Atur server web agar mengirim file .wasm dengan Content-Type: application/wasm (dan 404, bukan halaman HTML, untuk file yang tidak ada).',
    csp: "Widget saldo tidak dapat berjalan: Content-Security-Policy halaman ini tidak mengizinkan WebAssembly. Tambahkan 'wasm-unsafe-eval' ke direktif script-src.",
    network: 'Widget saldo tidak dapat berjalan: $1 gagal diunduh (galat jaringan atau diblokir CORS). Sajikan dari origin halaman ini, atau kirim Access-Control-Allow-Origin untuk file itu.',
    other: 'Widget saldo tidak dapat menjalankan modul WebAssembly ($1). Periksa konsol peramban.',
  },
};

/** A WASM start failure with a kind from LOAD_FAILURE and the arguments of its sentence. */
class LoadFailure extends Error {
  constructor(kind, args, cause) {
    super(`captchaai-balance: ${kind}`, { cause });
    this.kind = kind;
    this.args = args;
  }
}

/**
 * Where the element finds what it loads at run time, next to this file. Each path is a literal
 * `new URL('./…', import.meta.url)` so that a bundler which follows the pattern (Vite, webpack 5,
 * Parcel) copies the file into its output and rewrites the URL; unbundled, it is this file's
 * folder. esbuild does not follow it: `esbuild.js` (the package's `./esbuild` entry) calls
 * `setAssets` with the files it imports instead. A catalog is a function so that only the
 * languages a page shows are downloaded.
 */
const assets = {
  wasm: new URL('./captchaai_balance_bg.wasm', import.meta.url),
  catalogs: {
    en: () => fetchText(new URL('./messages/en.json', import.meta.url)),
    id: () => fetchText(new URL('./messages/id.json', import.meta.url)),
  },
};

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.href}: HTTP ${response.status}`);
  return response.text();
}

/**
 * Replace where the .wasm and the text catalogs come from, for a bundler that does not copy
 * `new URL('./…', import.meta.url)` files (the package's `./esbuild` entry uses it). Takes effect
 * for a widget that starts afterwards; the module is loaded once per page.
 * @param {{ wasm?: URL | string, catalogs?: Record<string, () => Promise<string | object>> }} given
 *   `wasm`: the .wasm's URL; `catalogs`: language -> the catalog's text (or parsed JSON)
 */
function setAssets({ wasm, catalogs } = {}) {
  if (wasm) assets.wasm = new URL(wasm, document.baseURI);
  if (catalogs) assets.catalogs = { ...assets.catalogs, ...catalogs };
}

let wasmReady = null;

/**
 * Import the glue and instantiate the module, once per page.
 * @returns {Promise<object>} the module namespace (`cab`)
 */
function loadWasm() {
  wasmReady ??= startWasm();
  return wasmReady;
}

/** The glue's name, resolved only for the load-failure sentence (a variable, not a literal, so
 * no bundler copies it as a file: the glue is bundled through the import below). */
const GLUE_FILE = './captchaai_balance.js';
/** The shared check cycle's name, for the same sentence. */
const CYCLE_FILE = './check-cycle.js';
/**
 * `runCheckCycle` of check-cycle.js, once loaded. Imported beside the glue and the .wasm rather
 * than statically: a static import would hold their downloads back by one round trip on a cold
 * load (the module body runs only once its static imports are in).
 */
let runCheckCycle = null;

async function startWasm() {
  // One microtask first: an entry that calls setAssets right after importing this module (the
  // esbuild entry) has run by then, so the asset table is the final one.
  await null;
  const wasmUrl = assets.wasm;
  // The glue and the .wasm download side by side (the time to the first balance is mostly
  // waiting). The .wasm is fetched here so a 404 or a CORS failure can be told apart from a
  // compile error.
  const glue = import('./captchaai_balance.js');
  const wasm = fetch(wasmUrl);
  const cycle = import('./check-cycle.js');
  // The .wasm compiles while its bytes arrive and while the glue and the check cycle download
  // and run, instead of after them. Only a response served as application/wasm: any other (a
  // wrong type, an error page) is handed to the glue as it is, which tells the failures apart.
  const compiled = wasm.then((response) => (response.ok && mediaType(response) === 'application/wasm'
    && typeof WebAssembly.compileStreaming === 'function'
    ? WebAssembly.compileStreaming(response)
    : response));
  // None may become an unhandled rejection while another is awaited.
  glue.catch(() => {});
  wasm.catch(() => {});
  cycle.catch(() => {});
  compiled.catch(() => {});
  let cab;
  try {
    // Literal specifiers: every bundler includes both (unbundled, they are this file's folder).
    cab = await glue;
    ({ runCheckCycle } = await cycle);
  } catch (e) {
    const file = cab ? CYCLE_FILE : GLUE_FILE;
    throw new LoadFailure('glue', [new URL(file, import.meta.url).href], e);
  }
  let response;
  try {
    response = await wasm;
  } catch (e) {
    throw new LoadFailure('network', [wasmUrl.href], e);
  }
  if (!response.ok) throw new LoadFailure('not_found', [wasmUrl.href, String(response.status)]);
  const type = mediaType(response);
  try {
    // The compiled module, or the response: the glue falls back to WebAssembly.instantiate when
    // only the MIME type is wrong, so a wrong type with real wasm bytes still works; it fails
    // when the body is not wasm (an HTML page).
    await cab.default({ module_or_path: await compiled });
  } catch (e) {
    const text = `${e?.name ?? ''} ${e?.message ?? e}`;
    if (e?.name === 'EvalError' || /content.security.policy|unsafe-eval|\bCSP\b/i.test(text)) {
      throw new LoadFailure('csp', [], e);
    }
    if (type !== 'application/wasm') throw new LoadFailure('mime', [wasmUrl.href, type || '(none)'], e);
    throw new LoadFailure('other', [e?.name ?? 'Error'], e);
  }
  return cab;
}

/** The longest wait for a frame: a page hidden meanwhile paints none. */
const PAINT_WAIT_MS = 100;

/**
 * Resolves with `value` once the browser has painted the next frame (at once on a hidden page,
 * within PAINT_WAIT_MS on one that is hidden while waiting).
 */
function afterNextPaint(value) {
  if (document.hidden) return Promise.resolve(value);
  return new Promise((resolve) => {
    // A task queued from a frame's callback runs after that frame is painted.
    requestAnimationFrame(() => setTimeout(resolve, 0, value));
    setTimeout(resolve, PAINT_WAIT_MS, value);
  });
}

/** A response's media type, lower case, without parameters ('' when absent). */
function mediaType(response) {
  return (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/** Catalog name -> Promise<boolean> (installed), so each language is fetched once per page. */
const catalogs = new Map();
/** Catalog name -> Promise of its source, fetched ahead of the module (see `prefetchCatalog`). */
const catalogSources = new Map();

/**
 * Start downloading the catalog of a language tag before the module is there to install it:
 * the module and the text arrive side by side. The tag is mapped as the core maps it
 * (`loadFailureLang`, the same rule).
 * @param {string} tag a raw language tag
 */
function prefetchCatalog(tag) {
  catalogSource(loadFailureLang(tag)).catch(() => {});
}

/** The source of a catalog (`messages/<lang>.json` next to this file), fetched once per page. */
function catalogSource(lang) {
  if (!catalogSources.has(lang)) {
    const load = assets.catalogs[lang];
    catalogSources.set(lang, Promise.resolve().then(() => {
      if (!load) throw new Error('no catalog for this language in the element\'s asset table');
      return load();
    }));
  }
  return catalogSources.get(lang);
}

/**
 * Install the catalog of `lang` into the module, once per page. A catalog that does not load is
 * reported in the console and leaves its language to English.
 * @returns {Promise<boolean>} whether it is installed
 */
function loadCatalog(cab, lang) {
  if (!catalogs.has(lang)) {
    catalogs.set(lang, catalogSource(lang)
      .then((source) => {
        const text = typeof source === 'string' ? source : JSON.stringify(source?.default ?? source);
        if (!cab.setMessages(lang, text)) throw new Error('not a text catalog');
        return true;
      })
      .catch((error) => {
        console.error(`captchaai-balance: the "${lang}" catalog did not load; its sentences fall back to English`, error);
        return false;
      }));
  }
  return catalogs.get(lang);
}

/**
 * The module with the text of a language tag installed: only that language's catalog is
 * downloaded; English (the core's fallback) only when it is the language or its catalog failed.
 * Never rejects: without any catalog the core shows message keys rather than nothing.
 * @param {object} cab the module namespace
 * @param {string} tag a raw language tag (the core maps it: `id-ID` -> `id`)
 */
async function withText(cab, tag) {
  const lang = cab.catalogLang(tag);
  if (!(await loadCatalog(cab, lang)) && lang !== 'en') await loadCatalog(cab, 'en');
  return cab;
}

/**
 * The language of the load-failure sentences only: the core normalizes every other `lang`
 * (pass it the raw tag), but these sentences are needed exactly when the core did not load.
 * Same rule as the core's `Lang::from_tag`: `id`, `id-ID` and the legacy `in` are Indonesian.
 */
function loadFailureLang(tag) {
  const primary = String(tag ?? '').trim().split(/[-_]/)[0].toLowerCase();
  return primary === 'id' || primary === 'in' ? 'id' : 'en';
}

/**
 * Widgets showing the same account share one request: the first one that needs a reading
 * starts it, every subscribed widget folds the outcome into its own state (those that asked
 * too, through their own check cycle; the others when it arrives).
 * Keyed by the core's account id (provider family, endpoint and key, hashed), in memory only.
 * The server's history of the account (`serverHistory`) is shared the same way: one request
 * per check, whichever widget starts it.
 * @type {Map<string, { widgets: Set<CaptchaaiBalance>, inflight: Promise<object> | null, joined: Set<CaptchaaiBalance>, history: Promise<object[] | null> | null }>}
 */
const accounts = new Map();

/**
 * A server account's low-balance threshold, as the server's `/v1/accounts/{name}` says (the
 * same threshold its level uses), fetched once per page per account; null when unknown.
 * @type {Map<string, Promise<string | null>>}
 */
const serverThresholds = new Map();

function serverThreshold(accountEndpoint) {
  const url = accountEndpoint.replace(/\/accounts\/([^/]+)$/, '/v1/accounts/$1');
  let known = serverThresholds.get(url);
  if (!known) {
    known = fetch(url, { cache: 'no-store', credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((a) => (typeof a?.threshold === 'string' ? a.threshold : null))
      .catch(() => null);
    serverThresholds.set(url, known);
  }
  return known;
}

function accountOf(key) {
  let account = accounts.get(key);
  if (!account) {
    account = { widgets: new Set(), inflight: null, joined: new Set(), history: null };
    accounts.set(key, account);
  }
  return account;
}

/** The widget's CSS, adopted by every shadow root (one parsed sheet per page). */
const CSS = `
  :host {
    --_bg: var(--cab-bg, #ffffff);
    --_fg: var(--cab-fg, #111827);
    --_muted: var(--cab-muted, #4b5563);
    --_border: var(--cab-border, #d1d5db);
    --_accent: var(--cab-accent, #1d4ed8);
    --_error-bg: var(--cab-error-bg, #fef2f2);
    --_error-fg: var(--cab-error-fg, #991b1b);
    --_warning-bg: var(--cab-warning-bg, #fffbeb);
    --_warning-fg: var(--cab-warning-fg, #92400e);
    display: inline-block;
    box-sizing: border-box;
    min-width: 16rem;
    max-width: 100%;
    font: var(--cab-font, 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    color: var(--_fg);
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_bg: var(--cab-bg, #111827);
      --_fg: var(--cab-fg, #f3f4f6);
      --_muted: var(--cab-muted, #9ca3af);
      --_border: var(--cab-border, #374151);
      --_accent: var(--cab-accent, #93c5fd);
      --_error-bg: var(--cab-error-bg, #3b0d0d);
      --_error-fg: var(--cab-error-fg, #fecaca);
      --_warning-bg: var(--cab-warning-bg, #2a2110);
      --_warning-fg: var(--cab-warning-fg, #fcd34d);
    }
  }
  :host([hidden]) { display: none; }
  :host([compact]) { min-width: 0; }
  * { box-sizing: border-box; }
  .card {
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-left: 6px solid var(--_level, var(--_border));
    border-radius: var(--cab-radius, 8px);
    padding: .75rem .9rem;
    display: grid;
    gap: .4rem;
  }
  :host([compact]) .card { display: flex; flex-wrap: wrap; align-items: center; gap: .6rem; padding: .35rem .6rem; }
  :host([compact]) .head { order: 2; margin-left: auto; }
  /* A countdown label is long: the button moves under the title rather than squeezing it. */
  .head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .4rem .5rem; }
  .refresh { white-space: nowrap; margin-left: auto; }
  .title { font-weight: 600; color: var(--_muted); font-size: .85em; text-transform: uppercase; letter-spacing: .04em; }
  .readout { display: flex; align-items: baseline; flex-wrap: wrap; gap: .25rem .6rem; }
  .balance { font-size: 1.9em; font-weight: 700; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
  :host([compact]) .balance { font-size: 1.1em; }
  .level {
    display: inline-flex; align-items: center; gap: .35rem;
    padding: .05rem .5rem; border-radius: 999px;
    border: 1px solid var(--_level, var(--_border));
    font-size: .85em; font-weight: 600; white-space: nowrap;
  }
  .level::before {
    content: ""; width: .6em; height: .6em; border-radius: 50%;
    background: var(--_level, var(--_border)); flex: none;
  }
  .card.stale .balance { opacity: .65; }
  .card.stale .level { border-style: dashed; }
  .meta { color: var(--_muted); font-size: .85em; }
  /* The runway line under the balance, and the sparkline (the core's 100 x 30 box stretched). */
  .forecast { display: grid; gap: .25rem; }
  .sparkline { display: block; width: 100%; height: 2.4em; overflow: visible; }
  .sparkline polyline {
    stroke: var(--_level, var(--_accent)); stroke-width: 2; stroke-linejoin: round; stroke-linecap: round;
    vector-effect: non-scaling-stroke;
  }
  .runway { margin: 0; font-size: .9em; font-weight: 600; }
  .runway.note { font-weight: 400; color: var(--_muted); font-size: .85em; }
  :host([compact]) .forecast { display: none; }
  /* A thread plan's capacity (CaptchaAI): amber with every thread busy, red without a plan. */
  .threads { margin: 0; font-size: .85em; font-weight: 600; }
  .threads[data-capacity="all_busy"] { color: var(--_warning-fg); }
  .threads[data-capacity="no_plan"] { color: var(--_error-fg); }
  .threads .share { display: block; font-weight: 400; color: var(--_muted); }
  :host([compact]) .threads .share { display: none; }
  .error {
    background: var(--_error-bg); color: var(--_error-fg);
    border-radius: 6px; padding: .45rem .6rem; font-size: .9em;
  }
  .error p { margin: 0; }
  .error .message { font-weight: 600; }
  .error .failed { font-size: .9em; }
  /* A failed check while the last good balance is shown: a warning, not an empty account. */
  .error.warning { background: var(--_warning-bg); color: var(--_warning-fg); }
  .error .label { font-weight: 600; }
  :host([compact]) .error { padding: .1rem .4rem; }
  :host([compact]) .error .detail, :host([compact]) .meta, :host([compact]) .estimate,
  :host([compact]) .title { display: none; }
  .estimate { display: flex; flex-wrap: wrap; align-items: end; gap: .4rem .6rem; font-size: .85em; border-top: 1px solid var(--_border); padding-top: .5rem; }
  .estimate label { display: grid; gap: .1rem; color: var(--_muted); }
  .estimate select, .estimate input {
    font: inherit; color: var(--_fg); background: var(--_bg);
    border: 1px solid var(--_border); border-radius: 4px; padding: .15rem .3rem;
  }
  /* Wide enough for the largest quantity the core accepts ("100000000") next to the spinner. */
  .estimate input { width: 11ch; min-width: 11ch; box-sizing: content-box; font-variant-numeric: tabular-nums; }
  .estimate output { flex: 1 1 12rem; color: var(--_fg); }
  button {
    font: inherit; font-size: .85em; cursor: pointer;
    color: var(--_accent); background: transparent;
    border: 1px solid currentColor; border-radius: 6px; padding: .2rem .7rem;
  }
  button:hover { background: color-mix(in srgb, currentColor 10%, transparent); }
  button:focus-visible, select:focus-visible, input:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
  button[disabled], button[aria-disabled="true"] { opacity: .6; cursor: not-allowed; }
  button[data-busy="true"] { cursor: progress; }
  .spinner { display: none; }
  button[data-busy="true"] .spinner {
    display: inline-block; width: .8em; height: .8em; margin-right: .35em; vertical-align: -.1em;
    border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%;
    animation: cab-spin .8s linear infinite;
  }
  @keyframes cab-spin { to { transform: rotate(360deg); } }
  [hidden] { display: none !important; }
`;

let sheet = null;

/** @returns {CSSStyleSheet} */
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

/** The structure is static: nothing here comes from the server or an attribute. */
const TEMPLATE = `
<div class="card" part="container">
  <div class="head">
    <span class="title"></span>
    <button type="button" part="refresh" class="refresh"><span class="spinner" aria-hidden="true"></span><span class="refresh-text"></span></button>
  </div>
  <div class="status" role="status" aria-live="polite" aria-atomic="true">
    <div class="readout">
      <span class="balance" part="balance"></span>
      <span class="level" part="level"></span>
    </div>
    <div class="error" part="error" hidden>
      <p class="failed" hidden></p>
      <p class="message"></p>
      <p class="detail cause"><span class="label"></span> <span class="text"></span></p>
      <p class="detail fix"><span class="label"></span> <span class="text"></span></p>
    </div>
  </div>
  <div class="forecast" part="forecast" hidden>
    <svg class="sparkline" part="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" focusable="false" hidden><title></title><polyline fill="none" points=""></polyline></svg>
    <p class="runway" part="runway"></p>
  </div>
  <p class="threads" part="threads" hidden><span class="text"></span><span class="share"></span></p>
  <div class="meta"></div>
  <form class="estimate" part="estimate" hidden>
    <label><span class="type-label"></span><select name="type"></select></label>
    <label><span class="qty-label"></span><input name="qty" type="number" min="1" step="1" inputmode="numeric"></label>
    <output aria-live="polite"></output>
  </form>
</div>`;

const CaptchaaiBalance = class extends HTMLElement {
  static observedAttributes = ['endpoint', 'api-key', 'provider', 'account', 'threshold', 'interval', 'lang', 'compact', 'history'];

  /** @type {object | null} the wasm module once loaded */
  #cab = null;
  /** @type {object | null} wasm State (settings + monitor) */
  #state = null;
  /** Localized attribute errors, or a load failure sentence; shown instead of a reading. */
  #configError = null;
  /** The core's id of the one account this widget shows (shared-request key and API argument). */
  #account = null;
  #direct = false;
  #pollTimer = 0;
  #tickTimer = 0;
  /** Re-renders once a second while the Refresh button counts down. */
  #countdownTimer = 0;
  /**
   * The visitor pressed Refresh: a press that could send nothing (the request floor, a
   * back-off) then shows the core's countdown until one can. Until pressed, a freshly loaded
   * page reads "Refresh", never a disabled countdown.
   */
  #pressed = false;
  #lastDetail = '';
  /** The state held while the attributes are invalid (`#state` is null then). */
  #parked = null;
  #apiKeyProperty = null;
  /** The provider label of the title, for one provider id and language. */
  #titleOf = null;
  #pending = false;
  /**
   * The server's history for this check is on its way: the core's "not enough history yet"
   * would be true only for the moment until it is merged, so it is not shown meanwhile.
   */
  #historyPending = false;
  /** Why a Refresh did not fetch, until the next reading. */
  #note = '';
  #els;
  #onVisibility = () => this.#visibilityChanged();

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [styleSheet()];
    root.innerHTML = TEMPLATE;
    const $ = (sel) => root.querySelector(sel);
    this.#els = {
      card: $('.card'),
      title: $('.title'),
      refresh: $('.refresh'),
      refreshText: $('.refresh-text'),
      status: $('.status'),
      balance: $('.balance'),
      level: $('.level'),
      error: $('.error'),
      failed: $('.error .failed'),
      errorMessage: $('.error .message'),
      causeLabel: $('.error .cause .label'),
      causeText: $('.error .cause .text'),
      fixLabel: $('.error .fix .label'),
      fixText: $('.error .fix .text'),
      meta: $('.meta'),
      forecast: $('.forecast'),
      sparkline: $('.sparkline'),
      sparkTitle: $('.sparkline title'),
      sparkLine: $('.sparkline polyline'),
      runway: $('.runway'),
      threads: $('.threads'),
      threadsText: $('.threads .text'),
      threadsShare: $('.threads .share'),
      estimate: $('.estimate'),
      typeLabel: $('.type-label'),
      qtyLabel: $('.qty-label'),
      type: $('.estimate select'),
      qty: $('.estimate input'),
      output: $('.estimate output'),
    };
    this.#els.qty.value = String(DEFAULT_ESTIMATE_QTY);
    this.#els.refresh.addEventListener('click', () => {
      if (this.#els.refresh.getAttribute('aria-disabled') === 'true') return;
      this.#pressed = true;
      this.refresh();
    });
    this.#els.estimate.addEventListener('input', () => this.#renderEstimate());
    this.#els.estimate.addEventListener('submit', (e) => e.preventDefault());
  }

  /**
   * The key as a property, for host pages that prefer not to put it in an attribute.
   * Write-only in effect: reading it returns the masked form.
   */
  set apiKey(value) {
    this.#apiKeyProperty = value == null ? null : String(value);
    if (this.isConnected) this.#configure();
  }

  get apiKey() {
    const key = this.#rawKey();
    if (!key) return '';
    return this.#cab ? this.#cab.maskKey(key) : '…';
  }

  /** Ask for a fresh reading now (what the Refresh button does). */
  refresh() {
    return this.#check('refresh');
  }

  connectedCallback() {
    document.addEventListener('visibilitychange', this.#onVisibility);
    if (!this.#state) this.#setState('loading');
    this.#renderLoading();
    const loading = loadWasm();
    // After loadWasm's first microtask has read the asset table (an entry's setAssets included).
    queueMicrotask(() => queueMicrotask(() => prefetchCatalog(this.#lang())));
    loading.then((cab) => withText(cab, this.#lang())).then(
      (cab) => {
        if (!this.isConnected) return;
        this.#cab = cab;
        this.#configure();
      },
      (err) => {
        if (!this.isConnected) return;
        this.#showLoadFailure(err);
      },
    );
  }

  disconnectedCallback() {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#stopTimers();
    this.#leaveAccount();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.#cab || !this.isConnected) return;
    if (name === 'compact') return;
    // Only what is drawn changes: the state and the polling stay.
    if (name === 'history') {
      this.#render();
      return;
    }
    if (name === 'lang') {
      // A new language may need its catalog first; the wait is one fetch, once per page.
      withText(this.#cab, this.#lang()).then(() => {
        if (this.isConnected) this.#configure();
      });
      return;
    }
    this.#configure();
  }

  // ---- configuration -------------------------------------------------------------------------

  /** The raw language tag; the core decides what it means (`in` and `id-ID` are Indonesian). */
  #lang() {
    return this.getAttribute('lang') || document.documentElement.lang || navigator.language || 'en';
  }

  #rawKey() {
    return (this.#apiKeyProperty ?? this.getAttribute('api-key') ?? '').trim();
  }

  /** `account`, trimmed ('' when absent): a server account name means server mode. */
  #serverAccount() {
    return (this.getAttribute('account') ?? '').trim();
  }

  /**
   * Resolve `endpoint` against the page (so "/" means this origin) and drop a trailing slash.
   * Absent: the page's origin in server mode, '' in direct mode (the core then uses the
   * provider's own host).
   */
  #endpoint(direct) {
    const attr = this.getAttribute('endpoint');
    if (attr == null || attr.trim() === '') return direct ? '' : location.origin;
    try {
      return new URL(attr.trim(), location.href).href.replace(/\/+$/, '');
    } catch {
      return attr.trim(); // let the core's validation word the error
    }
  }

  /**
   * The account fields for the core: server account (`account`), direct mode (`api-key`) or
   * server mode on the endpoint itself.
   */
  #accountInput() {
    const name = this.#serverAccount();
    if (name) {
      // The name goes into the path as one segment; the server checks it against its list.
      return {
        name,
        provider: SERVER_ACCOUNT_PROVIDER,
        apiKey: '',
        endpoint: `${this.#endpoint(false)}/accounts/${encodeURIComponent(name)}`,
      };
    }
    const key = this.#rawKey();
    const provider = (this.getAttribute('provider') ?? '').trim() || DEFAULT_PROVIDER;
    return { provider, apiKey: key, endpoint: this.#endpoint(key !== '') };
  }

  #t(key, ...args) {
    return this.#cab.message(this.#lang(), key, args.map(String));
  }

  #configure() {
    const cab = this.#cab;
    const lang = this.#lang();
    const input = this.#accountInput();
    const errors = [];
    // Attributes the host did not set keep the core's defaults (threshold 1.00, 10 minutes).
    const threshold = this.getAttribute('threshold');
    if (threshold != null && threshold.trim() !== '') input.threshold = threshold.trim();
    const interval = this.getAttribute('interval');
    if (interval != null && interval.trim() !== '') input.intervalSeconds = interval.trim();

    // Any attribute change (or a re-connect) applies to the state we have: the core keeps the
    // reading, alert memory and request floor for the same account, and per-key request times
    // across accounts, so the plan below decides whether to ask the API again.
    const result = cab.applySettings(this.#state ?? this.#parked ?? cab.loadState(null), input, lang);
    if (!result.ok) {
      // "interval: …": the core words the problem, the attribute name tells which one.
      for (const [field, sentence] of Object.entries(result.errors ?? {})) {
        errors.push(`${ATTRIBUTE_OF_FIELD[field] ?? field}: ${sentence}`);
      }
    }

    this.#stopTimers();
    this.#leaveAccount();
    this.#lastDetail = '';
    if (errors.length) {
      // Shown as invalid until fixed, but the request times stay for the next valid settings.
      this.#parked = this.#state ?? this.#parked;
      this.#state = null;
      this.#configError = { code: 'invalid_settings', message: this.#t('widget_invalid_attributes'), details: errors };
      this.#render();
      return;
    }
    this.#configError = null;
    this.#parked = null;
    this.#state = result.state;
    this.#direct = input.apiKey !== '';
    // One account per widget (applySettings without `accounts` edits the first).
    this.#account = cab.view(result.state, Date.now(), lang).accounts[0].id;
    accountOf(this.#account).widgets.add(this);
    this.#render();
    this.#check('open');
    this.#startTick();
    // A server account without a threshold attribute is low where the server says it is.
    if (this.#serverAccount() && !threshold?.trim()) this.#adoptServerThreshold(input.endpoint);
  }

  async #adoptServerThreshold(endpoint) {
    const value = await serverThreshold(endpoint);
    const current = this.#accountInput();
    if (value == null || !this.#state || current.endpoint !== endpoint || this.getAttribute('threshold')?.trim()) return;
    const result = this.#cab.applySettings(this.#state, { threshold: value }, this.#lang());
    if (!result.ok) return;
    this.#state = result.state;
    this.#render();
  }

  #leaveAccount() {
    if (!this.#account) return;
    const account = accounts.get(this.#account);
    account?.widgets.delete(this);
    if (account && account.widgets.size === 0 && !account.inflight) accounts.delete(this.#account);
    this.#account = null;
  }

  // ---- polling -------------------------------------------------------------------------------

  /**
   * One check cycle (check-cycle.js) on this widget's in-memory state; the request itself is
   * the account's shared one.
   * @param {'open'|'alarm'|'refresh'} trigger
   */
  async #check(trigger) {
    if (!this.#state || !this.#account) return;
    const cab = this.#cab;
    const shared = accountOf(this.#account);
    let begun = false;
    const result = await runCheckCycle(cab, {
      trigger,
      lang: this.#lang(),
      // In memory, and JS runs one change at a time; a reconfigured widget has a new state
      // (the core drops an answer for other settings).
      update: (change) => {
        if (this.#state) this.#state = change(this.#state);
        // An answer folded while the check goes on is shown at once: the balance does not wait
        // for the server's history (a larger answer that takes longer to fold).
        if (begun) this.#render();
        return this.#state;
      },
      begun: () => {
        begun = true;
        this.#note = '';
        this.#pending = true;
        this.#render();
      },
      fetchOutcome: (state, account) => this.#sharedFetch(shared, state, account),
      history: (state, account) => {
        // In server mode the core asks the server (direct mode: a provider's API keeps none);
        // the widgets of one account share one request per check.
        shared.history ??= this.#cab.serverHistory(state, account).finally(() => { shared.history = null; });
        this.#historyPending = true;
        // Folded after the next paint: the history is the larger answer and takes longer to
        // fold, so a balance folded before it is on screen first. No history: nothing to wait for.
        return shared.history
          .then((points) => (points ? afterNextPaint(points) : points))
          .finally(() => { this.#historyPending = false; });
      },
    });
    if (!result.fetched) {
      // A pressed button that does nothing must say why ("checked less than a minute ago").
      this.#note = trigger === 'refresh' ? result.plan.reasonText ?? '' : '';
      if (this.#note) this.#render();
      this.#schedule(result.plan);
      return;
    }
    this.#pending = false;
    this.#render();
    if (this.#state) this.#schedule(cab.planCheck(this.#state, Date.now(), 'alarm'));
  }

  /**
   * Join (or start) the account's request; widgets that did not ask get the outcome too.
   * @param {{ widgets: Set<CaptchaaiBalance>, inflight: Promise<object> | null, joined: Set<CaptchaaiBalance> }} shared
   * @param {object} state the state to ask for
   * @param {string} account the core's account id
   */
  #sharedFetch(shared, state, account) {
    shared.joined.add(this);
    if (!shared.inflight) {
      const cab = this.#cab;
      const acao = this.#direct;
      shared.inflight = (async () => {
        const outcome = await cab.checkBalance(state, account, acao);
        shared.inflight = null;
        const now = Date.now();
        for (const widget of [...shared.widgets]) {
          if (!shared.joined.has(widget)) widget.#observe(outcome, now);
        }
        shared.joined.clear();
        return outcome;
      })();
    }
    return shared.inflight;
  }

  #observe(outcome, now) {
    if (!this.#state) return;
    const result = this.#cab.observe(this.#state, outcome, now, this.#lang());
    this.#state = result.state;
    this.#pending = false;
    this.#render();
    this.#schedule(this.#cab.planCheck(this.#state, now, 'alarm'));
  }

  /**
   * Arm the poll timer for the core's next check time: the interval (seconds) after the last
   * request, later on backoff, never (null) for a key the API rejected (only Refresh asks it again).
   */
  #schedule(plan) {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = 0;
    if (!this.isConnected || document.hidden || !this.#state || plan?.nextCheckAt == null) return;
    // At least a second: a plan that is due "now" but did not fetch must not spin.
    const delay = Math.max(1000, plan.nextCheckAt - Date.now());
    this.#pollTimer = setTimeout(() => this.#check('alarm'), delay);
  }

  #startTick() {
    clearInterval(this.#tickTimer);
    this.#tickTimer = document.hidden ? 0 : setInterval(() => this.#render(), RELATIVE_TIME_TICK_MS);
  }

  #stopTimers() {
    clearTimeout(this.#pollTimer);
    clearInterval(this.#tickTimer);
    clearTimeout(this.#countdownTimer);
    this.#pollTimer = 0;
    this.#tickTimer = 0;
    this.#countdownTimer = 0;
  }

  #visibilityChanged() {
    if (!this.#state) return;
    if (document.hidden) {
      this.#stopTimers();
      return;
    }
    this.#render();
    this.#startTick();
    // Back on screen: check at once. As an 'alarm' the core fetches when the interval passed
    // while hidden, and otherwise re-arms the timer; backoff and rejected keys still apply.
    this.#check('alarm');
  }

  // ---- rendering -----------------------------------------------------------------------------

  #setState(value) {
    if (this.getAttribute('state') !== value) this.setAttribute('state', value);
  }

  #emit(detail) {
    const json = JSON.stringify(detail);
    if (json === this.#lastDetail) return;
    this.#lastDetail = json;
    this.dispatchEvent(new CustomEvent('balancechange', { bubbles: true, composed: true, detail }));
  }

  #renderLoading() {
    const e = this.#els;
    // Before the module is here no locale table exists yet: a neutral ellipsis, no words.
    e.balance.textContent = '…';
    e.title.textContent = this.#serverAccount() || '…';
    e.refreshText.textContent = '…';
    e.refresh.disabled = true;
    e.status.setAttribute('aria-busy', 'true');
  }

  #showLoadFailure(err) {
    const kind = err instanceof LoadFailure ? err.kind : 'other';
    const args = err instanceof LoadFailure ? err.args : [String(err?.name ?? 'Error')];
    const table = LOAD_FAILURE[loadFailureLang(this.#lang())];
    const sentence = table[kind].replace(/\$(\d)/g, (_, i) => args[Number(i) - 1] ?? '');
    console.error('captchaai-balance:', sentence, err?.cause ?? err);
    this.#paintNoReading({ message: sentence }, 'wasm_load');
    this.#els.refresh.hidden = true;
  }

  /**
   * The one error painter: `null` hides the box; otherwise its message, optional cause and fix,
   * the line about the failed check, and its severity (`warning` keeps the reading on screen).
   * @param {{ message: string, cause?: string, fix?: string, failed?: string | null, severity?: string } | null} err
   */
  #paintError(err) {
    const e = this.#els;
    e.error.hidden = !err;
    if (!err) return;
    e.error.classList.toggle('warning', err.severity === 'warning');
    e.failed.hidden = !err.failed;
    e.failed.textContent = err.failed ?? '';
    e.errorMessage.textContent = err.message;
    e.causeLabel.parentElement.hidden = !err.cause;
    e.causeText.textContent = err.cause ?? '';
    e.fixLabel.parentElement.hidden = !err.fix;
    e.fixText.textContent = err.fix ?? '';
  }

  /** No reading can be shown (module failed to load, invalid attributes): the error alone. */
  #paintNoReading(err, code) {
    const e = this.#els;
    e.status.removeAttribute('aria-busy');
    e.refresh.disabled = true;
    e.balance.textContent = '—';
    e.level.hidden = true;
    e.card.classList.remove('stale');
    e.meta.textContent = '';
    e.estimate.hidden = true;
    e.forecast.hidden = true;
    this.#paintError(err);
    this.#applyLevelColour('error', null);
    this.#setState('error');
    this.#emit({
      balance: null, balanceText: null, level: 'unknown', status: 'error', levelText: null, stale: false, error: code,
      message: err.message, runwaySeconds: null, spendPerHour: null, threads: null, workingThreads: null,
    });
  }

  #applyLevelColour(level, colour) {
    // Without a view (module failed to load, invalid attributes) there is no badge colour to
    // ask for: use the badge table's grey for "error without a balance".
    const safe = /^#[0-9a-f]{3,8}$/i.test(colour ?? '') ? colour : '#6b7280';
    this.#els.card.style.setProperty('--_level', `var(--cab-${level}, ${safe})`);
  }

  /**
   * The Refresh button, from the core: a spinner while the request is out; after a press that
   * could send nothing, the countdown until one can; disabled with the reason while checks are
   * paused.
   */
  #paintRefresh(refresh) {
    const e = this.#els;
    const busy = this.#pending;
    // The countdown the visitor was shown ends when a press can send again.
    if (refresh.allowedAt == null) this.#pressed = false;
    const waiting = this.#pressed && refresh.waitText != null;
    e.refresh.hidden = false;
    // aria-disabled, not disabled: the button stays reachable with Tab and its countdown or
    // reason stays readable to a screen reader; a press while disabled does nothing.
    e.refresh.disabled = false;
    e.refresh.setAttribute('aria-disabled', String(busy || !refresh.enabled || waiting));
    e.refresh.dataset.busy = String(busy);
    e.refreshText.textContent = busy ? refresh.checkingText : waiting ? refresh.waitText : refresh.text;
    e.refresh.title = busy || (refresh.enabled && !waiting) ? '' : refresh.reason ?? '';
    clearTimeout(this.#countdownTimer);
    this.#countdownTimer = 0;
    if (!busy && waiting && !document.hidden) {
      const left = refresh.allowedAt - Date.now();
      this.#countdownTimer = setTimeout(() => this.#render(), Math.max(50, left % 1000 || 1000));
    }
  }

  /** What the title names: the server account, else the provider (the core's label). */
  #title() {
    const name = this.#serverAccount();
    if (name) return name;
    const id = (this.getAttribute('provider') ?? '').trim() || DEFAULT_PROVIDER;
    const lang = this.#lang();
    // Rendered every second during a countdown: ask the core for the labels once per change.
    if (this.#titleOf?.id !== id || this.#titleOf.lang !== lang) {
      this.#titleOf = { id, lang, label: this.#cab.providers(lang).find((p) => p.id === id)?.label ?? id };
    }
    return this.#titleOf.label;
  }

  #render() {
    if (!this.#cab) return;
    const e = this.#els;
    const lang = this.#lang();
    e.title.textContent = this.#t('widget_title', this.#title());
    e.causeLabel.textContent = this.#t('widget_cause');
    e.fixLabel.textContent = this.#t('widget_fix');
    e.typeLabel.textContent = this.#t('calc_type');
    e.qtyLabel.textContent = this.#t('calc_solves');

    if (this.#configError) {
      const err = this.#configError;
      e.refreshText.textContent = this.#t('refresh');
      this.#paintNoReading({
        message: err.message,
        cause: err.details.join(' '),
        fix: this.#t('widget_invalid_attributes_fix'),
      }, err.code);
      return;
    }
    if (!this.#state) return;

    // The widget's one account (the core's summary of several accounts is the extension's).
    const view = this.#cab.view(this.#state, Date.now(), lang, -new Date().getTimezoneOffset()).accounts[0];
    const busy = this.#pending;
    if (busy) e.status.setAttribute('aria-busy', 'true');
    else e.status.removeAttribute('aria-busy');
    this.#paintRefresh(view.refresh);

    e.balance.textContent = view.balanceText ?? '—';
    // ERROR_ZERO_BALANCE is a reading too (level empty) even without a number.
    const hasReading = view.level !== 'unknown';
    e.level.hidden = !hasReading && !view.error;
    // The core's words, as in the popup: "Check failed" when a check failed and no level is known.
    e.level.textContent = hasReading || view.error ? view.pillText : '';
    e.card.classList.toggle('stale', Boolean(view.stale));
    const meta = [busy && !view.checkedAt ? view.refresh.checkingText : view.readText ?? view.checkedText];
    if (view.staleText && !view.error) meta.push(view.staleText);
    if (view.pausedText && !view.error) meta.push(view.pausedText);
    if (this.#note) meta.push(this.#note);
    e.meta.textContent = meta.join(' · ');
    this.#applyLevelColour(view.accent.slot, view.accent.color);
    e.card.title = view.badge?.title ?? '';
    this.#paintError(view.error && { ...view.error, failed: view.failedText });
    this.#paintForecast(view);
    // A thread plan (CaptchaAI): busy threads or no active plan, as the popup says it.
    const threads = view.threads;
    e.threads.hidden = !threads;
    e.threads.dataset.capacity = threads?.capacity ?? '';
    e.threadsText.textContent = threads?.text ?? '';
    e.threadsShare.textContent = threads?.shareText ?? '';

    this.#renderEstimateOptions(view);
    this.#renderEstimate();
    this.#setState(view.state);
    this.#emit({
      balance: view.balance ?? null,
      balanceText: view.balanceText ?? null,
      level: view.level,
      status: view.status,
      levelText: hasReading ? view.pillText : null,
      stale: Boolean(view.stale),
      error: view.error?.code ?? null,
      message: view.error?.message ?? null,
      runwaySeconds: view.forecast?.runwaySeconds ?? null,
      spendPerHour: view.forecast?.spendPerHour ?? null,
      threads: view.threads?.threads ?? null,
      workingThreads: view.threads?.workingThreads ?? null,
    });
  }

  /**
   * The runway line under the balance (or the core's note: not enough history yet, nothing
   * spent) and, with the `history` attribute, the sparkline of the last 24 h with its text.
   */
  #paintForecast(view) {
    const e = this.#els;
    const f = view.balance == null ? null : view.forecast;
    const runway = [f?.runwayText, f?.runwayLowText].filter(Boolean).join(' · ');
    const line = runway || (this.#historyPending ? '' : f?.note) || '';
    e.runway.textContent = line;
    e.runway.hidden = !line;
    e.runway.classList.toggle('note', !runway);
    const day = this.hasAttribute('history') ? f?.day ?? null : null;
    // An SVG element has no `hidden` property: the attribute.
    e.sparkline.toggleAttribute('hidden', !day);
    e.sparkTitle.textContent = day?.text ?? '';
    e.sparkline.setAttribute('aria-label', day?.text ?? '');
    e.sparkLine.setAttribute('points', day?.points ?? '');
    e.forecast.hidden = !line && !day;
  }

  #renderEstimateOptions(view) {
    const e = this.#els;
    const rows = Array.isArray(view.remaining) ? view.remaining : [];
    e.estimate.hidden = rows.length === 0 || view.balance == null || !view.showSolves;
    const wanted = rows.map((r) => `${r.type}\u0000${r.label}`).join('\u0001');
    if (e.type.dataset.options === wanted) return;
    const selected = e.type.value;
    e.type.replaceChildren(
      ...rows.map((r) => {
        const option = document.createElement('option');
        option.value = r.type;
        option.textContent = r.label;
        return option;
      }),
    );
    e.type.dataset.options = wanted;
    if (rows.some((r) => r.type === selected)) e.type.value = selected;
  }

  #renderEstimate() {
    const e = this.#els;
    if (!this.#state || e.estimate.hidden || !e.type.value) {
      e.output.textContent = '';
      return;
    }
    const qty = e.qty.value.trim();
    const est = this.#cab.estimate(this.#state, this.#account, e.type.value, qty, this.#lang());
    e.output.textContent = est.ok ? this.#t('widget_estimate_cost', est.costText, est.summary) : est.error ?? '';
  }
};

if (!customElements.get(TAG)) customElements.define(TAG, CaptchaaiBalance);

export { CaptchaaiBalance, setAssets };
