// The widget as an npm package (www/package.json; build.sh assembles it as dist/www): `npm pack`
// of it holds every file the element loads at run time and none of the demo page; a tiny page
// that imports the installed tarball, bundled by esbuild (the package's `./esbuild` entry, the
// one-line `.wasm` file loader) and by Vite (the main entry, no configuration), shows the mock
// server's balance in Chromium with the .wasm and the catalogs taken from the bundle's output
// folder; the TypeScript declarations parse, type a
// use of the element (esbuild strips the types: a parse check, not a type check) and name
// exactly the attributes the element observes and the keys of the `balancechange` detail it
// sends. The output folder is served by the real server (mock mode) as its static folder.
// Needs `make build` first (dist/www).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { build as viteBuild } from 'vite';
import { OUT_DIR, launch, until } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WWW = path.resolve(process.env.CAB_WWW_DIR ?? path.join(ROOT, 'dist', 'www'));
const NAME = JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'package.json'), 'utf8')).name;
const LANGS = fs.readdirSync(path.join(ROOT, 'locales'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** What the element needs at run time, the declarations, the manifest and its README; nothing else. */
const PACKAGE_FILES = [
  'captchaai-balance.d.ts', 'captchaai-balance.js', 'captchaai_balance.d.ts', 'captchaai_balance.js', 'captchaai_balance_bg.wasm',
  'check-cycle.js', 'esbuild.d.ts', 'esbuild.js', ...LANGS.map((l) => `messages/${l}.json`), 'package.json', 'README.md',
].sort();

const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The member names of `export interface NAME { … }` in a .d.ts (one level, no nesting). */
function interfaceKeys(dts, name) {
  const body = dts.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))?.[1];
  assert.ok(body, `interface ${name} in the .d.ts`);
  return [...body.matchAll(/^\s+'?([\w-]+)'?\??:/gm)].map((m) => m[1]).sort();
}

