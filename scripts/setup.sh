#!/usr/bin/env bash
# Installs what the build and the tests need, on a fresh Debian machine that has only Rust
# (rustup), node and npm. Idempotent: each step checks first, so a second run takes a second.
# `--bench` also installs the load generator `make bench` uses (not needed by `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

WASM_PACK_VERSION=0.15.1
OHA_VERSION=1.16.0
GECKODRIVER_VERSION=0.37.1
# wasm-pack only uses a wasm-bindgen CLI of exactly the crate's version (pinned in Cargo.toml);
# otherwise it tries GitHub, which is unreachable here.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' Cargo.toml)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "[setup] cannot read the pinned wasm-bindgen version (\"=X.Y.Z\") from Cargo.toml" >&2
  exit 1
fi

say() { printf '[setup] %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# `--locked` first for reproducible tools; the registry mirror sometimes lacks a locked
# dependency version (seen: webpki-roots for wasm-bindgen-cli), then resolve afresh.
cargo_install() { cargo install --locked "$@" || cargo install "$@"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# `make lint` needs both; minimal rustup profiles leave them out.
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done
if ! have wasm-bindgen || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  cargo_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! have wasm-pack || [ "$(wasm-pack --version | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo_install wasm-pack --version "$WASM_PACK_VERSION"
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] || [ ! -x node_modules/.bin/web-ext ] \
   || [ ! -x node_modules/.bin/esbuild ] || [ ! -x node_modules/.bin/vite ] || [ ! -x node_modules/.bin/tsc ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (binaryen's wasm-opt, playwright-core, web-ext, esbuild, vite, typescript)"
  npm ci --no-audit --no-fund
fi
# Debian packages, installed in one apt-get run when any is missing.
# chromium-l10n: without it Chromium ignores --lang and the Indonesian UI test cannot run.
# firefox-esr: the Firefox e2e test drives it through geckodriver (below). zip: the extension zips.
apt_packages=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! dpkg -s chromium-l10n >/dev/null 2>&1; then
  apt_packages+=(chromium chromium-driver chromium-l10n)
fi
[ -x /usr/bin/firefox-esr ] || apt_packages+=(firefox-esr)
have zip || apt_packages+=(zip)
# The official client tests' virtualenv (below) needs Python with its venv module.
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages+=(python3 python3-venv)
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "installing Debian's ${apt_packages[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_packages[@]}"
fi
# promtool (make test-prom) ships in Debian's prometheus package; without recommends it brings
# no exporters. The package's service is not needed (nothing here starts it).
if ! have promtool || ! promtool --version >/dev/null 2>&1; then
  say "installing Debian's prometheus (for promtool)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
  promtool --version >/dev/null
fi
# geckodriver is not packaged in Debian; crates.io has it (Mozilla publishes it there).
if ! have geckodriver || [ "$(geckodriver --version | awk 'NR==1 {print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "installing geckodriver $GECKODRIVER_VERSION (a few minutes)"
  cargo_install geckodriver --version "$GECKODRIVER_VERSION"
fi
# The official client libraries `make test-clients` runs against the server, pinned, in their own
# virtualenv (.venv-clients, gitignored). pip reaches only the package registry.
CLIENT_PACKAGES="2captcha-python==2.1.2 anticaptchaofficial==1.0.72 captchaai==1.0.1"
if [ "$(cat .venv-clients/installed 2>/dev/null)" != "$CLIENT_PACKAGES" ]; then
  say "installing the official client libraries ($CLIENT_PACKAGES) in .venv-clients"
  rm -rf .venv-clients
  python3 -m venv .venv-clients
  # shellcheck disable=SC2086 # one word per package
  .venv-clients/bin/pip install --quiet $CLIENT_PACKAGES
  echo "$CLIENT_PACKAGES" > .venv-clients/installed
fi
if [ "${1:-}" = --bench ] && { ! have oha || [ "$(oha --version | awk '{print $2}')" != "$OHA_VERSION" ]; }; then
  say "installing oha $OHA_VERSION, the load generator of make bench (a few minutes)"
  cargo_install oha --version "$OHA_VERSION"
fi
say "ready: $(rustc --version), wasm-bindgen $WASM_BINDGEN_VERSION, wasm-pack $WASM_PACK_VERSION, node $(node --version), $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium ?'), $(/usr/bin/firefox-esr --version 2>/dev/null || echo 'firefox-esr ?'), geckodriver $GECKODRIVER_VERSION, $(promtool --version 2>/dev/null | awk 'NR==1 {print "promtool", $3}')"
