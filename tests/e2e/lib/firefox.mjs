// Drive Debian's firefox-esr through geckodriver's WebDriver REST API with plain `fetch` (no
// npm client needed), with the unpacked Firefox build installed as a temporary add-on. The
// recipe and why each step is needed are in docs/BROWSERS.md ("Firefox").
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OUT_DIR } from './browser.mjs';

/** Where Debian's package puts Firefox ESR (scripts/setup.sh installs it). */
export const FIREFOX_BIN = process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr';

/** WebDriver's key for an element reference in JSON answers. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** geckodriver from PATH, else cargo's bin directory (scripts/setup.sh installs it there). */
function findGeckodriver() {
  if (process.env.GECKODRIVER) return process.env.GECKODRIVER;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), path.join(os.homedir(), '.cargo', 'bin')];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'geckodriver');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether this machine can run the Firefox tests; the message says what to install when not.
 * @returns {{ ok: boolean, message: string, geckodriver: string | null }}
 */
export function firefoxAvailable() {
  const geckodriver = findGeckodriver();
  const missing = [];
  if (!fs.existsSync(FIREFOX_BIN)) missing.push(`${FIREFOX_BIN} (apt-get install firefox-esr)`);
  if (!geckodriver) missing.push('geckodriver (cargo install geckodriver)');
  return {
    ok: missing.length === 0,
    message: missing.length ? `missing ${missing.join(' and ')}: run \`make setup\`` : '',
    geckodriver,
  };
}

/**
 * Start geckodriver and a headless Firefox ESR with a fresh profile, and install
 * `extensionDir` as a temporary add-on.
 * @param {{ extensionDir: string, geckoId: string, logName?: string }} options `geckoId`: the
 *   manifest's browser_specific_settings.gecko.id; `logName`: geckodriver's (and Firefox's)
 *   output goes to test-output/<logName>.
 * @returns {Promise<FirefoxSession>}
 */
export async function launchFirefox({ extensionDir, geckoId, logName = 'firefox.log' }) {
  const { ok, message, geckodriver } = firefoxAvailable();
  if (!ok) throw new Error(message);
  const port = await freePort();
  const logFile = path.join(OUT_DIR, logName);
  const log = fs.openSync(logFile, 'a');
  // --allow-system-access: Firefox 138+ refuses the chrome context (used below to open
  // moz-extension:// pages) unless the driver asks for it.
  const driver = spawn(geckodriver, ['--port', String(port), '--binary', FIREFOX_BIN, '--allow-system-access'],
    { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => driver.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;

  const request = async (method, url, body) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok || json.value?.error) {
      const error = json.value ?? {};
      throw new Error(`WebDriver ${method} ${url}: ${error.error ?? response.status}: ${error.message ?? ''}`);
    }
    return json.value;
  };

  try {
    await waitUntil(async () => (await request('GET', '/status').catch(() => null))?.ready === true,
      15_000, `geckodriver on port ${port} (log: ${logFile})`);
    // A fixed internal UUID gives the add-on a known moz-extension:// host.
    const uuid = crypto.randomUUID();
    const session = await request('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'firefox',
          'moz:firefoxOptions': {
            binary: FIREFOX_BIN,
            args: ['-headless'],
            prefs: {
              'extensions.webextensions.uuids': JSON.stringify({ [geckoId]: uuid }),
              // English UI, whatever the machine's locale: the tests read English labels.
              'intl.locale.requested': 'en-US',
              // Console messages of pages (extension pages included) and of the browser go to
              // the log, where the tests look for the key.
              'devtools.console.stdout.content': true,
              'devtools.console.stdout.chrome': true,
              // Nothing but loopback: every other request (Firefox's own update, experiment and
              // safe-browsing fetches) goes to a proxy on a closed loopback port and fails
              // there. Loopback itself never goes through a proxy in Firefox.
              'network.proxy.type': 1,
              'network.proxy.http': '127.0.0.1',
              'network.proxy.http_port': 9,
              'network.proxy.ssl': '127.0.0.1',
              'network.proxy.ssl_port': 9,
              'network.proxy.share_proxy_settings': true,
              'network.dns.disablePrefetch': true,
              'network.captive-portal-service.enabled': false,
              'network.connectivity-service.enabled': false,
            },
          },
        },
      },
    });
    const firefox = new FirefoxSession({ request, id: session.sessionId, uuid, capabilities: session.capabilities,
      close: async () => {
        driver.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (driver.exitCode === null) driver.kill('SIGKILL');
        fs.closeSync(log);
      } });
    const installed = await firefox.command('POST', '/moz/addon/install', { path: path.resolve(extensionDir), temporary: true });
    if (installed !== geckoId) throw new Error(`installed add-on id ${installed}, expected ${geckoId}`);
    return firefox;
  } catch (error) {
    driver.kill('SIGKILL');
    fs.closeSync(log);
    throw error;
  }
}

