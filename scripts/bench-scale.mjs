// `make bench`, the server at a team's scale ("Running it for a team" in README.md): the real
// binary in proxy mode with thousands of accounts, every one a real HTTP request to a loopback
// stand-in of the provider's API, and the figures the server is held to, each beside its target:
//
//   - time from spawn to the first `/healthz` 200, RSS and open file descriptors once the first
//     readings are done and it idles (from /proc/PID/status and /proc/PID/fd), the peak RSS;
//   - upstream requests per key over the politeness floor (the stand-in counts them per key),
//     and the busiest second (all first readings at once, or spread over the floor);
//   - a 50 MiB alert backlog for a webhook target that is down: `/healthz` p99 and the balances
//     served while the readings keep deciding alerts;
//   - the floor across 5 restarts in a row, and 20 concurrent `check` runs on one data dir.
//
// Why accounts.toml and a stand-in rather than a flag that multiplies mock mode's accounts: the
// figures are about the proxy path (its HTTP client, connection pool, file descriptors, the
// schedule of upstream requests per key), which a simulated account never takes.
//
// Usage: node scripts/bench-scale.mjs <server-binary> [accounts ...]   (default: 10000)
// Loopback only; every wait is bounded (BENCH_SCALE_TIMEOUT seconds to serve, default 120).
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const execFileAsync = promisify(execFile);
const [bin, ...counts] = process.argv.slice(2);
if (!bin) throw new Error('usage: node scripts/bench-scale.mjs <server-binary> [accounts ...]');
const SIZES = (counts.length ? counts : (process.env.BENCH_SCALE_ACCOUNTS ?? '10000').split(',')).map(Number);
const SERVE_TIMEOUT_S = Number(process.env.BENCH_SCALE_TIMEOUT ?? 120);
const FLOOR_S = 60; // CaptchaAI's politeness floor
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const keyOf = (i) => (0x5eed0000 + i).toString(16).padStart(32, '0');
const nameOf = (i) => `acct-${String(i).padStart(5, '0')}`;
const help = await execFileAsync(bin, ['--help']).then((r) => r.stdout, () => '');
const hasOutboxFlags = help.includes('--outbox-max-bytes');

/**
 * A stand-in for CaptchaAI's API on loopback (the 2captcha family: `getbalance` by query, and
 * the thread plan's `threadsinfo` by POST form with the key in the body, docs/API.md) that
 * counts each kind of request per key and per second. A check is one balance request and one
 * threadsinfo request, counted apart so the floor's figures stay per check.
 */
