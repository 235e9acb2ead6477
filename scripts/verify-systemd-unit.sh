#!/usr/bin/env bash
# `systemd-analyze verify` on deploy/systemd/captchaai-balance-server.service (make test-prom).
# verify also checks that ExecStart's binary exists, so a copy of the unit points at the debug
# build instead of /usr/local/bin. Skipped, with a note, where systemd-analyze is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "[verify-systemd-unit] systemd-analyze not found: skipped"
  exit 0
fi
cargo build -q -p captchaai-balance-server
bin="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/debug/captchaai-balance-server"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/captchaai-balance-server|$bin|" deploy/systemd/captchaai-balance-server.service \
  >"$dir/captchaai-balance-server.service"
# verify prints problems but, for some of them, still exits 0: any output is a failure.
out=$(systemd-analyze verify "$dir/captchaai-balance-server.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
echo "[verify-systemd-unit] deploy/systemd/captchaai-balance-server.service: ok"
