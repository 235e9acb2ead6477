// What `make build` writes: the two manifests derived from one source, the _locales generated
// from locales/, and zips a store would accept. Needs `make build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = path.join(ROOT, 'dist');
const readJson = (...p) => JSON.parse(fs.readFileSync(path.join(DIST, ...p), 'utf8'));

test('Chrome manifest: module service worker, wasm CSP, permissions, loopback hosts', () => {
  const m = readJson('extension', 'manifest.json');
  assert.equal(m.manifest_version, 3);
  assert.deepEqual(m.background, { service_worker: 'background.js', type: 'module' });
  assert.match(m.content_security_policy.extension_pages, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.deepEqual([...m.permissions].sort(), ['alarms', 'notifications', 'storage']);
  for (const host of ['https://ocr.captchaai.com/*', 'http://127.0.0.1/*', 'http://localhost/*']) {
    assert.ok(m.host_permissions.includes(host), `host permission ${host}`);
  }
  assert.equal(m.default_locale, 'en');
  assert.match(m.name, /^__MSG_/);
});

test('host permissions: every known provider\'s API host and loopback without a prompt, any other host on request', async () => {
  const glue = await import(pathToFileURL(path.join(DIST, 'extension', 'pkg', 'captchaai_balance.js')));
  glue.initSync({ module: fs.readFileSync(path.join(DIST, 'extension', 'pkg', 'captchaai_balance_bg.wasm')) });
  for (const dir of ['extension', 'extension-firefox']) {
    const m = readJson(dir, 'manifest.json');
    const known = glue.providers('en').filter((p) => !p.custom).map((p) => `${p.endpoint}/*`);
    assert.ok(known.length >= 6, 'the core lists the known providers');
    for (const host of known) assert.ok(m.host_permissions.includes(host), `${dir}: host permission ${host}`);
    // The core asks for nothing the manifest already grants (it calls these loopback).
    for (const host of ['http://127.0.0.1/*', 'http://localhost/*', 'http://[::1]/*']) {
      assert.ok(m.host_permissions.includes(host), `${dir}: host permission ${host}`);
    }
    // The options page requests any other custom endpoint's origin at Save.
    assert.deepEqual([...m.optional_host_permissions].sort(), ['http://*/*', 'https://*/*'], dir);
  }
  // What the core asks for: nothing for known hosts and loopback, the origin for another host.
  const state = glue.loadState(null);
  const form = (endpoint) => glue.applySettings(state, {
    accounts: [{ name: 'A', provider: 'custom-createtask', apiKey: 'k'.repeat(32), threshold: '1', endpoint, rates: {} }],
  }, 'en');
  for (const [endpoint, want] of [
    ['http://127.0.0.1:9000', []],
    ['http://localhost:9000/x', []],
    ['https://api.capsolver.com', []],
    ['https://proxy.example.com:8443/api', ['https://proxy.example.com/*']],
  ]) {
    const answer = form(endpoint);
    assert.ok(answer.ok, `${endpoint}: ${JSON.stringify(answer.errors)}`);
    assert.deepEqual(glue.hostPermissions(answer.state), want, endpoint);
  }
  // Whatever loopback the core asks nothing for, the manifests grant, in both schemes (a
  // self-hosted proxy behind TLS on localhost is never prompted for, so it must be granted).
  for (const endpoint of ['http://127.0.0.1:9000', 'https://127.0.0.1:8443', 'http://localhost', 'https://localhost:8443/x', 'http://[::1]:9000', 'https://[::1]']) {
    const answer = form(endpoint);
    assert.ok(answer.ok, `${endpoint}: ${JSON.stringify(answer.errors)}`);
    assert.deepEqual(glue.hostPermissions(answer.state), [], endpoint);
    const url = new URL(endpoint);
    const pattern = `${url.protocol}//${url.hostname}/*`;
    for (const dir of ['extension', 'extension-firefox']) {
      assert.ok(readJson(dir, 'manifest.json').host_permissions.includes(pattern), `${dir}: ${endpoint} is asked for by nobody and granted by no ${pattern}`);
    }
  }
});

/**
 * The Firefox versions that brought each manifest feature the build relies on (MDN's browser
 * compatibility data; docs/BROWSERS.md says why each matters). The build's minimum must be the
 * newest of them: lower and Firefox installs a build that cannot work, higher and users are
 * turned away for nothing.
 */
const FIREFOX_SINCE = [
  { feature: 'background.type "module"', since: 112, uses: (m) => m.background.type === 'module' },
  { feature: 'MV3 host_permissions granted at install', since: 127, uses: (m) => m.manifest_version === 3 && m.host_permissions?.length > 0 },
  { feature: 'optional_host_permissions', since: 128, uses: (m) => Boolean(m.optional_host_permissions) },
  { feature: 'gecko.data_collection_permissions', since: 140, uses: (m) => Boolean(m.browser_specific_settings.gecko.data_collection_permissions) },
];

test('Firefox manifest: background scripts, gecko id, data collection, minimum version from the features', () => {
  const m = readJson('extension-firefox', 'manifest.json');
  assert.deepEqual(m.background, { scripts: ['background.js'], type: 'module' });
  const { gecko } = m.browser_specific_settings;
  assert.match(gecko.id, /^[a-z0-9-]+@[a-z0-9.-]+$/);
  assert.deepEqual(gecko.data_collection_permissions, { required: ['none'] });
  const needed = Math.max(...FIREFOX_SINCE.filter((f) => f.uses(m)).map((f) => f.since));
  assert.equal(gecko.strict_min_version, `${needed}.0`, 'strict_min_version is the newest feature\'s version');
  // Firefox for Android took data_collection_permissions two versions later.
  assert.equal(m.browser_specific_settings.gecko_android?.strict_min_version, '142.0');
  // The README promises the same minimum to users.
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, new RegExp(`\\*\\*Firefox\\*\\* \\(${needed}\\+`), `README says Firefox ${needed}+`);
});

