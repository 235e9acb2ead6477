// What `make build` writes: the two manifests derived from one source, the _locales generated
// from locales/, and zips a store would accept. Needs `make build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

test('Firefox manifest: background scripts, gecko id and data collection declared', () => {
  const m = readJson('extension-firefox', 'manifest.json');
  assert.deepEqual(m.background, { scripts: ['background.js'], type: 'module' });
  assert.ok(m.browser_specific_settings.gecko.id);
  assert.ok(m.browser_specific_settings.gecko.strict_min_version);
  assert.ok(m.browser_specific_settings.gecko.data_collection_permissions);
});

test('_locales: English and Indonesian carry the same keys, from locales/*.json', () => {
  const en = readJson('extension', '_locales', 'en', 'messages.json');
  const id = readJson('extension', '_locales', 'id', 'messages.json');
  assert.deepEqual(Object.keys(en).sort(), Object.keys(id).sort());
  const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', 'en', 'core.json'), 'utf8'));
  assert.equal(en.level_low.message, source.level_low);
  assert.notEqual(en.level_low.message, id.level_low.message);
});

test('zips are valid archives holding the manifest and the wasm module', () => {
  for (const name of ['captchaai-balance-chrome.zip', 'captchaai-balance-firefox.zip']) {
    const zip = path.join(DIST, name);
    // Python's zipfile checks every CRC; it ships with the machine (no extra npm package).
    execFileSync('python3', ['-m', 'zipfile', '-t', zip]);
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', zip], { encoding: 'utf8' });
    assert.match(listing, /^manifest\.json/m, `${name} has the manifest at its root`);
    assert.match(listing, /pkg\/captchaai_balance_bg\.wasm/, `${name} has the wasm module`);
  }
});
