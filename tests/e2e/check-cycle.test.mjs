/**
 * The module's own balance request (`checkBalance`, gloo-net) in node, whose `fetch`, `Request`,
 * `AbortSignal` and streams are the web's: an answer is read only up to the core's limit, so an
 * endpoint that answers without end costs one small read; a normal answer reaches the core
 * whole; a key with `&`, `+`, `#`, `/` and `=` in it arrives upstream byte for byte, in the
 * query and in a createTask body; a server that never answers is a timeout, never a hang.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cab = await import(pathToFileURL(path.join(ROOT, 'dist/www/captchaai_balance.js')).href);
cab.initSync({ module: readFileSync(path.join(ROOT, 'dist/www/captchaai_balance_bg.wasm')) });
cab.setMessages('en', readFileSync(path.join(ROOT, 'dist/www/messages/en.json'), 'utf8'));

/** A key of a custom provider's token format with every character a URL gives meaning to. */
const ODD_KEY = 'ab&c+d#e/f=g?h%20i';
let server;
let base;
let endlessBytesSent = 0;
let endlessClosed = null;
/** What each request to /echo carried: the key as the server decodes it. */
const seen = [];

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/small/res.php') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":1,"request":"12.5"}');
      return;
    }
    if (url.pathname === '/echo/res.php') {
      seen.push({ method: req.method, key: url.searchParams.get('key'), query: url.search });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('7.25');
      return;
    }
    if (url.pathname === '/echo/getBalance') {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        seen.push({ method: req.method, type: req.headers['content-type'], key: JSON.parse(body).clientKey });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"errorId":0,"balance":3.14159265358979323846}');
      });
      return;
    }
    if (url.pathname === '/hang/res.php') return; // never answers
    // Writes 64 KiB chunks until the client goes away.
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    endlessClosed = new Promise((resolve) => res.on('close', resolve));
    const pump = () => {
      if (res.destroyed || endlessBytesSent > 512 * 1024 * 1024) return;
      endlessBytesSent += chunk.length;
      if (res.write(chunk)) setImmediate(pump); else res.once('drain', pump);
    };
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

/** A state with one account at `endpoint`, and its id. */
function account(form) {
  const answer = cab.applySettings(cab.loadState(null), { accounts: [{ name: 'A', ...form }] }, 'en');
  assert.equal(answer.ok, true, JSON.stringify(answer.errors));
  return { state: answer.state, id: cab.view(answer.state, Date.now(), 'en').accounts[0].id };
}

test('an endless answer is read only up to the core\'s limit, then the connection is dropped', async () => {
  const { state, id } = account({ provider: 'custom-2captcha', apiKey: 'token-0123456789abcdef', endpoint: `${base}/endless` });
  const outcome = await cab.checkBalance(state, id, false);
  assert.deepEqual(outcome, { account: id, ok: false, balance: null, code: 'malformed', detail: 'answer too long', threads: null });
  await endlessClosed;
  assert.ok(endlessBytesSent < 64 * 1024 * 1024, `the module stopped reading: ${endlessBytesSent} bytes were sent`);
});

test('a normal answer reaches the core whole', async () => {
  const { state, id } = account({ provider: 'custom-2captcha', apiKey: 'token-0123456789abcdef', endpoint: `${base}/small` });
  assert.deepEqual(await cab.checkBalance(state, id, false), { account: id, ok: true, balance: '12.5', code: null, detail: null, threads: null });
});

test('a key arrives upstream byte for byte, in the query and in the body', async () => {
  seen.length = 0;
  const get = account({ provider: 'custom-2captcha', apiKey: ODD_KEY, endpoint: `${base}/echo` });
  assert.equal((await cab.checkBalance(get.state, get.id, true)).balance, '7.25');
  const post = account({ provider: 'custom-createtask', apiKey: ODD_KEY, endpoint: `${base}/echo` });
  const read = await cab.checkBalance(post.state, post.id, false);
  assert.equal(read.balance, '3.141592653', 'the JSON number read from its text, to the nano-dollar');
  assert.deepEqual(seen.map(({ method, key }) => ({ method, key })), [
    { method: 'GET', key: ODD_KEY },
    { method: 'POST', key: ODD_KEY },
  ]);
  assert.match(seen[0].query, /^\?key=ab%26c%2Bd%23e%2Ff%3Dg%3Fh%2520i&action=getbalance&json=1&header_acao=1$/);
  assert.equal(seen[1].type, 'application/json');
});

test('an endpoint that never answers is a timeout', async () => {
  const { state, id } = account({ provider: 'custom-2captcha', apiKey: 'token-0123456789abcdef', endpoint: `${base}/hang` });
  const started = Date.now();
  const outcome = await cab.checkBalance(state, id, false);
  assert.equal(outcome.code, 'timeout', JSON.stringify(outcome));
  const waited = Date.now() - started;
  assert.ok(waited >= 14_000 && waited < 30_000, `gave up after ${waited} ms (the core's 15 s)`);
});

test('nothing is sent for an account that may not be asked', async () => {
  seen.length = 0;
  const { state, id } = account({ provider: 'custom-2captcha', apiKey: ODD_KEY, endpoint: 'http://proxy.invalid:8080', allowPlainHttp: true });
  const refused = cab.applySettings(state, { accounts: [{ id, allowPlainHttp: false }] }, 'en');
  assert.equal(refused.ok, false);
  assert.match(refused.errors['accounts.0.endpoint'], /unencrypted/);
  assert.deepEqual(await cab.checkBalance(state, 'no-such-account', false),
    { account: 'no-such-account', ok: false, balance: null, code: 'malformed', detail: 'no such account', threads: null });
  assert.equal(seen.length, 0);
});

test('a caller whose own request throws gets a network failure from the core; a missing grant names its hosts', async () => {
  const { runCheckCycle } = await import(pathToFileURL(path.join(ROOT, 'dist/www/check-cycle.js')).href);
  const { state, id } = account({ provider: 'custom-2captcha', apiKey: 'token-0123456789abcdef', endpoint: `${base}/small` });
  let current = state;
  const result = await runCheckCycle(cab, {
    trigger: 'refresh',
    lang: 'en',
    update: (change) => { current = change(current); return current; },
    fetchOutcome: async () => { throw new Error('the caller failed'); },
    history: async () => null,
  });
  assert.equal(result.fetched, true);
  const shown = cab.view(result.state, Date.now(), 'en').accounts[0];
  assert.equal(shown.error.code, 'network');
  assert.doesNotMatch(JSON.stringify(shown), /the caller failed/, 'the thrown message is never passed on');

  const missing = cab.permissionMissing(id, ['http://balance-proxy.test/*', 'https://b.example/*']);
  assert.deepEqual([missing.account, missing.ok, missing.balance, missing.code, missing.detail],
    [id, false, null, 'permission_missing', 'http://balance-proxy.test https://b.example']);
  const threw = cab.requestThrew(id);
  assert.deepEqual([threw.account, threw.ok, threw.code], [id, false, 'network']);
});
