// `make bench`, the server under load: oha (a load generator from crates.io, installed by
// `scripts/setup.sh --bench`) sends requests from 100 concurrent connections for a few seconds
// to the server in proxy mode, on a warm cache, and this prints requests per second, p50 and p99
// latency and how many upstream requests the run cost. The upstream is a second server in mock
// mode on loopback, so an upstream request is a real HTTP request, counted twice: by the proxy
// (/metrics' captcha_balance_upstream_requests_total) and by the upstream itself (its served
// /res.php requests); the two must agree. /healthz does no cache work and comes first as the
// baseline: the balance routes are compared against it, on the same machine in the same run.
// Loopback only; client, server and upstream share the machine's cores.
// Usage: node scripts/bench-load.mjs <server-binary> [seconds per route]
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer } from '../tests/e2e/lib/server.mjs';

const execFileAsync = promisify(execFile);
const [serverBin, seconds = '5'] = process.argv.slice(2);
const CONNECTIONS = 100;
// The baseline runs first and again last: the spread between its two figures is the noise of
// this machine during the run (other processes share its cores).
const BASELINE = ['/healthz', 'baseline: no cache work'];
const ROUTES = [
  BASELINE,
  ['/res.php?action=getbalance&json=1', 'the default account, 2captcha JSON'],
  ['/v1/accounts', 'the account list, with its forecast'],
  ['/res.php?action=getbalance', 'the same reading, plain text'],
  // Longer than a reading is reused (the 30 s cache, lengthened to CaptchaAI's one-minute
  // politeness floor): the load crosses an expiry, and the count shows what that cost.
  ['/res.php?action=getbalance&json=1', 'across a cache expiry (65 s)', '65'],
  [BASELINE[0], 'baseline again'],
];

// The bench measures the server, not its log: the default level logs nothing per request.
// Their logs (a line per upstream reading) would cut through the table: shown only on failure.
const quiet = { RUST_LOG: undefined };
// The upstream: mock mode (its /res.php plays the simulated `production` account).
const upstream = await startServer({ wwwDir: 'dist/www', bin: serverBin, env: quiet });
// The measured server: proxy mode, one account with a made-up key, the default 30 s cache.
const proxy = await startServer({
  wwwDir: 'dist/www', bin: serverBin, args: ['--upstream', upstream.base],
  env: { ...quiet, CAPTCHAAI_API_KEY: '0123456789abcdef0123456789abcdef' },
});
const base = proxy.base;
const upstreamBase = upstream.base;

/** One oha run against `path`: its JSON report. Asynchronous: a blocked event loop would keep
 * fetch's pooled connections past the server's idle timeout, and the next fetch would fail. */
async function oha(path, duration) {
  const { stdout } = await execFileAsync('oha', ['-z', duration, '-c', String(CONNECTIONS), '--no-tui', '--output-format', 'json', `${base}${path}`], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

/** The sum of a metric's series whose line starts with `prefix`, at `server`. */
async function metricSum(server, prefix) {
  const text = await (await fetch(`${server}/metrics`)).text();
  return text.split('\n')
    .filter((line) => line.startsWith(prefix))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * The upstream requests so far: as the proxy counts them (its balance requests and, the
 * account being CaptchaAI, the threadsinfo request beside each), and as the upstream does
 * (every /res.php request it served).
 */
async function upstreamRequests() {
  const balance = await metricSum(base, 'captcha_balance_upstream_requests_total{');
  const threads = await metricSum(base, 'captcha_threads_upstream_requests_total{');
  return {
    balance,
    threads,
    sent: balance + threads,
    served: await metricSum(upstreamBase, 'captcha_balance_requests_served_total{route="res_php"'),
  };
}

const ms = (s) => `${(s * 1000).toFixed(2)} ms`;
try {
  console.log(`\n== server under load: oha, ${CONNECTIONS} connections, ${seconds} s per route, warm cache (proxy mode in front of a mock-mode server on loopback, ${execFileSync('oha', ['--version']).toString().trim()})`);
  console.log(`${'route'.padEnd(36)} ${'req/s'.padStart(9)} ${'p50'.padStart(10)} ${'p99'.padStart(10)} ${'failed'.padStart(8)} ${'upstream'.padStart(9)}`);
  await oha(BASELINE[0], '1s'); // warm-up: the server's threads and the loopback, not measured
  let baseline;
  let totalSent = 0;
  let totalServed = 0;
  let totalThreads = 0;
  const began = Date.now();
  for (const [path, what, routeSeconds = seconds] of ROUTES) {
    await fetch(`${base}${path}`); // warm: the run itself should find the reading cached
    const before = await upstreamRequests();
    const r = await oha(path, `${routeSeconds}s`);
    const after = await upstreamRequests();
    const sent = after.sent - before.sent;
    const served = after.served - before.served;
    totalSent += sent;
    totalServed += served;
    totalThreads += after.threads - before.threads;
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
    console.log(`${path.padEnd(36)} ${rps.toFixed(0).padStart(9)} ${ms(r.latencyPercentiles.p50).padStart(10)} ${ms(r.latencyPercentiles.p99).padStart(10)} ${String(non2xx + errors).padStart(8)} ${String(sent).padStart(9)}  ${what}${vs}`);
  }
  console.log(`upstream requests during the ${((Date.now() - began) / 1000).toFixed(0)} s of load: ${totalSent} sent by the server (${totalSent - totalThreads} balance, ${totalThreads} threadsinfo), ${totalServed} received by the upstream (a reading is reused for a minute, CaptchaAI's politeness floor; the watcher's own checks count too)`);
  if (totalSent !== totalServed) throw new Error(`the server counted ${totalSent} upstream requests, the upstream ${totalServed}`);
  console.log('failed: non-2xx answers and connection errors; upstream: requests the server sent to its upstream during that route\'s run');
} catch (error) {
  console.error(proxy.log(), upstream.log());
  throw error;
} finally {
  proxy.close();
  upstream.close();
}
