#!/usr/bin/env bash
# Runs tests/web.rs in headless Chromium against a loopback mock API.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
source scripts/wasm-env.sh
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

log=$(mktemp)
node tests/e2e/lib/serve-mock.mjs > "$log" &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^http' "$log" && break; sleep 0.1; done
CAPTCHAAI_MOCK_URL=$(head -n1 "$log")
export CAPTCHAAI_MOCK_URL
echo "[test-wasm] mock API at $CAPTCHAAI_MOCK_URL"
# The test page is served by wasm-bindgen-test-runner; its Chromium gets the same flags as
# the Playwright tests need on this closed network.
# console-panic: a failing test's panic message reaches the runner's output.
wasm-pack test --headless --chrome --release -- --features console-panic --test web
