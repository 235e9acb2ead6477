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
const outcome = glue.classifyResponse(state, account, 200, 'application/json', '{"status":1,"request":"12.345"}');
if (!outcome.ok || outcome.balance !== '12.345' || outcome.account !== account) {
  throw new Error(`smoke test: unexpected outcome ${JSON.stringify(outcome)}`);
}
console.log('[build] wasm smoke test passed');
