// The Rust server (captchaai-balance-server) on a free loopback port (mock mode unless told
// otherwise), for the widget and extension tests that need the real thing rather than the node
// mock API, and for `make bench`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * The server binary: CAB_SERVER_BIN when set (a Makefile that already built it), otherwise
 * `cargo build -p captchaai-balance-server` (debug, sharing `cargo test`'s dependencies).
 * A failing build is an error, not a skip.
 */
export function serverBinary() {
  if (process.env.CAB_SERVER_BIN) return process.env.CAB_SERVER_BIN;
  const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: ROOT, encoding: 'utf8' }));
  execFileSync('cargo', ['build', '-q', '-p', 'captchaai-balance-server'], { cwd: ROOT, stdio: 'inherit' });
  const bin = path.join(meta.target_directory, 'debug', 'captchaai-balance-server');
  assert.ok(fs.existsSync(bin), `${bin} missing after cargo build`);
  return bin;
}

/**
 * Start the server serving `wwwDir`; resolves once /healthz answers. Mock mode, unless `env`
 * sets CAPTCHAAI_API_KEY (with `args` such as `--upstream URL`); an `env` value `undefined`
 * removes that variable. `bin`: the binary (default [`serverBinary`]).
 * @param {{ wwwDir: string, bin?: string, args?: string[], env?: Record<string, string | undefined> }} options
 * @returns {Promise<{ base: string, control: (pathname: string, body?: object) => Promise<void>,
 *   upstream: (account?: string) => Promise<number>, log: () => string, close: () => void }>}
 */
export async function startServer({ wwwDir, bin = serverBinary(), args = [], env: extra = {} }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env };
  delete env.CAPTCHAAI_API_KEY; // mock mode
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--static-dir', wwwDir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode != null) assert.fail(`server exited: ${log}`);
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) assert.fail(`server did not answer /healthz: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    async control(pathname, body) {
      const r = await fetch(`${base}${pathname}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      assert.ok(r.ok, `${pathname}: HTTP ${r.status}`);
    },
    /** Calls into one simulated account (the default one without a name). */
    upstream: async (account) => {
      const query = account ? `?account=${encodeURIComponent(account)}` : '';
      return (await (await fetch(`${base}/mock/state${query}`)).json()).upstreamRequests;
    },
    /** Everything it printed so far (shown when a caller fails). */
    log: () => log,
    close: () => child.kill(),
  };
}
