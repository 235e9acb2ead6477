# Every target does its own set-up (scripts/setup.sh is idempotent: a second run takes a second).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# wasm-pack test drives Debian's chromedriver (docs/BROWSERS.md).
export CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: setup build test test-rust test-wasm test-e2e test-prom test-clients lint demo server bench clean

setup:
	bash scripts/setup.sh

## dist/extension (Chrome), dist/extension-firefox, zips, dist/www; prints the .wasm size.
build: setup
	bash scripts/build.sh

## Every test: lint, cargo tests (core + server), wasm-bindgen tests in headless Chromium,
## Firefox manifest lint, Playwright tests of the extension and the widget (Chromium), the
## extension's main scenarios in Firefox ESR (geckodriver), the Prometheus rules and dashboard,
## the official client libraries against the server.
test: build lint test-rust test-wasm test-e2e test-prom test-clients

lint: setup
	bash scripts/check-self-contained.sh
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	# The module as the browser runs it (the bindings and the gloo-net fetch exist only there),
	# with its wasm-bindgen tests.
	cargo clippy --target wasm32-unknown-unknown -p captchaai-balance --all-targets -- -D warnings
	npx web-ext lint --source-dir dist/extension-firefox --self-hosted --warnings-as-errors

# The release check proves `cargo build --release` gives an unwinding server: server/src/lib.rs
# has a compile_error! guard against panic = "abort", and a check is enough to run it.
test-rust: setup
	cargo test --workspace
	cargo check --release -p captchaai-balance-server

test-wasm: setup
	bash scripts/test-wasm.sh

# deploy/: the alerting rules (syntax, then their unit tests), the example Prometheus config,
# the Grafana dashboard (every panel's query, like every rule's, names a metric the mock
# server's /metrics exports) and the systemd unit (systemd-analyze verify, where available).
# promtool comes from Debian's prometheus package (scripts/setup.sh).
test-prom: setup
	promtool check rules deploy/prometheus/rules.yml
	promtool check config deploy/prometheus/prometheus.yml
	cd deploy/prometheus && promtool test rules rules_test.yml
	node --test tests/deploy/
	bash scripts/verify-systemd-unit.sh

# The official 2captcha-python and anticaptchaofficial clients (pinned in scripts/setup.sh) read
# balances from the server in mock mode, which the tests start on a free loopback port.
test-clients: setup
	cargo build -p captchaai-balance-server
	SERVER_BIN=$(CURDIR)/target/debug/captchaai-balance-server .venv-clients/bin/python -m unittest discover -s tests/clients -v

# The widget tests build and start the server themselves (debug build, sharing test-rust's
# compiled dependencies).
test-e2e: build
	node --test --test-concurrency=1 tests/e2e/

server: setup
	cargo build --profile server -p captchaai-balance-server

## The main command: set up, build, start the server on http://127.0.0.1:8080 (mock mode, or
## proxy mode when CAPTCHAAI_API_KEY is set).
demo: build server
	@echo "[demo] admin page with the widget:  http://127.0.0.1:8080/"
	@echo "[demo] unpacked extension (Chrome):  $(CURDIR)/dist/extension  (Firefox: $(CURDIR)/dist/extension-firefox)"
	@echo "[demo] point the extension's 'API endpoint' option at http://127.0.0.1:8080 to see the same balance"
	./target/server/captchaai-balance-server --listen 127.0.0.1:8080 --static-dir dist/www

# Also installs oha (scripts/setup.sh --bench), the load generator of the server figures.
bench: build server
	bash scripts/setup.sh --bench
	bash scripts/bench.sh

clean:
	rm -rf dist pkg test-output target
