/**
 * axe-core (the accessibility engine browsers' own audits use) on the options page, the popup
 * (an account with a rejected key: the error card) and the demo page at 375 px: no serious or
 * critical violation of WCAG 2 A/AA. Needs `make build` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startMockApi } from './lib/mock-api.mjs';
import { startServer } from './lib/server.mjs';
import { KEY, ROOT, configure, openOptions, openPopup, screenshot, withExtension } from './lib/extension.mjs';
import { launch } from './lib/browser.mjs';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe's serious and critical violations on `page`, one line each. */
async function violations(page) {
  // Evaluated through the DevTools protocol: extension pages forbid inline scripts (their CSP).
  await page.evaluate(`${AXE}\n;true`);
  const found = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

let api;
before(async () => { api = await startMockApi(); });
after(() => api.close());

test('options and popup (with an error card): no serious axe violation', async () => {
  api.setScenario({ scenario: 'key_not_found' });
  await withExtension(async (ext) => {
    await configure(ext, { key: KEY, endpoint: api.url });
    const options = await openOptions(ext);
    assert.deepEqual(await violations(options), [], 'options');
    const popup = await openPopup(ext, { viewport: { width: 340, height: 600 } });
    await popup.locator('#error').waitFor();
    assert.deepEqual(await violations(popup), [], 'popup with a rejected key');
    await screenshot(popup, 'a11y-popup-error.png');
  });
});

test('the demo page at 375 px: no serious axe violation', async () => {
  const server = await startServer({ wwwDir: path.join(ROOT, 'dist', 'www') });
  const browser = await launch();
  try {
    await server.control('/mock/reset');
    const page = await browser.page();
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${server.base}/`);
    await page.waitForFunction(() => document.querySelector('#prod-balance')?.getAttribute('state') === 'ok');
    assert.deepEqual(await violations(page), [], 'demo page');
    // The widgets' error cards too (a rejected key: cause and fix).
    await server.control('/mock/scenario', { scenario: 'key_not_found' });
    await page.reload();
    // The last good reading stays on screen (out of date) beside the error card.
    await page.waitForFunction(() => {
      const card = document.querySelector('#prod-balance')?.shadowRoot?.querySelector('[part=error]');
      return card && !card.hidden;
    });
    assert.deepEqual(await violations(page), [], 'demo page with error cards');
    await page.screenshot({ path: path.join(ROOT, 'test-output', 'a11y-demo-error.png'), fullPage: true });
  } finally {
    await browser.close();
    server.close();
  }
});
