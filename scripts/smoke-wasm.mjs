// Loads the freshly built module in node and calls a few exports. A wasm-opt that corrupts
// wasm-bindgen output fails here ("WebAssembly.Table.set(): Argument 1 is invalid").
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = resolve(process.argv[2] ?? 'pkg');
const glue = await import(pathToFileURL(join(dir, 'captchaai_balance.js')));
glue.initSync({ module: readFileSync(join(dir, 'captchaai_balance_bg.wasm')) });
const state = glue.loadState(null);
const view = glue.view(state, Date.now(), 'en');
if (view.badge.text !== '?') throw new Error(`smoke test: unexpected badge ${JSON.stringify(view.badge)}`);
const account = view.accounts[0].id;
const observed = glue.observe(state, { account, ok: true, balance: '12.345' }, Date.now(), 'en');
const balance = glue.view(observed.state, Date.now(), 'en').accounts[0].balance;
if (balance !== '12.345') throw new Error(`smoke test: unexpected balance ${JSON.stringify(balance)}`);
console.log('[build] wasm smoke test passed');
