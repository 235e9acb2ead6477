// A loopback createTask-family balance API (Anti-Captcha, CapMonster Cloud, CapSolver) for the
// browser tests.
//
// It answers `POST /getBalance` with the JSON body `{"clientKey": KEY}` the way those hosts do
// (see docs/API.md): `{"errorId":0,"balance":12.3456}` with the balance as a JSON number, or
// `{"errorId":N,"errorCode":"ERROR_…","errorDescription":"…"}`. Like the real hosts it sends
// CORS headers itself and answers the preflight a JSON POST needs. Anything else (a 2captcha
// `GET /res.php`) is a 404. It never logs a key: tests read them back through keysSeen().
import http from 'node:http';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST',
  'Access-Control-Allow-Headers': 'content-type',
  'Access-Control-Max-Age': '60',
};

/**
 * Start the mock API on 127.0.0.1 (a free port).
 * @returns {Promise<{
 *   url: string,
 *   set: (answer: { balance?: string, errorCode?: string, status?: number }) => void,
 *   balanceRequests: () => number,
 *   keysSeen: () => string[],
 *   reset: () => void,
 *   close: () => Promise<void>,
 * }>}
 */
export async function startCreateTaskApi() {
  let answer = { balance: '12.3456' };
  let requests = 0;
  let keys = [];
  const sockets = new Set();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS);
      res.end();
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/getBalance') {
      res.writeHead(404, { ...CORS, 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    requests += 1;
    let clientKey = '';
    try {
      clientKey = String(JSON.parse(body).clientKey ?? '');
    } catch {
      // a body that is not JSON is answered like a missing key
    }
    keys.push(clientKey);
    const send = (status, text) => {
      res.writeHead(status, { ...CORS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(text);
    };
    if (!clientKey) return send(200, JSON.stringify({ errorId: 1, errorCode: 'ERROR_KEY_DOES_NOT_EXIST', errorDescription: 'Account authorization key not found in the system' }));
    if (answer.errorCode) {
      return send(answer.status ?? 200, JSON.stringify({ errorId: 1, errorCode: answer.errorCode, errorDescription: 'simulated' }));
    }
    // The balance as a JSON number, written from its decimal text (never through a float).
    return send(answer.status ?? 200, `{"errorId":0,"balance":${answer.balance}}`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    set(next) {
      answer = { ...next };
    },
    balanceRequests: () => requests,
    keysSeen: () => [...keys],
    reset() {
      answer = { balance: '12.3456' };
      requests = 0;
      keys = [];
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
