// `make bench`, the server under load: oha (a load generator from crates.io, installed by
// `scripts/setup.sh --bench`) sends requests from 100 concurrent connections for a few seconds
// to the server in mock mode, on a warm cache, and this prints requests per second, p50 and p99
// latency and how many upstream requests the run cost (from /metrics'
// captcha_balance_upstream_requests_total, summed over the accounts). /healthz does no cache
// work and comes first as the baseline: the balance routes are compared against it, on the
// same machine in the same run. Loopback only; client and server share the machine's cores.
// Usage: node scripts/bench-load.mjs <server-binary> [seconds per route]
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const [serverBin, seconds = '5'] = process.argv.slice(2);
const CONNECTIONS = 100;
// The baseline runs first and again last: the spread between its two figures is the noise of
// this machine during the run (other processes share its cores).
const BASELINE = ['/healthz', 'baseline: no cache work'];
const ROUTES = [
  BASELINE,
  ['/res.php?action=getbalance&json=1', 'the default account, 2captcha JSON'],
  ['/v1/accounts', 'all four mock accounts, with forecasts'],
  ['/res.php?action=getbalance', 'the same reading, plain text'],
  [BASELINE[0], 'baseline again'],
];

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port: p } = s.address(); s.close(() => resolve(p)); });
});
const base = `http://127.0.0.1:${port}`;
// The bench measures the server, not its log: the default level logs nothing per request.
const env = { ...process.env, CAPTCHAAI_API_KEY: '' };
delete env.RUST_LOG;
const child = spawn(serverBin, ['--listen', `127.0.0.1:${port}`, '--static-dir', 'dist/www'], {
  stdio: ['ignore', 'ignore', 'pipe'], env,
});
// Its log (a line per upstream reading) would cut through the table: shown only on failure.
let serverLog = '';
child.stderr.on('data', (chunk) => { serverLog += chunk; });

/** One oha run against `path`: its JSON report. */
function oha(path, duration) {
  const out = execFileSync('oha', ['-z', duration, '-c', String(CONNECTIONS), '--no-tui', '--output-format', 'json', `${base}${path}`], { maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

/** The upstream requests so far, every account. */
async function upstreamRequests() {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text.split('\n')
    .filter((line) => line.startsWith('captcha_balance_upstream_requests_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const ms = (s) => `${(s * 1000).toFixed(2)} ms`;
try {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const post = (path, body) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await post('/mock/reset', {});
  console.log(`\n== server under load: oha, ${CONNECTIONS} connections, ${seconds} s per route, warm cache (mock mode, ${execFileSync('oha', ['--version']).toString().trim()})`);
  console.log(`${'route'.padEnd(36)} ${'req/s'.padStart(9)} ${'p50'.padStart(10)} ${'p99'.padStart(10)} ${'failed'.padStart(8)} ${'upstream'.padStart(9)}`);
  oha(BASELINE[0], '1s'); // warm-up: the server's threads and the loopback, not measured
  let baseline;
  for (const [path, what] of ROUTES) {
    await fetch(`${base}${path}`); // warm: the run itself should find the reading cached
    const before = await upstreamRequests();
    const r = oha(path, `${seconds}s`);
    const after = await upstreamRequests();
    // Requests still in flight when the time is up are cut off by oha itself, not failures.
    const errors = Object.entries(r.errorDistribution ?? {})
      .filter(([why]) => why !== 'aborted due to deadline')
      .reduce((a, [, n]) => a + n, 0);
    const non2xx = Object.entries(r.statusCodeDistribution ?? {})
      .filter(([status]) => !status.startsWith('2'))
      .reduce((a, [, n]) => a + n, 0);
    const rps = r.summary.requestsPerSec;
    baseline ??= rps;
    const vs = path === BASELINE[0] ? '' : `, ${(rps / baseline).toFixed(2)}x baseline`;
    console.log(`${path.padEnd(36)} ${rps.toFixed(0).padStart(9)} ${ms(r.latencyPercentiles.p50).padStart(10)} ${ms(r.latencyPercentiles.p99).padStart(10)} ${String(non2xx + errors).padStart(8)} ${String(after - before).padStart(9)}  ${what}${vs}`);
  }
  console.log('failed: non-2xx answers and connection errors; upstream: requests the server sent to the (simulated) providers during the run (a reading is reused for 30 s)');
} catch (error) {
  console.error(serverLog);
  throw error;
} finally {
  child.kill('SIGTERM');
}
