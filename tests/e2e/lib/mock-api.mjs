// A loopback balance API of both protocol families for the browser tests.
//
// It answers `GET /res.php?key=…&action=getbalance&json=1` the way CaptchaAI does (the
// 2captcha family) and `POST /getBalance` with `{"clientKey": KEY}` the way Anti-Captcha,
// CapMonster Cloud and CapSolver do (the createTask family; see docs/API.md): errors arrive
// with HTTP 200 in the body, except the HTTP-level scenarios (429, HTML 502). One scenario
// drives both families. It never logs a key: tests read them back through keysSeen().
//
// CaptchaAI sells plans by threads: `POST /res.php` with the form `key`, `action=threadsinfo`,
// `json=1` answers `{"threads":10,"working_threads":3}` (scenarios `saturated`: every thread
// busy; `expired`: no threads, the money untouched), or the scenario's error. Those requests are
// counted apart (threadsRequests(), threadsKeysSeen()): balanceRequests() stays the balance's.
import http from 'node:http';

/** Default balance per scenario that answers with a number. */
const DEFAULT_BALANCE = { ok: '12.345', low: '0.42', zero: '0.000', slow: '12.345', number: '12.345', saturated: '12.345', expired: '12.345' };

/** A plan's threads per scenario (any other scenario that answers a balance: 10, 3 busy). */
const PLAN = { saturated: { threads: 10, working: 10 }, expired: { threads: 0, working: 0 } };
const DEFAULT_PLAN = { threads: 10, working: 3 };

/** Scenarios answered with `{"status":0,"request":CODE}` and HTTP 200. */
const API_ERRORS = {
  error_zero_balance: 'ERROR_ZERO_BALANCE',
  wrong_key: 'ERROR_WRONG_USER_KEY',
  key_not_found: 'ERROR_KEY_DOES_NOT_EXIST',
  ip_banned: 'IP_BANNED',
  ip_not_allowed: 'ERROR_IP_NOT_ALLOWED',
  server_error: 'ERROR_SERVER_ERROR',
};

/** The same scenarios as createTask answers `{"errorId":1,"errorCode":CODE,…}` (HTTP 200). */
const TASK_ERRORS = {
  error_zero_balance: 'ERROR_ZERO_BALANCE',
  wrong_key: 'ERROR_KEY_DOES_NOT_EXIST',
  key_not_found: 'ERROR_KEY_DOES_NOT_EXIST',
  ip_banned: 'ERROR_IP_BANNED',
  ip_not_allowed: 'ERROR_IP_NOT_ALLOWED',
  server_error: 'ERROR_SERVICE_UNAVALIABLE',
};

const SCENARIOS = new Set([...Object.keys(DEFAULT_BALANCE), ...Object.keys(API_ERRORS), 'rate_limited', 'html_502', 'markup']);

const HTML_502 = '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>' +
  '<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n';

/**
 * A createTask-family answer: the balance as a JSON number (written from the decimal text,
 * so the client must read it exactly), or `errorId` with a code.
 */
function answerTask(send, scenario, balance) {
  const json = (body) => send(200, 'application/json', body);
  if (scenario in TASK_ERRORS) {
    return json(JSON.stringify({ errorId: 1, errorCode: TASK_ERRORS[scenario], errorDescription: 'mock error' }));
  }
  switch (scenario) {
    case 'rate_limited':
      return send(429, 'application/json', JSON.stringify({ errorId: 1, errorCode: 'ERROR_TOO_MUCH_REQUESTS' }));
    case 'html_502':
      return send(502, 'text/html; charset=utf-8', HTML_502);
    case 'markup':
      return json(JSON.stringify({ errorId: 1, errorCode: '<img src=x onerror=alert(1)>' }));
    default:
      return json(`{"errorId":0,"balance":${balance ?? DEFAULT_BALANCE[scenario] ?? DEFAULT_BALANCE.ok}}`);
  }
}

/** A request's body as text. */
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Start the mock API on 127.0.0.1.
 * @param {{ port?: number }} [options] port 0 (default) picks a free one
 * @returns {Promise<{
 *   url: string,
 *   setScenario: (s: { scenario: string, balance?: string, delayMs?: number, threads?: number, working?: number }) => void,
 *   balanceRequests: () => number,
 *   keysSeen: () => string[],
 *   threadsRequests: () => number,
 *   threadsKeysSeen: () => string[],
 *   reset: () => void,
 *   close: () => Promise<void>,
 * }>}
 */
