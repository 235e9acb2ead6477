/**
 * @file The check cycle both the extension's worker and the `<captchaai-balance>` widget run:
 * plan -> begin -> fetch -> observe. Every decision is the wasm core's; this file only orders
 * the calls. Where the state lives (chrome.storage behind the worker's write queue, or a
 * widget's memory) and how a request is shared stay with the caller.
 *
 * The request is marked in the state (`beginCheck`) and that state is stored before the fetch:
 * a caller that dies mid-request (a stopped service worker) still holds the one-request-a-minute
 * floor. Its next wake-up is scheduled by the `beforeStore` hook, inside the same change and so
 * before the begun state is stored: once that state is stored (and a one-shot alarm may already
 * be used up) the wake-up exists.
 *
 * Plain ES module with no imports: scripts/build.sh copies it next to the widget.
 */

/**
 * @typedef {object} CheckIo
 * @property {'alarm'|'open'|'refresh'|'settings'} trigger what asks for the check
 * @property {string} lang UI language for the core's sentences
 * @property {string} [only] an account id: check only that account (a Refresh in its details)
 * @property {(change: (state: object) => object) => Promise<object> | object} update applies
 *   `change` to the current state, stores the result and returns it. Called once to begin and
 *   once per answer: each call must see what was stored in between (a settings save, another
 *   account's answer).
 * @property {boolean} [acao] direct browser mode (`header_acao=1`)
 * @property {(state: object, account: string) => Promise<object>} [fetchOutcome] sends one
 *   account's request (default: {@link fetchOutcome}); a widget shares one per account here
 * @property {(state: object) => Promise<void> | void} [beforeStore] runs on the begun state
 *   inside `update`'s change, before it is stored (the worker schedules its alarm from it);
 *   `update` must then accept an async change
 * @property {(state: object) => Promise<void> | void} [begun] runs once the begun state is
 *   stored, before the requests (the widget shows its spinner)
 */

/**
 * @typedef {object} CheckResult
 * @property {boolean} fetched whether any request was sent
 * @property {{ fetch: boolean, due: string[], reason: string, reasonText?: string,
 *   nextCheckAt: number|null }} plan
 * @property {object} state the state after the cycle
 * @property {object[]} alerts the core's alerts for these answers, one per account that has
 *   something to say (each names its account)
 */

/**
 * One account's request, as the core describes it, with the browser's fetch and the core's
 * timeout; never rejects. The request holds the key, so neither it nor a fetch error is ever
 * logged or passed on: a failure becomes the core's `requestFailed` outcome.
 * @param {object} cab the wasm module's API
 * @param {object} state the state to ask for
 * @param {string} account the account's id
 * @param {boolean} [acao] direct browser mode (`header_acao=1`)
 * @returns {Promise<object>} the core's TaggedOutcome
 */
export async function fetchOutcome(cab, state, account, acao) {
  const asked = cab.balanceRequest(state, account, Boolean(acao));
  if (!asked.request) return asked.outcome;
  const { method, url, body } = asked.request;
  try {
    const response = await fetch(url, {
      method,
      body,
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(cab.fetchTimeoutMs()),
    });
    const text = await readCapped(response, cab.answerReadLimit());
    return cab.classifyResponse(state, account, response.status, response.headers.get('content-type'), text);
  } catch (error) {
    return cab.requestFailed(account, error?.name === 'TimeoutError' || error?.name === 'AbortError');
  }
}

/**
 * The body's first `limit` bytes as text; the rest is never read (the stream is cancelled), so
 * an endpoint that answers without end costs one small read. The core still sees a body of
 * `limit` bytes as too long.
 * @param {Response} response
 * @param {number} limit
 * @returns {Promise<string>}
 */
export async function readCapped(response, limit) {
  if (!response.body) return (await response.text()).slice(0, limit);
  const reader = response.body.getReader();
  const bytes = new Uint8Array(limit);
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    const part = value.subarray(0, limit - size);
    bytes.set(part, size);
    size += part.length;
  }
  reader.cancel().catch(() => {});
  return new TextDecoder().decode(bytes.subarray(0, size));
}

/**
 * Run one check of every due account (or of `io.only`).
 * @param {object} cab the wasm module's API
 * @param {CheckIo} io
 * @returns {Promise<CheckResult>}
 */
export async function runCheckCycle(cab, io) {
  const { trigger, lang } = io;
  let plan = null;
  const begin = (state) => {
    const now = Date.now();
    plan = cab.planCheck(state, now, trigger, lang, io.only);
    return plan.fetch ? cab.beginCheck(state, now, plan.due) : state;
  };
  // Only an async hook makes the change async: a widget's in-memory update stays synchronous.
  const { beforeStore } = io;
  const begun = await io.update(beforeStore
    ? async (state) => {
      const next = begin(state);
      if (plan.fetch) await beforeStore(next);
      return next;
    }
    : begin);
  if (!plan.fetch) return { fetched: false, plan, state: begun, alerts: [] };
  await io.begun?.(begun);

  const alerts = [];
  let state = begun;
  // Every due account at once; each answer is folded into what is stored when it arrives
  // (settings may have been saved meanwhile: the core drops an answer for an account that is
  // gone or changed its key or endpoint).
  await Promise.all(plan.due.map(async (account) => {
    let outcome;
    try {
      outcome = await (io.fetchOutcome
        ? io.fetchOutcome(begun, account)
        : fetchOutcome(cab, begun, account, io.acao));
    } catch {
      // A caller's own fetch may throw; the worker and the widgets must live on.
      outcome = cab.requestFailed(account, false);
    }
    state = await io.update((current) => {
      const result = cab.observe(current, outcome, Date.now(), lang);
      if (result.alert) alerts.push(result.alert);
      return result.state;
    });
  }));
  return { fetched: true, plan, state, alerts };
}
