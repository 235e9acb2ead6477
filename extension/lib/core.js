/**
 * @file The wasm core, compiled once per context (service worker, popup, options page).
 *
 * Static import (a module service worker may not use `import()`), and `init()` is started at
 * module evaluation and memoized: no top-level await, so the worker's listeners can still be
 * registered synchronously; every handler awaits `ready` instead.
 */
import init, * as cab from '../pkg/captchaai_balance.js';

/**
 * Resolves to the wasm module's JS API (see docs/ARCHITECTURE.md) once it is compiled.
 * @type {Promise<typeof cab>}
 */
export const ready = init().then(() => cab);
