#!/usr/bin/env node
// Build the browser extension from one source (extension/) into a Chrome and a Firefox build.
//
//   node scripts/build-extension.mjs <pkgDir> <outDir>      (defaults: pkg dist)
//
// Writes:
//   <outDir>/extension/              Chrome, load unpacked: extension/ as is (icons/ included,
//                                    committed PNGs), plus
//     pkg/captchaai_balance.js       wasm-bindgen glue and module, copied from <pkgDir>
//     pkg/captchaai_balance_bg.wasm
//     _locales/{en,id}/messages.json from locales/{en,id}/*.json
//     messages/{en,id}.json          the wasm module's text catalogs (see writeCatalogs)
//   <outDir>/extension-firefox/      the same with the manifest rewritten for Firefox
//   <outDir>/www/messages/{en,id}.json  the same catalogs for the widget (build.sh fills www/)
//   <outDir>/captchaai-balance-chrome.zip, <outDir>/captchaai-balance-firefox.zip
//
// Why the manifest looks the way it does (JSON has no comments, so the reasons live here):
// - content_security_policy.extension_pages needs 'wasm-unsafe-eval', or Chrome refuses to
//   compile the .wasm (https://developer.chrome.com/docs/extensions/reference/manifest/content-security-policy).
// - background.type "module": the worker statically imports the wasm-bindgen glue (an ES module).
// - host_permissions include loopback without a port: a pattern without a port matches every
//   port, so a self-hosted proxy (or the e2e mock) on 127.0.0.1:PORT works.
// - Firefox has no background service worker in MV3; it takes background.scripts (an event
//   page) with the same module, and needs a gecko id plus data_collection_permissions
//   (https://extensionworkshop.com/documentation/develop/firefox-builtin-data-consent/).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LANGS = ['en', 'id'];
/** The one locale file that stays out of the wasm module's catalogs (build.rs: NOT_EMBEDDED). */
const NOT_IN_CATALOG = 'extension.json';
// The glue, its TypeScript declarations (generated from the Rust types) and the module.
const GLUE = ['captchaai_balance.js', 'captchaai_balance.d.ts', 'captchaai_balance_bg.wasm'];
const FIREFOX = {
  id: 'captchaai-balance@captchaai-balance.example',
  // The newest feature the build relies on decides (docs/BROWSERS.md has the table): Firefox's
  // built-in data-collection consent (data_collection_permissions) arrived in desktop 140, after
  // module background scripts (112) and install-time MV3 host permissions (127). On Android
  // the consent arrived in 142. web-ext lint (run with --warnings-as-errors) flags a lower one.
  strictMinVersion: '140.0',
  strictMinVersionAndroid: '142.0',
};

const pkgDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'pkg'));
const outDir = path.resolve(process.argv[3] ?? path.join(ROOT, 'dist'));

function main() {
  for (const file of GLUE) {
    if (!fs.existsSync(path.join(pkgDir, file))) fail(`${path.join(pkgDir, file)} is missing: run wasm-pack first (make build)`);
  }
  const chromeDir = path.join(outDir, 'extension');
  const firefoxDir = path.join(outDir, 'extension-firefox');
  fs.rmSync(chromeDir, { recursive: true, force: true });
  fs.rmSync(firefoxDir, { recursive: true, force: true });

  fs.cpSync(path.join(ROOT, 'extension'), chromeDir, { recursive: true });
  bundlePopupStyles(chromeDir);
  fs.mkdirSync(path.join(chromeDir, 'pkg'), { recursive: true });
  for (const file of GLUE) fs.copyFileSync(path.join(pkgDir, file), path.join(chromeDir, 'pkg', file));
  writeLocales(path.join(chromeDir, '_locales'));
  writeCatalogs(path.join(chromeDir, 'messages'));
  writeCatalogs(path.join(outDir, 'www', 'messages'));

  const manifest = readJson(path.join(chromeDir, 'manifest.json'));
  manifest.version = readJson(path.join(ROOT, 'package.json')).version ?? manifest.version;
  writeJson(path.join(chromeDir, 'manifest.json'), manifest);

  fs.cpSync(chromeDir, firefoxDir, { recursive: true });
  writeJson(path.join(firefoxDir, 'manifest.json'), firefoxManifest(manifest));

  for (const [dir, name] of [[chromeDir, 'chrome'], [firefoxDir, 'firefox']]) {
    const zipPath = path.join(outDir, `captchaai-balance-${name}.zip`);
    zipDir(dir, zipPath);
    console.log(`extension: ${path.relative(ROOT, dir)}/ and ${path.relative(ROOT, zipPath)} (${fs.statSync(zipPath).size} bytes)`);
  }
}

/**
 * The built popup loads one stylesheet: common.css goes in front of popup.css and its link
 * leaves popup.html. A stylesheet holds back the paint script (lib/popup-paint.js), and one
 * request fewer before the first paint measured 58.6 -> 54.1 ms against 47.1 ms for a blank
 * page (make bench's method, medians of 21). The sources keep two files, shared with options.
 */
