# Every target does its own set-up (scripts/setup.sh is idempotent and fast when done).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: setup build test demo bench lint clean
setup:
	bash scripts/setup.sh
build: setup
	bash scripts/build.sh