async function startUpstream({ delayMs = 0 } = {}) {
  const perKey = new Map(); // key -> [epoch ms of each balance request, ...]
  const threadsPerKey = new Map(); // key -> its threadsinfo requests
  let total = 0;
  let threads = 0;
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const field = (name) => url.searchParams.get(name) ?? form.get(name) ?? '';
      const key = field('key');
      const isThreads = field('action') === 'threadsinfo';
      if (isThreads) {
        threads += 1;
        threadsPerKey.set(key, (threadsPerKey.get(key) ?? 0) + 1);
      } else {
        total += 1;
        const times = perKey.get(key) ?? [];
        times.push(Date.now());
        perKey.set(key, times);
      }
      const answer = () => {
        res.setHeader('content-type', 'application/json');
        res.end(isThreads ? '{"threads":10,"working_threads":3}' : '{"status":1,"request":"25.50"}');
      };
      if (delayMs) setTimeout(answer, delayMs); else answer();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.maxConnections = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    perKey,
    threadsPerKey,
    total: () => total,
    threads: () => threads,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** An accounts.toml of `n` CaptchaAI accounts at `upstream`, keys in K00000…; its environment. */
function accountsFile(dir, n, upstream, { threshold = '1', webhook = '' } = {}) {
  const env = {};
  const lines = [];
  for (let i = 0; i < n; i += 1) {
    const keyEnv = `BENCH_KEY_${i}`;
    env[keyEnv] = keyOf(i);
    lines.push(`[[account]]\nname = "${nameOf(i)}"\nprovider = "captchaai"\nkey_env = "${keyEnv}"\nthreshold = "${threshold}"\nendpoint = "${upstream}"\n`);
  }
  const file = path.join(dir, 'accounts.toml');
  fs.writeFileSync(file, lines.join('\n') + webhook);
  return { file, env };
}

/** Spawns the server; resolves when /healthz answers 200 (or the bound passes). */
async function startServer(args, env) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const childEnv = { ...process.env };
  delete childEnv.CAPTCHAAI_API_KEY; // unless `env` sets it: proxy mode by accounts.toml
  Object.assign(childEnv, env);
  const began = performance.now();
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--static-dir', '/nonexistent', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d) => { log = (log + d).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let servedMs = null;
  while (performance.now() - began < SERVE_TIMEOUT_S * 1000 && child.exitCode == null) {
    const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) { servedMs = performance.now() - began; break; }
    await sleep(10);
  }
  return {
    base, child, servedMs, log: () => log,
    stop: async () => {
      if (child.exitCode != null) return;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** VmRSS and VmHWM (MiB) and open file descriptors of a process. */
function usage(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number((status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm')) ?? [0, NaN])[1]);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rss: NaN, hwm: NaN, fds: NaN };
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const rows = [];
const row = (figure, value, target = '') => {
  rows.push([figure, value, target]);
  console.log(`${figure.padEnd(58)} ${String(value).padStart(22)}  ${target}`);
};
const mib = (n) => (Number.isFinite(n) ? `${n.toFixed(0)} MiB` : 'n/a');

async function scale(n) {
  console.log(`\n-- ${n} accounts (CaptchaAI protocol, one loopback host), --data-dir on a fresh directory`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cab-scale-${n}-`));
  const upstream = await startUpstream();
  const { file, env } = accountsFile(dir, n, upstream.url);
  const server = await startServer(['--config', file, '--data-dir', path.join(dir, 'data')], env);
  try {
    const pid = server.child.pid;
    if (server.servedMs == null) {
      const u = usage(pid);
      row('time from spawn to the first /healthz 200', `did not serve within ${SERVE_TIMEOUT_S} s`, 'target: <= 2 s');
      row('RSS / open fds when given up', `${mib(u.rss)} / ${u.fds}`, '');
      row('upstream requests sent by then', upstream.total(), '');
      return;
    }
    row('time from spawn to the first /healthz 200', `${(server.servedMs / 1000).toFixed(2)} s`, 'target: <= 2 s');
    // One politeness window and a little: every key is due once in it.
    const windowEnd = performance.now() + (FLOOR_S + 8) * 1000;
    let peakFds = 0;
    while (performance.now() < windowEnd) {
      peakFds = Math.max(peakFds, usage(pid).fds);
      await sleep(1000);
    }
    // Idle: the first round is done and the next checks are minutes away.
    await sleep(2000);
    const idle = usage(pid);
    row('RSS at idle after the first readings', mib(idle.rss), 'target: < 200 MiB');
    row('peak RSS (VmHWM)', mib(idle.hwm), '');
    row('open file descriptors at idle', idle.fds, 'target: < 100');
    row('peak open file descriptors during the first readings', peakFds, '');
    const times = [...upstream.perKey.values()];
    const asked = times.length;
    let tooSoon = 0;
    let maxPerKey = 0;
    const perSecond = new Map();
    for (const t of times) {
      maxPerKey = Math.max(maxPerKey, t.length);
      for (let i = 1; i < t.length; i += 1) if (t[i] - t[i - 1] < FLOOR_S * 1000) tooSoon += 1;
      for (const at of t) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    }
    const seconds = [...perSecond.keys()].sort((a, b) => a - b);
    const spanS = seconds.length ? seconds[seconds.length - 1] - seconds[0] + 1 : 0;
    row(`keys asked within ${FLOOR_S + 8} s of serving`, `${asked} of ${n}`, `target: all ${n}`);
    row('balance requests for one key, most (second ones within the floor)', `${maxPerKey} (${tooSoon})`, 'target: 1 (0)');
    row('threadsinfo requests for one key, most', Math.max(0, ...upstream.threadsPerKey.values()), 'target: 1, beside its balance request');
    row('busiest second: balance requests to the one provider host', Math.max(0, ...perSecond.values()), `spread: about ${Math.ceil(n / FLOOR_S)} a second`);
    row('first readings spread over', `${spanS} s`, `target: the ${FLOOR_S} s floor`);
  } finally {
    await server.stop();
    upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `_alerts.json` as the server before this change wrote it, with `bytes` of pending messages
 * for `target`: an upgrade migrates it, so both builds start with the same backlog. */
function alertMemory(dataDir, target, bytes) {
  fs.mkdirSync(dataDir, { recursive: true });
  const at = Date.now() - 3_600_000;
  const text = 'x'.repeat(900);
  const entries = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const body = JSON.stringify({ id: `old-${i}`, kind: 'warning', message: text });
    size += body.length;
    entries.push(JSON.stringify({ id: `old-${i}`, target, body, at: at + i }));
  }
  fs.writeFileSync(path.join(dataDir, '_alerts.json'), `{"version":1,"accounts":{},"outbox":[${entries.join(',')}]}`);
  return entries.length;
}

async function backlog() {
  const n = 200;
  const mibs = 50;
  console.log(`\n-- a webhook target that is down, ${mibs} MiB of pending alerts, ${n} accounts each deciding a warning at its first reading`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-backlog-'));
  const upstream = await startUpstream();
  const down = `http://127.0.0.1:${await freePort()}/hook`; // nothing listens: connection refused
  const webhook = '\n[[webhook]]\nformat = "generic"\nurl_env = "BENCH_HOOK_URL"\n';
  const { file, env } = accountsFile(dir, n, upstream.url, { threshold: '1000', webhook });
  const data = path.join(dir, 'data');
  const messages = alertMemory(data, 'BENCH_HOOK_URL', mibs << 20);
  // The bounds are raised to hold the whole backlog, so the figure is about a big backlog,
  // not about the default bound dropping it (that is counted below with the defaults).
  const bounds = hasOutboxFlags ? ['--outbox-max-messages', '1000000', '--outbox-max-bytes', String(64 << 20)] : [];
  const server = await startServer(['--config', file, '--data-dir', data, ...bounds], { ...env, BENCH_HOOK_URL: down });
  try {
    if (server.servedMs == null) {
      row(`/healthz with a ${mibs} MiB backlog`, `did not serve within ${SERVE_TIMEOUT_S} s`, 'target: p99 < 50 ms');
      return;
    }
    row(`time to the first /healthz 200 (${messages} pending messages)`, `${(server.servedMs / 1000).toFixed(2)} s`, '');
    const healthz = [];
    const balances = [];
    let healthzFailed = 0;
    let balanceFailed = 0;
    const until = performance.now() + 6000;
    const timed = async (url, into) => {
      const t = performance.now();
      const ok = await fetch(url, { signal: AbortSignal.timeout(30_000) }).then(async (r) => r.ok && (await r.text()).includes('25.5'), () => false);
      into.push(performance.now() - t);
      return ok;
    };
    // /healthz from two clients back to back for 6 s, while pages read every account once.
    const probes = [0, 1].map(async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const ok = await fetch(`${server.base}/healthz`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.ok, () => false);
        healthz.push(performance.now() - t);
        if (!ok) healthzFailed += 1;
        await sleep(5);
      }
    });
    let next = 0;
    const readers = Array.from({ length: 10 }, async () => {
      while (next < n && performance.now() < until + 30_000) {
        const i = next;
        next += 1;
        if (!(await timed(`${server.base}/accounts/${nameOf(i)}/res.php?action=getbalance&json=1`, balances))) balanceFailed += 1;
      }
    });
    await Promise.all([...probes, ...readers]);
    const h = healthz.sort((a, b) => a - b);
    const b = balances.sort((a, b) => a - b);
    row(`/healthz over 6 s: p50 / p99 / max (${h.length} requests)`, `${percentile(h, 50).toFixed(1)} / ${percentile(h, 99).toFixed(1)} / ${h[h.length - 1].toFixed(0)} ms`, 'target: p99 < 50 ms');
    row(`balances read: served / p99 (${n} accounts)`, `${b.length - balanceFailed} / ${percentile(b, 99).toFixed(0)} ms`, `target: all ${n}`);
    if (healthzFailed) row('/healthz failures', healthzFailed, '');
    const metrics = await fetch(`${server.base}/metrics`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.text(), () => '');
    const pending = metrics.match(/^captcha_balance_webhook_pending\{target="BENCH_HOOK_URL"\} (\d+)/m)?.[1] ?? 'n/a';
    row('pending messages for the down target afterwards', pending, '');
  } finally {
    await server.stop();
    upstream.close();
  }
  // The same backlog with the default bounds (this build only): the oldest are dropped and
  // counted, and what is kept on disk is bounded.
  if (hasOutboxFlags) {
    const again = await startServer(['--config', file, '--data-dir', data], { ...env, BENCH_HOOK_URL: down });
    try {
      const metrics = await fetch(`${again.base}/metrics`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.text(), () => '');
      const pending = metrics.match(/^captcha_balance_webhook_pending\{target="BENCH_HOOK_URL"\} (\d+)/m)?.[1];
      const dropped = metrics.match(/^captcha_balance_webhook_deliveries_total\{target="BENCH_HOOK_URL",result="dropped"\} (\d+)/m)?.[1];
      // The drops are written (and the journal compacted) in the background: a few seconds.
      const outboxBytes = () => fs.readdirSync(path.join(data, 'outbox')).reduce((s, f) => s + fs.statSync(path.join(data, 'outbox', f)).size, 0);
      for (let i = 0; i < 100 && outboxBytes() > 4 << 20; i += 1) await sleep(100);
      const onDisk = outboxBytes();
      row('restarted with the default bounds: pending / dropped', `${pending} / ${dropped}`, 'bound: 1000 messages, 1 MiB');
      row('outbox on disk after that restart', `${(onDisk / 1024).toFixed(0)} KiB`, '');
    } finally {
      await again.stop();
    }
  } else {
    const onDisk = fs.statSync(path.join(data, '_alerts.json')).size;
    row('alert memory on disk afterwards (no bound)', `${(onDisk / 1048576).toFixed(1)} MiB`, 'bound: 1000 messages, 1 MiB');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function restarts() {
  console.log('\n-- the politeness floor across 5 restarts in a row (--data-dir kept), a page reading the balance after each start');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-restarts-'));
  const upstream = await startUpstream();
  const args = ['--upstream', upstream.url, '--data-dir', path.join(dir, 'data')];
  const env = { CAPTCHAAI_API_KEY: keyOf(1) };
  let answered = 0;
  const began = performance.now();
  for (let i = 0; i < 5; i += 1) {
    const server = await startServer(args, env);
    const body = await fetch(`${server.base}/res.php?action=getbalance&json=1`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.text(), () => '');
    if (body.includes('25.5')) answered += 1;
    await server.stop();
  }
  row(`balance / threadsinfo requests for the key (5 restarts in ${((performance.now() - began) / 1000).toFixed(1)} s)`, `${upstream.total()} / ${upstream.threads()}`, 'target: 1 / 1');
  row('restarts that answered the balance', `${answered} of 5`, '');
  upstream.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function checks() {
  console.log('\n-- 20 concurrent `check` runs on one --data-dir (the upstream answers after 300 ms)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-checks-'));
  const upstream = await startUpstream({ delayMs: 300 });
  const env = { ...process.env, CAPTCHAAI_API_KEY: keyOf(2) };
  const runs = await Promise.all(Array.from({ length: 20 }, () => execFileAsync(bin, ['check', '--upstream', upstream.url, '--data-dir', path.join(dir, 'data')], { env, timeout: 60_000 })
    .then((r) => r.stdout, (e) => e.stdout ?? '')));
  const read = runs.filter((line) => line.includes('$25.5')).length;
  row('balance / threadsinfo requests for the key', `${upstream.total()} / ${upstream.threads()}`, 'target: 1 / 1');
  row('runs that printed the reading', `${read} of 20`, 'target: 20');
  upstream.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

// BENCH_SCALE_PARTS=scale,backlog,restarts,checks (default: all) runs some of them.
const parts = (process.env.BENCH_SCALE_PARTS ?? 'scale,backlog,restarts,checks').split(',');
console.log(`\n== the server at scale (${bin}; ${os.cpus().length} cores, loopback only)`);
if (parts.includes('scale')) for (const n of SIZES) await scale(n);
if (parts.includes('backlog')) await backlog();
if (parts.includes('restarts')) await restarts();
if (parts.includes('checks')) await checks();