function bundlePopupStyles(dir) {
  const html = path.join(dir, 'popup.html');
  const link = '  <link rel="stylesheet" href="styles/common.css">\n';
  const page = fs.readFileSync(html, 'utf8');
  if (!page.includes(link)) fail('extension/popup.html no longer links styles/common.css the way the build expects');
  fs.writeFileSync(html, page.replace(link, ''));
  const css = path.join(dir, 'styles', 'popup.css');
  const common = fs.readFileSync(path.join(dir, 'styles', 'common.css'), 'utf8');
  fs.writeFileSync(css, `${common}\n${fs.readFileSync(css, 'utf8')}`);
}

/** Chrome manifest -> Firefox manifest (same everything but the background and the gecko block). */
function firefoxManifest(chrome) {
  const manifest = structuredClone(chrome);
  manifest.background = { scripts: [chrome.background.service_worker], type: 'module' };
  manifest.browser_specific_settings = {
    gecko: {
      id: FIREFOX.id,
      strict_min_version: FIREFOX.strictMinVersion,
      // The extension sends the key only to the configured API and collects nothing.
      data_collection_permissions: { required: ['none'] },
    },
    gecko_android: { strict_min_version: FIREFOX.strictMinVersionAndroid },
  };
  return manifest;
}

// ---------------------------------------------------------------------------------------------
// Locales: locales/<lang>/*.json (flat { key: text }, placeholders $1 $2 …) merged per language
// -> _locales/<lang>/messages.json ({ key: { message } }), the format chrome.i18n reads.

function writeLocales(dir) {
  const tables = Object.fromEntries(LANGS.map((lang) => [lang, mergeLocale(lang)]));
  const reference = Object.keys(tables.en).sort();
  for (const lang of LANGS) {
    const keys = Object.keys(tables[lang]).sort();
    const missing = reference.filter((k) => !(k in tables[lang]));
    const extra = keys.filter((k) => !(k in tables.en));
    if (missing.length || extra.length) {
      fail(`locales/${lang} differs from locales/en: missing [${missing.join(', ')}], extra [${extra.join(', ')}]`);
    }
    const bad = keys.filter((k) => !/^[A-Za-z0-9_@]+$/.test(k));
    if (bad.length) fail(`locales/${lang}: keys chrome.i18n can not use: ${bad.join(', ')}`);
    const messages = Object.fromEntries(keys.map((k) => [k, { message: toChromeMessage(tables[lang][k]) }]));
    fs.mkdirSync(path.join(dir, lang), { recursive: true });
    writeJson(path.join(dir, lang, 'messages.json'), messages);
  }
}

/**
 * The wasm module carries no text (src/i18n.rs): JS installs `messages/<lang>.json` with the
 * core's `setMessages`. A catalog is every locale file but extension.json (the extension's own
 * page labels, which Chrome reads from `_locales/`), as a flat { key: text } object: the same
 * keys build.rs embeds in native builds. writeLocales has already checked both languages.
 */
function writeCatalogs(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const lang of LANGS) {
    const table = mergeLocale(lang, (file) => file !== NOT_IN_CATALOG);
    const sorted = Object.fromEntries(Object.keys(table).sort().map((k) => [k, table[k]]));
    fs.writeFileSync(path.join(dir, `${lang}.json`), `${JSON.stringify(sorted)}\n`);
  }
}

function mergeLocale(lang, include = () => true) {
  const dir = path.join(ROOT, 'locales', lang);
  const merged = {};
  const origin = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json') && include(f)).sort()) {
    const table = readJson(path.join(dir, file));
    for (const [key, text] of Object.entries(table)) {
      if (typeof text !== 'string') fail(`locales/${lang}/${file}: "${key}" is not a string`);
      if (key in merged) fail(`locales/${lang}: "${key}" is in both ${origin[key]} and ${file}`);
      merged[key] = text;
      origin[key] = file;
    }
  }
  return merged;
}

/**
 * chrome.i18n substitutes `$1`…`$9` itself; any other `$` (a price like "$0.01") must be
 * written `$$` or it would be read as a named placeholder.
 */
function toChromeMessage(text) {
  return text.replace(/\$(?![1-9])/g, '$$$$');
}

// ---------------------------------------------------------------------------------------------
// Zip: Debian's `zip` (scripts/setup.sh installs it). Files in sorted order and `-X` (no extra
// attributes) so two builds of the same tree differ only by timestamps.

function zipDir(dir, zipPath) {
  fs.rmSync(zipPath, { force: true });
  try {
    execFileSync('zip', ['-q', '-X', '-9', zipPath, ...listFiles(dir)], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    if (error.code === 'ENOENT') fail('the `zip` command is missing: run `make setup` (or apt-get install zip)');
    fail(`zip failed for ${path.relative(ROOT, zipPath)}: ${error.message}`);
  }
}

function listFiles(dir, prefix = '') {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(dir, rel) : [rel];
    });
}

// ---------------------------------------------------------------------------------------------

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return fail(`${path.relative(ROOT, file)}: ${error.message}`);
  }
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function fail(message) {
  console.error(`build-extension: ${message}`);
  process.exit(1);
}

main();
