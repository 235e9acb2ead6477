/**
 * The check cycle's request in node (no browser): an answer is read only up to the core's
 * limit, so an endpoint that answers without end costs one small read, and a normal answer
 * reaches the core whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { fetchOutcome } = await import(pathToFileURL(path.join(ROOT, 'dist/www/check-cycle.js')).href);

const LIMIT = 4097;
let server;
let base;
let endlessBytesSent = 0;
let endlessClosed = null;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/small/res.php') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":1,"request":"12.5"}');
      return;
    }
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

/** The wasm module's API as far as `fetchOutcome` uses it; `classifyResponse` hands the text back. */
function fakeCab(url) {
  return {
    balanceRequest: () => ({ request: { method: 'GET', url } }),
    fetchTimeoutMs: () => 10_000,
    answerReadLimit: () => LIMIT,
    classifyResponse: (state, account, status, contentType, text) => ({ account, status, contentType, text }),
    requestFailed: (account, timedOut) => ({ account, failed: true, timedOut }),
  };
}

test('an endless answer is read only up to the core\'s limit, then the connection is dropped', async () => {
  const outcome = await fetchOutcome(fakeCab(`${base}/endless/res.php`), {}, 'a1');
  assert.equal(outcome.failed, undefined, JSON.stringify(outcome).slice(0, 200));
  assert.equal(outcome.text.length, LIMIT, 'exactly the limit reaches the core (which calls it too long)');
  await endlessClosed;
  assert.ok(endlessBytesSent < 64 * 1024 * 1024, `the page stopped reading: ${endlessBytesSent} bytes were sent`);
});

test('a normal answer reaches the core whole', async () => {
  const outcome = await fetchOutcome(fakeCab(`${base}/small/res.php`), {}, 'a1');
  assert.equal(outcome.text, '{"status":1,"request":"12.5"}');
  assert.equal(outcome.status, 200);
  assert.equal(outcome.contentType, 'application/json');
});
