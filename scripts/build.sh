#!/usr/bin/env bash
# Builds the wasm module, the extension (Chrome + Firefox) and the widget into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
# npm's binaryen first: wasm-pack runs the first wasm-opt on PATH, and Debian's binaryen 108
# silently corrupts wasm-bindgen 0.2.130 output (docs/BROWSERS.md).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
source scripts/wasm-env.sh

# The glue's .d.ts carries the TypeScript declarations generated from the Rust types (tsify).
wasm-pack build --target web --release --out-dir pkg --no-pack
# A broken optimiser shows up here, without a browser.
node scripts/smoke-wasm.mjs pkg

rm -rf dist
mkdir -p dist/www
# dist/www is the demo page and also the npm package captchaai-balance-widget (www/package.json
# lists what `npm pack` takes: everything below but the demo page).
cp www/* dist/www/
# The check cycle the widget shares with the extension (the extension copies all of lib/).
cp extension/lib/check-cycle.js dist/www/
cp pkg/captchaai_balance.js pkg/captchaai_balance.d.ts pkg/captchaai_balance_bg.wasm dist/www/
node scripts/build-extension.mjs pkg dist

wasm=pkg/captchaai_balance_bg.wasm
raw=$(wc -c < "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
glue=$(wc -c < pkg/captchaai_balance.js)
printf '[build] %s: %d bytes raw, %d bytes gzipped (glue JS %d bytes)\n' "$wasm" "$raw" "$gz" "$glue"
# A ceiling against accidents (a dependency pulled in by mistake), not a target to shave
# towards: users feel paint time and time to the first balance, which `make bench` measures
# (docs/ARCHITECTURE.md, "Size").
WASM_CEILING_RAW_BYTES=470000
WASM_CEILING_GZIP_BYTES=200000
over=0
if [ "$raw" -gt "$WASM_CEILING_RAW_BYTES" ]; then
  echo "[build] the .wasm is $raw bytes raw: over the $WASM_CEILING_RAW_BYTES-byte ceiling" >&2
  over=1
fi
if [ "$gz" -gt "$WASM_CEILING_GZIP_BYTES" ]; then
  echo "[build] the .wasm is $gz bytes gzipped (gzip -9): over the $WASM_CEILING_GZIP_BYTES-byte ceiling" >&2
  over=1
fi
exit "$over"
