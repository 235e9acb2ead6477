// The Grafana dashboard and the Prometheus rules may only name metrics the server really
// exports: the names come from a running mock server's /metrics, so a renamed series breaks
// this test instead of leaving an empty panel or an alert that can never fire.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'dashboard.json');
const RULES = path.join(ROOT, 'deploy', 'prometheus', 'rules.yml');
// Series Prometheus adds itself, which the rules may use.
const PROMETHEUS_SERIES = new Set(['up']);
/** True when the mock server exports `name`. */
function known(name) {
  return exported.has(name);
}
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names in a PromQL expression: identifiers left once strings, label matchers,
 * ranges, Grafana variables and grouping clauses are taken out, and that are not a function
 * call or a keyword.
 */
export function metricNames(expr) {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [];
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[0].toLowerCase())) names.push(m[0]);
  }
  return names;
}

test('metricNames finds the series and skips functions, labels, ranges and keywords', () => {
  assert.deepEqual(
    metricNames('sum by (account, code) (rate(captcha_x_total{account=~"$account",code!="a b"}[5m])) / on (account) foo > 0.5 and bar offset 5m'),
    ['captcha_x_total', 'foo', 'bar'],
  );
  assert.deepEqual(metricNames('avg_over_time((captcha_y >= 0)[24h:5m]) > 3 * max(captcha_z) unless up == 0'), ['captcha_y', 'captcha_z', 'up']);
});

/** Every panel, including those inside collapsed rows. */
function allPanels(panels) {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The `expr:` values of a Prometheus rules file (one-line or `|` blocks). */
function ruleExprs(text) {
  const lines = text.split('\n');
  const exprs = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(\s*)(?:- )?expr:\s*(.*)$/);
    if (!m) continue;
    if (m[2] !== '|') { exprs.push(m[2]); continue; }
    const indent = m[1].length;
    const block = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) block.push(lines[++i]);
    exprs.push(block.join('\n'));
  }
  return exprs;
}

let server;
let exported;

before(async () => {
  const wwwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cab-metrics-'));
  server = await startServer({ wwwDir });
  const text = await (await fetch(`${server.base}/metrics`)).text();
  exported = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
  assert.ok(exported.has('captcha_balance_usd'), `no captcha_balance_usd in /metrics:\n${text}`);
});

after(() => server?.close());

test('the dashboard is valid JSON with an account variable, and every panel queries exported metrics', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const account = dashboard.templating.list.find((v) => v.name === 'account');
  assert.ok(account, 'no "account" variable');
  for (const name of metricNames(account.query.query.replace(/label_values\((\w+),\s*\w+\)/, '$1'))) {
    assert.ok(exported.has(name), `the account variable queries ${name}, which the server does not export`);
  }
  const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
  assert.ok(panels.length >= 3, 'balance, runway and spend panels expected');
  const used = new Set();
  for (const panel of panels) {
    assert.ok(panel.targets?.length, `panel "${panel.title}" has no query`);
    for (const target of panel.targets) {
      const names = metricNames(target.expr);
      assert.ok(names.length, `panel "${panel.title}": no metric in ${target.expr}`);
      assert.match(target.expr, /account=~"\$account"/, `panel "${panel.title}" ignores the account variable`);
      for (const name of names) {
        assert.ok(known(name), `panel "${panel.title}" queries ${name}, which the server does not export`);
        used.add(name);
      }
    }
  }
  for (const name of ['captcha_balance_usd', 'captcha_balance_runway_seconds', 'captcha_spend_usd_per_hour', 'captcha_threads', 'captcha_threads_working']) {
    assert.ok(used.has(name), `no panel shows ${name}`);
  }
});

test('every alerting rule queries exported metrics', () => {
  const exprs = ruleExprs(fs.readFileSync(RULES, 'utf8'));
  assert.ok(exprs.length >= 9, `only ${exprs.length} rule expressions found`);
  for (const expr of exprs) {
    const names = metricNames(expr);
    assert.ok(names.length, `no metric in ${expr}`);
    for (const name of names) {
      assert.ok(known(name) || PROMETHEUS_SERIES.has(name), `a rule queries ${name}, which the server does not export: ${expr}`);
    }
  }
});
