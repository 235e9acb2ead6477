#!/usr/bin/env bash
# Prints size, request and speed figures (never asserted in unit tests). Run by `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bench.mjs target/server/captchaai-balance-server
