/**
 * @file The wasm core, compiled once per context (service worker, popup, options page).
 *
 * Static import (a module service worker may not use `import()`), and `init()` is started at
 * module evaluation and memoized: no top-level await, so the worker's listeners can still be
 * registered synchronously; every handler awaits `ready` instead.
 *
 * The module carries no text: `ready` also installs the text catalog of the UI language
 * (`messages/<lang>.json`, written by the build), plus English as the fallback when the UI
 * language is another one. `fetch` of the extension's own file works in the MV3 service worker,
 * where `import()` of JSON does not.
 */
import init, * as cab from '../pkg/captchaai_balance.js';
import { uiLang } from './i18n.js';

/**
 * Install one language's catalog. A catalog that does not load leaves that language to the
 * English one (or, without English, to the message keys): the core must still answer.
 * @param {string} lang a catalog name, as `catalogLang` gives it
 */
async function installCatalog(lang) {
  try {
    const response = await fetch(chrome.runtime.getURL(`messages/${lang}.json`));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (!cab.setMessages(lang, await response.text())) throw new Error('not a catalog');
  } catch (error) {
    console.error(`captchaai-balance: the ${lang} text catalog did not load`, error);
  }
}

/**
 * Resolves to the wasm module's JS API (see docs/ARCHITECTURE.md) once it is compiled and the
 * catalogs of the UI language are installed (the core maps the tag: `id-ID` -> `id`).
 * @type {Promise<typeof cab>}
 */
export const ready = init()
  .then(() => {
    const lang = cab.catalogLang(uiLang());
    return Promise.all((lang === 'en' ? ['en'] : [lang, 'en']).map(installCatalog));
  })
  .then(() => cab);
