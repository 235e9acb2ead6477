#!/usr/bin/env bash
# Prints size, request and speed figures (never asserted in unit tests). Run by `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bench.mjs target/server/captchaai-balance-server
node scripts/bench-load.mjs target/server/captchaai-balance-server
# A team's scale (scripts/bench-scale.mjs): 10,000 accounts (time to serve, memory, file
# descriptors, requests per key over the floor), a 50 MiB alert backlog for a target that is
# down, restarts in a row and concurrent `check` runs, each figure beside its target.
node scripts/bench-scale.mjs target/server/captchaai-balance-server

# Forecasting (src/forecast.rs, docs/FORECAST.md): the trace simulator replays balance traces
# with simulated time and prints, per trace, requests per hour and the delay from a threshold
# crossing to its detection, adaptive polling beside a fixed 10-minute poll. Its assertions run
# in `make test`; here only its table is printed.
echo
echo "[bench] forecast traces (tests/forecast_traces.rs): adaptive polling vs a fixed 10-minute poll"
cargo test --release --test forecast_traces traces_adaptive_vs_fixed -- --nocapture --test-threads=1 2>/dev/null \
  | sed -n 's/^test traces_adaptive_vs_fixed \.\.\. //; /^trace /,/^ok$/p' | grep -v '^ok$'