export async function startMockApi({ port = 0 } = {}) {
  let current = { scenario: 'ok', balance: undefined, delayMs: 0 };
  let requests = 0;
  let keys = [];
  let threadsAsked = 0;
  let threadsKeys = [];
  const sockets = new Set();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    // A form POST to res.php (threadsinfo): its fields are read like a query's.
    const form = req.method === 'POST' && url.pathname.endsWith('/res.php')
      ? new URLSearchParams(await readBody(req))
      : null;
    const param = (name) => form?.get(name) ?? url.searchParams.get(name);
    // 2captcha-compatible hosts send CORS headers when asked (`header_acao=1`); createTask
    // hosts always do, and answer the preflight of their JSON POST.
    const acao = param('header_acao') === '1' || url.pathname.endsWith('/getBalance');
    const headers = acao ? { 'Access-Control-Allow-Origin': '*' } : {};
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...headers,
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'content-type',
        'Access-Control-Max-Age': '60',
      });
      res.end();
      return;
    }
    // `/{scenario}/res.php` and `/{scenario}/getBalance` answer that scenario whatever
    // setScenario chose, so one mock can serve several endpoints at once (the wasm-bindgen
    // tests in the browser use this).
    const prefixed = url.pathname.match(/^\/(?:([a-z_0-9]+)\/)?(res\.php|getBalance)$/);
    const pathScenario = prefixed?.[1] && SCENARIOS.has(prefixed[1]) ? prefixed[1] : null;
    const task = prefixed?.[2] === 'getBalance';
    const known = prefixed && (!prefixed[1] || pathScenario);
    const threads = !task && form !== null && param('action') === 'threadsinfo';
    if (!known || (task ? req.method !== 'POST' : !threads && url.searchParams.get('action') !== 'getbalance')) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    let clientKey = '';
    if (task) {
      try {
        clientKey = String(JSON.parse(await readBody(req)).clientKey ?? '');
      } catch {
        clientKey = '';
      }
    }
    if (threads) {
      threadsAsked += 1;
      threadsKeys.push(param('key') ?? '');
    } else {
      requests += 1;
      keys.push(task ? clientKey : url.searchParams.get('key') ?? '');
    }
    const { scenario, balance, delayMs, plan } = pathScenario ? { scenario: pathScenario, delayMs: 0 } : current;
    const delay = delayMs || (scenario === 'slow' ? 3000 : 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (res.destroyed) return;
    const json = param('json') === '1';
    const send = (status, type, body) => {
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    const answer = (status, request) => (json
      ? send(200, 'application/json', JSON.stringify({ status, request }))
      : send(200, 'text/plain', String(request)));

    if (task) return answerTask(send, scenario, balance);
    // A plan given with the scenario answers threadsinfo whatever the balance answers (CaptchaAI
    // says ERROR_ZERO_BALANCE while every thread is busy or no plan is active).
    if (scenario in API_ERRORS && !(threads && plan)) return answer(0, API_ERRORS[scenario]);
    if (threads && !['rate_limited', 'html_502'].includes(scenario)) {
      const { threads: total, working } = plan ?? PLAN[scenario] ?? DEFAULT_PLAN;
      return json
        ? send(200, 'application/json', JSON.stringify({ threads: total, working_threads: working }))
        : send(200, 'text/plain', 'ERROR_WRONG_ACTION');
    }
    switch (scenario) {
      case 'rate_limited':
        return send(429, 'application/json', JSON.stringify({ status: 0, request: 'ERROR_TOO_MUCH_REQUESTS' }));
      case 'html_502':
        return send(502, 'text/html; charset=utf-8', HTML_502);
      case 'markup':
        return answer(1, '<img src=x onerror=alert(1)>');
      case 'number':
        // Some 2captcha clones send the balance as a JSON number.
        return json
          ? send(200, 'application/json', `{"status":1,"request":${balance ?? DEFAULT_BALANCE.number}}`)
          : send(200, 'text/plain', balance ?? DEFAULT_BALANCE.number);
      default:
        return answer(1, balance ?? DEFAULT_BALANCE[scenario] ?? DEFAULT_BALANCE.ok);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: actual } = server.address();

  return {
    url: `http://127.0.0.1:${actual}`,
    setScenario({ scenario, balance, delayMs, threads, working } = {}) {
      if (!SCENARIOS.has(scenario)) throw new Error(`unknown mock scenario: ${scenario}`);
      const plan = threads === undefined ? undefined : { threads, working: working ?? 0 };
      current = { scenario, balance, delayMs: delayMs ?? 0, plan };
    },
    balanceRequests: () => requests,
    keysSeen: () => [...keys],
    threadsRequests: () => threadsAsked,
    threadsKeysSeen: () => [...threadsKeys],
    reset() {
      current = { scenario: 'ok', balance: undefined, delayMs: 0 };
      requests = 0;
      keys = [];
      threadsAsked = 0;
      threadsKeys = [];
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `count` CaptchaAI accounts as the worker stores them (`state.accounts`), at this mock's
 * endpoints (`url`), every third low; each with its own key and the default example rates.
 */
export function manyAccounts(count, url) {
  return Array.from({ length: count }, (_, i) => ({
    settings: {
      name: `Account ${String(i + 1).padStart(2, '0')}`,
      provider: 'captchaai',
      apiKey: (i + 1).toString(16).padStart(32, 'a'),
      endpoint: `${url}/${i % 3 === 2 ? 'low' : 'ok'}`,
      threshold: '1',
    },
  }));
}