describe('the widget as an npm package', { timeout: 180_000 }, () => {
  let tmp;
  let tarball;
  let packed;
  let project;
  let installed;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-package-'));
    // Offline: packing a folder needs no registry.
    const out = execFileSync('npm', ['pack', WWW, '--pack-destination', tmp, '--offline', '--json', '--silent'], { encoding: 'utf8' });
    const [info] = JSON.parse(out);
    tarball = path.join(tmp, info.filename);
    packed = info.files.map((f) => f.path).sort();
    // "Installed": the tarball unpacked where node's resolution (and esbuild's) looks for it.
    project = path.join(tmp, 'project');
    installed = path.join(project, 'node_modules', NAME);
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('npm pack holds every file the widget loads at run time, and none of the demo page', () => {
    assert.deepEqual(packed, PACKAGE_FILES);
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m)[1];
    assert.equal(manifest.version, cargo, 'the package version is the crate version');
    assert.equal(manifest.type, 'module');
    // Every run-time reference is static and relative, so a bundler can follow it, and names a
    // file of the package.
    const referenced = new Set();
    for (const file of packed.filter((f) => f.endsWith('.js'))) {
      // Comments out (they quote the patterns); a `//` inside a string cuts its line short, which
      // can only hide a reference, not invent one (the check below finds every file referenced).
      const source = fs.readFileSync(path.join(installed, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*/g, '');
      const refs = [
        ...source.matchAll(/new URL\(\s*'(\.\/[^']+)',\s*import\.meta\.url\)/g),
        ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
        ...source.matchAll(/^(?:import|export)\s[^'"]*from\s+'([^']+)'/gm),
        ...source.matchAll(/^import\s+'([^']+)'/gm),
      ].map((m) => m[1]);
      for (const ref of refs) {
        assert.match(ref, /^\.\//, `${file}: ${ref} is relative to the package`);
        const target = path.posix.join(path.posix.dirname(file), ref);
        assert.ok(packed.includes(target), `${file}: ${ref} is in the package`);
        referenced.add(target);
      }
      // No computed specifier: a bundler cannot follow `import(someVariable)`.
      assert.doesNotMatch(source, /\bimport\(\s*[^'\s)]/, `${file}: a computed import()`);
    }
    // ... and everything the package ships for run time is reached that way.
    const runTime = packed.filter((f) => !/^(package\.json|README\.md|.*\.d\.ts|captchaai-balance\.js|esbuild\.js)$/.test(f));
    assert.deepEqual(runTime.filter((f) => !referenced.has(f)), [], 'run-time files no static reference reaches');
    // Each language of locales/ has its catalog in both asset tables (main entry and esbuild's).
    const element = fs.readFileSync(path.join(installed, 'captchaai-balance.js'), 'utf8');
    const esbuildEntry = fs.readFileSync(path.join(installed, 'esbuild.js'), 'utf8');
    for (const lang of LANGS) {
      assert.ok(element.includes(`new URL('./messages/${lang}.json', import.meta.url)`), `captchaai-balance.js: catalog ${lang}`);
      assert.ok(esbuildEntry.includes(`import('./messages/${lang}.json')`), `esbuild.js: catalog ${lang}`);
    }
  });

  test('the declarations parse and type a use of the element (esbuild, without tsc)', async () => {
    for (const file of packed.filter((f) => f.endsWith('.d.ts'))) {
      await esbuild.transform(fs.readFileSync(path.join(installed, file), 'utf8'), { loader: 'ts', sourcefile: file });
    }
    const src = path.join(project, 'typed');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'main.ts'), `
      import { CaptchaaiBalance, type BalanceChangeDetail, type CaptchaaiBalanceAttributes } from '${NAME}';
      const widget: CaptchaaiBalance = document.createElement('captchaai-balance');
      const attributes: CaptchaaiBalanceAttributes = { account: 'production', threshold: '5', history: true };
      for (const [name, value] of Object.entries(attributes)) widget.setAttribute(name, String(value));
      widget.addEventListener('balancechange', (event) => {
        const detail: BalanceChangeDetail = event.detail;
        const hours: number | null = detail.runwaySeconds == null ? null : detail.runwaySeconds / 3600;
        console.log(detail.balance, detail.level, hours);
      });
      document.body.append(widget);
      // A value use too: an import used only as a type is dropped, and the element with it.
      console.log(widget instanceof CaptchaaiBalance);
    `);
    const result = await esbuild.build({
      absWorkingDir: project, entryPoints: ['typed/main.ts'], bundle: true, format: 'esm', write: false,
      outdir: 'typed-out', loader: { '.wasm': 'file' }, logLevel: 'silent',
    });
    assert.equal(result.errors.length, 0);
    assert.ok(result.outputFiles.some((f) => f.text.includes('customElements.define')), 'the bundle holds the element');
  });

  test('tsc type-checks a use of the element against the declarations generated from the Rust types', () => {
    const dir = path.join(project, 'checked');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'es2022', moduleResolution: 'bundler', lib: ['es2022', 'dom'], skipLibCheck: false },
      include: ['*.ts'],
    }));
    const use = (extra) => `
      import { CaptchaaiBalance, type BalanceChangeDetail, type AccountView, type ErrorCode, type Money } from '${NAME}';
      const widget = document.createElement('captchaai-balance');
      widget.setAttribute('provider', 'anticaptcha');
      widget.addEventListener('balancechange', (event) => {
        const detail: BalanceChangeDetail = event.detail;
        const balance: Money | null = detail.balance;
        const level: AccountView['level'] = detail.level;
        const code: ErrorCode | 'wasm_load' | 'invalid_settings' | null = detail.error;
        console.log(balance, level, code, widget instanceof CaptchaaiBalance);
      });
      ${extra}
    `;
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const check = () => execFileSync(tsc, ['-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    fs.writeFileSync(path.join(dir, 'main.ts'), use(''));
    check();
    // Control: the generated types are real, not \`any\`: a level the core does not have fails.
    fs.writeFileSync(path.join(dir, 'main.ts'), use("const wrong: BalanceChangeDetail['level'] = 'plenty';"));
    assert.throws(check, (error) => /Type '"plenty"' is not assignable/.test(String(error.stdout)), 'a wrong level is a type error');
  });

  test('a page bundled by esbuild from the installed package shows the mock balance, .wasm from its own output', async () => {
    const src = path.join(project, 'src');
    const out = path.join(project, 'out');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'main.js'), `
      import { CaptchaaiBalance } from '${NAME}/esbuild';
      window.__sameClass = customElements.get('captchaai-balance') === CaptchaaiBalance;
      window.__observed = CaptchaaiBalance.observedAttributes;
    `);
    // What the README tells an esbuild user: the ./esbuild entry, an ES module bundle, and the
    // `.wasm` file loader (splitting keeps the glue and each catalog in chunks of their own).
    const result = await esbuild.build({
      absWorkingDir: project, entryPoints: ['src/main.js'], bundle: true, format: 'esm', splitting: true,
      outdir: 'out', loader: { '.wasm': 'file' }, metafile: true, logLevel: 'silent',
    });
    assert.equal(result.errors.length, 0);
    fs.writeFileSync(path.join(out, 'index.html'), adminPage('esbuild'));
    const outFiles = fs.readdirSync(out);
    const wasmFile = outFiles.find((f) => /^captchaai_balance_bg-\w+\.wasm$/.test(f));
    assert.ok(wasmFile, `esbuild copied the .wasm under a hashed name: ${outFiles.join(' ')}`);
    assert.equal(sha(path.join(out, wasmFile)), sha(path.join(WWW, 'captchaai_balance_bg.wasm')));
    // Nothing of the package sits next to the bundle under its own name: whatever the page
    // loads, it found through the bundle.
    for (const f of ['captchaai_balance_bg.wasm', 'captchaai_balance.js', 'captchaai-balance.js', 'messages']) {
      assert.ok(!outFiles.includes(f), `${f} in the output folder`);
    }

    const responses = await checkBundledPage({ out, wasmPath: wasmFile, screenshot: 'widget-package-esbuild.png', installed });
    // Each language's catalog chunk, and only through the bundle.
    const chunkOf = (lang) => Object.keys(result.metafile.outputs).find((o) => Object.keys(result.metafile.outputs[o].inputs)
      .some((i) => i.endsWith(`messages/${lang}.json`)));
    for (const lang of ['en', 'id']) {
      const chunk = chunkOf(lang);
      assert.ok(chunk, `a chunk holds messages/${lang}.json`);
      assert.ok(responses.some((r) => r.path === `/${path.basename(chunk)}` && r.status === 200), `${chunk} loaded`);
    }
  });

  test('a page bundled by Vite from the installed package (the main entry: new URL assets) shows the mock balance', async () => {
    const root = path.join(project, 'vite-app');
    const out = path.join(project, 'out-vite');
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'main.js'), `
      import { CaptchaaiBalance } from '${NAME}';
      window.__sameClass = customElements.get('captchaai-balance') === CaptchaaiBalance;
      window.__observed = CaptchaaiBalance.observedAttributes;
    `);
    fs.writeFileSync(path.join(root, 'index.html'), adminPage('Vite'));
    // A Vite user's whole configuration: none. The main entry's `new URL('./…', import.meta.url)`
    // files are copied as assets under hashed names, the glue's dynamic import as a chunk.
    await viteBuild({ root, configFile: false, logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
    const assets = fs.readdirSync(path.join(out, 'assets'));
    const wasmFile = assets.find((f) => /^captchaai_balance_bg-[\w-]+\.wasm$/.test(f));
    assert.ok(wasmFile, `Vite copied the .wasm under a hashed name: ${assets.join(' ')}`);
    assert.equal(sha(path.join(out, 'assets', wasmFile)), sha(path.join(WWW, 'captchaai_balance_bg.wasm')));
    for (const f of ['captchaai_balance_bg.wasm', 'captchaai_balance.js', 'captchaai-balance.js', 'messages']) {
      assert.ok(!fs.readdirSync(out).includes(f), `${f} in the output folder`);
    }
    await checkBundledPage({ out, wasmPath: `assets/${wasmFile}`, screenshot: 'widget-package-vite.png', installed });
  });
});

