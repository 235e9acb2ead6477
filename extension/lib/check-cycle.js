/**
 * @file The check cycle both the extension's worker and the `<captchaai-balance>` widget run:
 * plan -> begin -> check -> observe. Every decision is the wasm core's, and the module sends the
 * balance request itself (`checkBalance`, gloo-net); this file only orders the calls. Where the state lives (chrome.storage behind the worker's write queue, or a
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
 * @property {(state: object, account: string) => Promise<object>} [fetchOutcome] asks for one
 *   account's balance (default: the module's `checkBalance`, which sends the request with
 *   gloo-net); a widget shares one per account here
 * @property {(state: object, account: string) => Promise<object[] | null>} [history] the
 *   server's history of one account (default: the module's `serverHistory`, which asks only an
 *   endpoint that may be captchaai-balance-server); a widget shares one per account here
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
 * @property {object[]} alerts the core's alerts for these answers: per account at most one
 *   about its money and one about its thread plan (each names its account)
 */

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
  // gone or changed its key or endpoint). Beside its balance, an account whose endpoint is
  // captchaai-balance-server gets the server's history, so its forecast and sparkline are the
  // admin page's from the first check on, and again after a top-up.
  await Promise.all(plan.due.flatMap((account) => [
    (async () => {
      let outcome;
      try {
        outcome = await (io.fetchOutcome
          ? io.fetchOutcome(begun, account)
          : cab.checkBalance(begun, account, Boolean(io.acao)));
      } catch {
        // A caller's own request may throw; the worker and the widgets must live on.
        outcome = cab.requestThrew(account);
      }
      state = await io.update((current) => {
        const result = cab.observe(current, outcome, Date.now(), lang);
        alerts.push(...result.alerts);
        return result.state;
      });
    })(),
    (async () => {
      const points = await (io.history ? io.history(begun, account) : cab.serverHistory(begun, account)).catch(() => null);
      if (points) state = await io.update((current) => cab.mergeHistory(current, account, points));
    })(),
  ]));
  return { fetched: true, plan, state, alerts };
}
