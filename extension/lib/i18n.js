/**
 * @file Labels from `_locales/` (written by scripts/build-extension.mjs from locales/).
 * Text produced by the wasm core (view, estimate, errors) is already localized: pass it
 * `uiLang()` so both speak the same language as the browser.
 */

/**
 * The browser's UI language ("en", "id", "en-US" …), the `lang` argument of the wasm API.
 * @returns {string}
 */
export function uiLang() {
  return chrome.i18n.getUILanguage();
}

/**
 * One label, with `$1`, `$2` … replaced by `args`. Returns the key itself when it is missing
 * so a forgotten key is visible instead of blank.
 * @param {string} key
 * @param {...(string|number)} args
 * @returns {string}
 */
export function t(key, ...args) {
  return chrome.i18n.getMessage(key, args.map(String)) || key;
}

/**
 * Fill every `[data-i18n]` element's text and every `[data-i18n-placeholder]`,
 * `[data-i18n-title]`, `[data-i18n-aria-label]` attribute under `root` (textContent only).
 * @param {ParentNode} [root]
 */
export function localizePage(root = document) {
  document.documentElement.lang = uiLang();
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const [data, attr] of [['i18nPlaceholder', 'placeholder'], ['i18nTitle', 'title'], ['i18nAriaLabel', 'aria-label']]) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const el of root.querySelectorAll(selector)) el.setAttribute(attr, t(el.dataset[data]));
  }
}