/** The admin page of the bundling tests: two widgets (English, Indonesian), `./main.js`. */
function adminPage(bundler) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bundled widget</title>
<link rel="icon" href="data:,">
<script type="module" src="./main.js"></script>
<style>body { font: 14px system-ui; margin: 2rem; display: grid; gap: 1rem; max-width: 26rem; }</style></head>
<body><h1>Admin (bundled with ${bundler})</h1>
<captchaai-balance id="en" threshold="5"></captchaai-balance>
<captchaai-balance id="id" lang="id" threshold="5"></captchaai-balance>
</body></html>`;
}

/**
 * Serves the bundler's output folder `out` from the real server (mock mode, 12.5 in scenario
 * ok), opens its index.html in Chromium and checks what every bundle must give: both widgets
 * (English, Indonesian) show the balance, the package's export is the defined element, the only
 * `.wasm` asked for is `/${wasmPath}` of the output, no request failed, no catalog came from the
 * package's own `messages/` path, the `balancechange` detail and the observed attributes are
 * what the declarations name, and no console error. Saves `screenshot` and returns the
 * responses (path, status, type) the page got.
 */
async function checkBundledPage({ out, wasmPath, screenshot, installed }) {
  const server = await startServer({ wwwDir: out });
  const browser = await launch();
  try {
    await server.control('/mock/reset');
    await server.control('/mock/scenario', { scenario: 'ok', balance: '12.5', drainPerMinute: 0 });
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      window.__events = [];
      document.addEventListener('balancechange', (e) => window.__events.push({ id: e.target.id, detail: e.detail }));
    });
    const responses = [];
    page.on('response', (r) => responses.push({ path: new URL(r.url()).pathname, status: r.status(), type: r.headers()['content-type'] }));
    await page.goto(`${server.base}/`);
    const shown = await until(() => page.evaluate(() => {
      const text = (id) => document.getElementById(id)?.shadowRoot?.querySelector('.balance')?.textContent;
      const states = ['en', 'id'].map((id) => document.getElementById(id).getAttribute('state'));
      return states.every((s) => s === 'ok') && { en: text('en'), id: text('id') };
    }), 'both bundled widgets in state ok', 20_000);
    assert.equal(shown.en, '$12.5000');
    assert.equal(shown.id, '$12,5000', 'Indonesian: a decimal comma');
    assert.equal(await page.evaluate(() => window.__sameClass), true, 'the package export is the defined element');

    const wasmAsked = responses.filter((r) => r.path.endsWith('.wasm'));
    assert.deepEqual(wasmAsked.map((r) => [r.path, r.status, r.type]), [[`/${wasmPath}`, 200, 'application/wasm']]);
    assert.deepEqual(responses.filter((r) => r.status >= 400), [], 'no failed request');
    assert.ok(!responses.some((r) => r.path.startsWith('/messages/')), 'the catalogs came from the bundle');
    const events = await page.evaluate(() => window.__events);
    const last = (id) => events.filter((e) => e.id === id).at(-1).detail;
    assert.equal(last('en').balance, '12.5');
    assert.equal(last('en').levelText, 'OK');
    assert.equal(last('id').levelText, 'Aman', 'the Indonesian catalog is installed');

    // The declarations name what the element really does.
    const dts = fs.readFileSync(path.join(installed, 'captchaai-balance.d.ts'), 'utf8');
    assert.deepEqual(interfaceKeys(dts, 'BalanceChangeDetail'), Object.keys(last('en')).sort());
    assert.deepEqual(interfaceKeys(dts, 'CaptchaaiBalanceAttributes'), [...await page.evaluate(() => window.__observed)].sort());

    await page.screenshot({ path: path.join(OUT_DIR, screenshot) });
    assert.deepEqual(browser.consoleMessages.filter((m) => /^(error|pageerror)/.test(m)), []);
    await page.close();
    return responses;
  } finally {
    await browser.close();
    server.close();
  }
}
