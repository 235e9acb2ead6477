#!/usr/bin/env node
// Build the browser extension from one source (extension/) into a Chrome and a Firefox build.
//
//   node scripts/build-extension.mjs <pkgDir> <outDir>      (defaults: pkg dist)
//
// Writes:
//   <outDir>/extension/              Chrome, load unpacked (manifest as in extension/)
//     pkg/captchaai_balance.js       wasm-bindgen glue and module, copied from <pkgDir>
//     pkg/captchaai_balance_bg.wasm
//     _locales/{en,id}/messages.json from locales/{en,id}/*.json
//     icons/icon-{16,32,48,128}.png  drawn here (no binary files in the repository)
//   <outDir>/extension-firefox/      the same with the manifest rewritten for Firefox
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
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LANGS = ['en', 'id'];
const GLUE = ['captchaai_balance.js', 'captchaai_balance_bg.wasm'];
const ICON_SIZES = [16, 32, 48, 128];
const FIREFOX = {
  id: 'captchaai-balance@captchaai-balance.example',
  // data_collection_permissions is known from Firefox 140 (desktop) and 142 (Android);
  // web-ext lint warns for any lower minimum.
  strictMinVersion: '142.0',
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
  fs.mkdirSync(path.join(chromeDir, 'pkg'), { recursive: true });
  for (const file of GLUE) fs.copyFileSync(path.join(pkgDir, file), path.join(chromeDir, 'pkg', file));
  writeLocales(path.join(chromeDir, '_locales'));
  writeIcons(path.join(chromeDir, 'icons'));

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

function mergeLocale(lang) {
  const dir = path.join(ROOT, 'locales', lang);
  const merged = {};
  const origin = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
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
// Icons: a white "C" ring on a blue rounded square, anti-aliased by 4x4 supersampling.

function writeIcons(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const size of ICON_SIZES) fs.writeFileSync(path.join(dir, `icon-${size}.png`), drawIcon(size));
}

function drawIcon(size) {
  const bg = [37, 99, 235]; // #2563eb
  const fg = [255, 255, 255];
  const rgba = Buffer.alloc(size * size * 4);
  const SS = 4;
  const c = size / 2;
  const half = size / 2 - size * 0.02;
  const corner = size * 0.22;
  const ringR = size * 0.27;
  const ringW = size * (size <= 16 ? 0.15 : 0.12);
  const gap = (40 * Math.PI) / 180; // opening of the "C", each side of 0°
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bgCover = 0;
      let fgCover = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const px = x + (sx + 0.5) / SS - c;
          const py = y + (sy + 0.5) / SS - c;
          const qx = Math.abs(px) - (half - corner);
          const qy = Math.abs(py) - (half - corner);
          const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - corner;
          if (outside > 0) continue;
          bgCover++;
          const r = Math.hypot(px, py);
          const angle = Math.abs(Math.atan2(py, px));
          if (Math.abs(r - ringR) <= ringW / 2 && angle >= gap) fgCover++;
        }
      }
      const a = bgCover / (SS * SS);
      const f = bgCover ? fgCover / bgCover : 0;
      const i = (y * size + x) * 4;
      for (let k = 0; k < 3; k++) rgba[i + k] = Math.round(bg[k] * (1 - f) + fg[k] * f);
      rgba[i + 3] = Math.round(a * 255);
    }
  }
  return encodePng(size, size, rgba);
}

function encodePng(width, height, rgba) {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Zip: the `zip` command when there is one, else a small stored/deflated writer (no npm deps).

function zipDir(dir, zipPath) {
  fs.rmSync(zipPath, { force: true });
  const files = listFiles(dir);
  if (hasZipCommand()) {
    execFileSync('zip', ['-q', '-X', '-9', zipPath, ...files], { cwd: dir });
    return;
  }
  fs.writeFileSync(zipPath, buildZip(dir, files));
}

function hasZipCommand() {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
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

function buildZip(dir, files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  const DOS_TIME = 0; // 00:00:00
  const DOS_DATE = (1 << 5) | 1; // 1980-01-01: reproducible archives
  for (const name of files) {
    const data = fs.readFileSync(path.join(dir, name));
    const deflated = zlib.deflateRawSync(data, { level: 9 });
    const store = deflated.length >= data.length;
    const body = store ? data : deflated;
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(store ? 0 : 8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(store ? 0 : 8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, body);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + body.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
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