/** One WebDriver session with the add-on installed. */
class FirefoxSession {
  constructor({ request, id, uuid, capabilities, close }) {
    this.request = request;
    this.id = id;
    /** The add-on's host: pages are at `moz-extension://<uuid>/…`. */
    this.uuid = uuid;
    /** Firefox's own name and version, from the session (e.g. "firefox 153.8.0"). */
    this.browser = `${capabilities.browserName} ${capabilities.browserVersion}`;
    this.closeDriver = close;
  }

  /** A command of this session: `command('GET', '/url')` → its `value`. */
  command(method, url, body) {
    return this.request(method, `/session/${this.id}${url}`, body);
  }

  /**
   * Open `moz-extension://<uuid>/<page>` in the current tab. WebDriver may not navigate to
   * extension pages from content, so the browser window opens it from the chrome context.
   * @param {string} page e.g. "options.html"
   */
  async openExtensionPage(page) {
    const url = `moz-extension://${this.uuid}/${page}`;
    await this.command('POST', '/moz/context', { context: 'chrome' });
    try {
      await this.command('POST', '/execute/sync', {
        script: "Services.wm.getMostRecentWindow('navigator:browser').openTrustedLinkIn(arguments[0], 'current');",
        args: [url],
      });
    } finally {
      await this.command('POST', '/moz/context', { context: 'content' });
    }
    await waitUntil(async () => (await this.command('GET', '/url')) === url
      && (await this.execute(() => document.readyState)) === 'complete', 15_000, `${url} to load`);
  }

  /**
   * Run `fn(...args)` in the current page (an extension page can use `browser.*`); a returned
   * promise is awaited.
   */
  execute(fn, ...args) {
    return this.command('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments);`, args });
  }

  /** @returns {Promise<Element>} the first element matching a CSS selector */
  async find(selector) {
    const value = await this.command('POST', '/element', { using: 'css selector', value: selector });
    return new Element(this, value[ELEMENT]);
  }

  /** The form control a `<label>` with exactly this text points at (as a user finds it). */
  async byLabel(text) {
    const label = await this.command('POST', '/element', {
      using: 'xpath', value: `//label[normalize-space(.)=${xpathString(text)}]`,
    });
    const target = await this.command('GET', `/element/${label[ELEMENT]}/property/htmlFor`);
    if (target) return this.find(`#${target}`);
    const nested = await this.command('POST', `/element/${label[ELEMENT]}/element`, { using: 'css selector', value: 'input' });
    return new Element(this, nested[ELEMENT]);
  }

  /** The element whose visible text is exactly `text` (a button, a summary …). */
  async byText(text, tag = '*') {
    const value = await this.command('POST', '/element', {
      using: 'xpath', value: `//${tag}[normalize-space(.)=${xpathString(text)}]`,
    });
    return new Element(this, value[ELEMENT]);
  }

  /** Resize the window (the page's viewport follows in headless mode). */
  setWindowSize(width, height) {
    return this.command('POST', '/window/rect', { width, height });
  }

  /** Save a PNG of the whole page (not only the viewport) to `file`. */
  async screenshot(file) {
    const png = await this.command('GET', '/moz/screenshot/full');
    fs.writeFileSync(file, Buffer.from(png, 'base64'));
    return file;
  }

  async close() {
    await this.command('DELETE', '').catch(() => {});
    await this.closeDriver();
  }
}

class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }

  command(method, url, body) {
    return this.session.command(method, `/element/${this.id}${url}`, body);
  }

  click() { return this.command('POST', '/click', {}); }

  /** Replace the field's value by typing `text`, key by key. */
  async type(text) {
    await this.command('POST', '/clear', {});
    if (text) await this.command('POST', '/value', { text });
  }

  text() { return this.command('GET', '/text'); }

  selected() { return this.command('GET', '/selected'); }

  displayed() { return this.command('GET', '/displayed'); }
}

/** An XPath string literal for `text` (which may hold either kind of quote). */
function xpathString(text) {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it is truthy; throws naming `what` after `timeoutMs`. */
export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