test('icons: every icon a manifest names is a committed PNG of that size', () => {
  for (const dir of ['extension', 'extension-firefox']) {
    const m = readJson(dir, 'manifest.json');
    const icons = [...Object.entries(m.icons), ...Object.entries(m.action.default_icon)];
    assert.ok(icons.length >= 4, `${dir} names its icons`);
    for (const [size, file] of icons) {
      const png = fs.readFileSync(path.join(DIST, dir, file));
      assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG', `${dir}/${file} is a PNG`);
      // IHDR comes first: width and height at bytes 16 and 20.
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [Number(size), Number(size)], `${dir}/${file} size`);
      assert.ok(fs.existsSync(path.join(ROOT, 'extension', file)), `${file} is committed under extension/`);
    }
  }
});

test('_locales: English and Indonesian carry the same keys, from locales/*.json', () => {
  const en = readJson('extension', '_locales', 'en', 'messages.json');
  const id = readJson('extension', '_locales', 'id', 'messages.json');
  assert.deepEqual(Object.keys(en).sort(), Object.keys(id).sort());
  const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', 'en', 'core.json'), 'utf8'));
  assert.equal(en.level_low.message, source.level_low);
  assert.notEqual(en.level_low.message, id.level_low.message);
});

test('text catalogs: every key of locales/<lang>/ but extension.json, the same file in the extensions and the widget', () => {
  const source = (lang, file) => JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', lang, file), 'utf8'));
  for (const lang of ['en', 'id']) {
    const want = { ...source(lang, 'core.json'), ...source(lang, 'widget.json') };
    const catalog = readJson('www', 'messages', `${lang}.json`);
    assert.deepEqual(catalog, want, `${lang}: core and widget sentences`);
    for (const key of Object.keys(source(lang, 'extension.json'))) {
      assert.ok(!(key in catalog), `${lang}: ${key} (an extension page label) stays in _locales/ only`);
    }
    for (const dir of ['extension', 'extension-firefox']) {
      assert.deepEqual(readJson(dir, 'messages', `${lang}.json`), catalog, `${dir}/messages/${lang}.json`);
    }
  }
  // The build embeds no sentence in the module: a long English one must not be in the .wasm.
  const wasm = fs.readFileSync(path.join(DIST, 'www', 'captchaai_balance_bg.wasm'));
  const longest = Object.values(source('en', 'core.json')).sort((a, b) => b.length - a.length)[0];
  assert.equal(wasm.includes(Buffer.from(longest)), false, `the .wasm carries no sentence ("${longest.slice(0, 30)}…")`);
});

