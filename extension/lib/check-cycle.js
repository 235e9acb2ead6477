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
 * @property {(change: (state: object) => object) => Promise<object> | object} update applies
 *   `change` to the current state, stores the result and returns it. Called twice per request
 *   (begin, observe): each call must see what was stored in between (a settings save).
 * @property {boolean} [acao] direct browser mode (`header_acao=1`)
 * @property {(state: object) => Promise<object>} [fetchOutcome] sends the request (default:
 *   the core's `fetchBalance` with the core's timeout); a widget shares one per account here
 * @property {(state: object) => Promise<void> | void} [beforeStore] runs on the begun state
 *   inside `update`'s change, before it is stored (the worker schedules its alarm from it);
 *   `update` must then accept an async change
 * @property {(state: object) => Promise<void> | void} [begun] runs once the begun state is
 *   stored, before the fetch (the widget shows its spinner)
 */

/**
 * @typedef {object} CheckResult
 * @property {boolean} fetched whether a request was sent
 * @property {{ fetch: boolean, reason: string, reasonText?: string, nextCheckAt: number|null }} plan
 * @property {object} state the state after the cycle
 * @property {object | null} alert the core's alert for this outcome (`null`: nothing to say)
 */

/** What a request that threw reads as: fetchBalance never rejects by contract, a caller's own
 * fetch might, and the widgets and the worker must live on. */
function networkFailure() {
  return { ok: false, code: 'network', detail: 'network error', account: null };
}

/**
 * One request with the core's `fetchBalance` and the core's timeout; never rejects.
 * @param {object} cab the wasm module's API
 * @param {object} state the state to ask for
 * @param {boolean} [acao] direct browser mode (`header_acao=1`)
 * @returns {Promise<object>} the core's TaggedOutcome
 */
export async function fetchOutcome(cab, state, acao) {
  try {
    return await cab.fetchBalance(state, cab.fetchTimeoutMs(), Boolean(acao));
  } catch {
    return networkFailure();
  }
}

/**
 * Run one check.
 * @param {object} cab the wasm module's API
 * @param {CheckIo} io
 * @returns {Promise<CheckResult>}
 */
export async function runCheckCycle(cab, io) {
  const { trigger, lang } = io;
  let plan = null;
  const begin = (state) => {
    const now = Date.now();
    plan = cab.planCheck(state, now, trigger, lang);
    return plan.fetch ? cab.beginCheck(state, now) : state;
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
  if (!plan.fetch) return { fetched: false, plan, state: begun, alert: null };
  await io.begun?.(begun);

  let outcome;
  try {
    outcome = await (io.fetchOutcome ? io.fetchOutcome(begun) : fetchOutcome(cab, begun, io.acao));
  } catch {
    outcome = networkFailure();
  }

  let alert = null;
  // Folded into what is stored now: settings may have been saved while the request was out
  // (the core drops an answer for another key or endpoint).
  const state = await io.update((current) => {
    const result = cab.observe(current, outcome, Date.now(), lang);
    alert = result.alert;
    return result.state;
  });
  return { fetched: true, plan, state, alert };
}
