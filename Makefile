# activityd — the two commands that matter:
#   make demo   set up, build, and run the daemon on a real clip (Ctrl-C stops it)
#   make test   set up, build, and run the whole test suite
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
BIN := target/release/activityd

.PHONY: deps build demo test bench lint clean

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release

demo: build
	@scripts/demo.sh

# Tests run in release: inference in a debug build is far too slow. `fault-injection`
# enables the test-only hook that stalls a worker (never in packages).
test: deps
	$(CARGO) test --release --features fault-injection -- --test-threads=2

bench: build
	@bench/run.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets --features fault-injection -- -D warnings

clean:
	$(CARGO) clean