test('zips are valid archives holding the manifest and the wasm module', () => {
  for (const name of ['captchaai-balance-chrome.zip', 'captchaai-balance-firefox.zip']) {
    const zip = path.join(DIST, name);
    // Python's zipfile checks every CRC; it ships with the machine (no extra npm package).
    execFileSync('python3', ['-m', 'zipfile', '-t', zip]);
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', zip], { encoding: 'utf8' });
    assert.match(listing, /^manifest\.json/m, `${name} has the manifest at its root`);
    assert.match(listing, /pkg\/captchaai_balance_bg\.wasm/, `${name} has the wasm module`);
    assert.match(listing, /icons\/icon-128\.png/, `${name} has the icons`);
    assert.match(listing, /_locales\/id\/messages\.json/, `${name} has the Indonesian messages`);
    assert.match(listing, /^messages\/id\.json/m, `${name} has the Indonesian text catalog`);
  }
});

test('the built popup loads one stylesheet (common + popup) and preloads its paint script', () => {
  for (const dir of [path.join(DIST, 'extension'), path.join(DIST, 'extension-firefox')]) {
    const page = fs.readFileSync(path.join(dir, 'popup.html'), 'utf8');
    const sheets = [...page.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1]);
    assert.deepEqual(sheets, ['styles/popup.css'], `${dir}: one stylesheet before the first paint`);
    assert.match(page, /<link rel="preload" href="lib\/popup-paint\.js" as="script">/);
    const css = fs.readFileSync(path.join(dir, 'styles', 'popup.css'), 'utf8');
    const common = fs.readFileSync(path.join(ROOT, 'extension', 'styles', 'common.css'), 'utf8');
    const popup = fs.readFileSync(path.join(ROOT, 'extension', 'styles', 'popup.css'), 'utf8');
    assert.equal(css, `${common}\n${popup}`, 'common.css, then popup.css');
  }
  // The options page keeps its two stylesheets.
  const options = fs.readFileSync(path.join(DIST, 'extension', 'options.html'), 'utf8');
  assert.match(options, /styles\/common\.css/);
});

/** The glue's type declarations (everything before its first function), without comments. */
function wireTypes(dts) {
  const declarations = dts.slice(0, dts.search(/^export function /m));
  return declarations
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .join('\n');
}

test('docs/ARCHITECTURE.md\'s wire types are the generated TypeScript declarations, shipped with the extension and the widget', () => {
  const dts = fs.readFileSync(path.join(DIST, 'www', 'captchaai_balance.d.ts'), 'utf8');
  assert.equal(fs.readFileSync(path.join(DIST, 'extension', 'pkg', 'captchaai_balance.d.ts'), 'utf8'), dts);
  // The API's types come from the Rust types (tsify), not from a hand-written copy.
  for (const name of ['State', 'Settings', 'MonitorState', 'View', 'AccountView', 'TaggedOutcome', 'ErrorCode', 'Money']) {
    assert.match(dts, new RegExp(`^export (type|interface) ${name}\\b`, 'm'), name);
  }
  assert.match(dts, /^export function checkBalance\(state: State, account: string, acao: boolean\): Promise<TaggedOutcome>;$/m);
  assert.match(dts, /^export function view\(state: State, now_ms: number, lang: string, utc_offset_min\?: number \| null\): View;$/m);
  const doc = path.join(ROOT, 'docs', 'ARCHITECTURE.md');
  const text = fs.readFileSync(doc, 'utf8');
  const start = '<!-- wire types: generated from pkg/captchaai_balance.d.ts by tests/e2e/build-output.test.mjs -->\n```ts\n';
  const end = '```\n<!-- end of wire types -->';
  const from = text.indexOf(start) + start.length;
  const to = text.indexOf(end, from);
  assert.ok(from > start.length && to >= from, 'the wire types block in docs/ARCHITECTURE.md');
  const want = `${wireTypes(dts)}\n`;
  if (process.env.UPDATE_DOCS) fs.writeFileSync(doc, text.slice(0, from) + want + text.slice(to));
  else assert.equal(text.slice(from, to), want, 'run UPDATE_DOCS=1 node --test tests/e2e/build-output.test.mjs');
});
