# zonecast — two commands for a newcomer: `make demo` and `make test`.
# Every target first installs what a fresh Debian/Ubuntu machine lacks, then builds.

SHELL := /bin/bash
.DEFAULT_GOAL := demo

# Needed to build: ALSA (cpal, live microphone) and libopus (Opus recordings).
BUILD_PACKAGES := libasound2-dev libopus-dev pkg-config
# Needed by the tests: peers that send and check RTP (ffmpeg, tshark), open our files (sox),
# and validate our XML against Cisco's XSD (xmllint from libxml2-utils); python3-venv for the
# virtual environment schemathesis runs in (Debian's pip refuses installs outside one).
# espeak-ng speaks say:TEXT sources (a separate program: its GPL code stays outside our binary).
# chromium and chromium-driver: tests/console_browser.rs drives the web console in a real browser.
TEST_PACKAGES := ffmpeg sox tshark libxml2-utils python3-venv espeak-ng chromium chromium-driver sip-tester baresip nats-server
CARGO ?= cargo

# Install the Debian packages given as $(1) that are not installed yet; `apt-get update` only
# when an install fails (a package not found in stale lists); sudo only when not root.
define ensure_packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "zonecast: please install:$$missing" >&2; exit 1; fi; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing:$$missing"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q$$missing \
	  || { $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q$$missing; }; \
	fi
endef

.PHONY: demo test bench bench-peers deps test-deps toolchain build clean fuzz-smoke schemathesis conformance

toolchain:
	@if ! command -v $(CARGO) >/dev/null; then \
	  if [ -x "$$HOME/.cargo/bin/cargo" ]; then echo "add ~/.cargo/bin to PATH" >&2; exit 1; fi; \
	  echo "installing the Rust toolchain with rustup"; \
	  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy; \
	  echo "Rust installed: run 'source ~/.cargo/env' and then make again" >&2; exit 1; \
	fi
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

deps: toolchain
	$(call ensure_packages,$(BUILD_PACKAGES))

test-deps: deps
	$(call ensure_packages,$(TEST_PACKAGES))

build: deps
	$(CARGO) build --release

## demo: page 50 emulated phones with the bundled chime and print who heard what.
demo: build
	./target/release/zonecast demo

## test: formatting, lints, and every test (unit, loopback integration, CLI).
test: test-deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test --all-targets
	$(MAKE) --no-print-directory schemathesis

## schemathesis: the HTTP API against its own OpenAPI document (issue 18): a running
## `zonecast serve` with emulated phones, fuzzed by schemathesis (pinned in
## tests/schemathesis/requirements.txt, installed into a venv under target/), bounded in examples
## and time; fails on any 5xx or undocumented answer, a dead server or a phone left listening.
## About 30 s once built. Part of `make test`; alone: `make schemathesis`.
ST_VENV := target/venv-schemathesis
$(ST_VENV)/.installed: tests/schemathesis/requirements.txt
	rm -rf $(ST_VENV)
	python3 -m venv $(ST_VENV)
	$(ST_VENV)/bin/pip install -q --disable-pip-version-check -r tests/schemathesis/requirements.txt
	touch $@

schemathesis: test-deps $(ST_VENV)/.installed
	$(CARGO) build --bin zonecast
	$(ST_VENV)/bin/python tests/schemathesis/run.py --zonecast target/debug/zonecast \
	  --schemathesis $(ST_VENV)/bin/schemathesis

## conformance: rewrite CONFORMANCE.md (one row per id of the phones' spec) from conformance.toml,
## after checking every row points to something real; `cargo test --test conformance` only checks.
conformance: deps
	ZONECAST_WRITE_CONFORMANCE=1 $(CARGO) test --test conformance

## bench-peers: zonecast against GStreamer, ffmpeg, sox and tshark in the same run; rewrites its sections of
## BENCHMARKS.md (installs the peers when missing; about 10 minutes once built).
bench-peers: deps
	./benches/peers/run.sh

## bench: micro benchmarks and the fan-out benchmark (figures go to BENCHMARKS.md).
bench: deps
	$(CARGO) bench --bench media
	$(CARGO) run --release --example fanout -- --destinations 1,100,1000 --seconds 10 --runs 3

## soak: 1,000 streams through the pacer for an hour (SOAK_MINUTES=N to shorten), RSS sampled
## every minute; fails on pacing drift over 1 packet, RSS moving over 5 % after the first
## minute, or any loss. Not part of `make test`; wants a quiet machine.
SOAK_MINUTES ?= 60
.PHONY: soak
soak: deps
	$(CARGO) run --release --example soak -- --minutes $(SOAK_MINUTES)

## fuzz-smoke: every cargo-fuzz target in fuzz/ for 60 s each (about 10 minutes with the build);
## fails naming the targets that crashed (their inputs are in fuzz/artifacts/TARGET/). Installs
## cargo-fuzz and the nightly toolchain when missing. Not part of `make test`.
FUZZ_BUILD := -s none -a
FUZZ_RUN := -max_total_time=60 -rss_limit_mb=512 -timeout=5
fuzz-smoke: deps
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz build $(FUZZ_BUILD)
	@cd fuzz && failed=""; for t in $$($(CARGO) +nightly fuzz list); do \
	  echo "== fuzz $$t for 60 s"; \
	  $(CARGO) +nightly fuzz run $(FUZZ_BUILD) $$t -- $(FUZZ_RUN) || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz-smoke: crashed:$$failed (see fuzz/artifacts/)" >&2; exit 1; fi; \
	echo "fuzz-smoke: every target ran 60 s clean"

clean:
	$(CARGO) clean
