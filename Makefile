# speedo: `make demo` brings up the local stack, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
SPEEDO = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)/speedo

.PHONY: build deps test demo generated check-generated bench-decoder bench-simulate bench-ingest bench-http bench-history bench-replay bench-gateway clean

build: deps
	$(SWIFT) build

deps:
	@scripts/install-deps.sh

test: build
	$(SWIFT) test
	scripts/generate.sh --check

demo: build
	$(SPEEDO) dev up
	$(SPEEDO) status

# man/speedo.1 and completions/ come from the command definitions; a test fails when they drift.
generated: build
	scripts/generate.sh

check-generated: build
	scripts/generate.sh --check

bench-decoder: deps
	bench/decoder.sh

bench-simulate: deps
	bench/simulate.sh

bench-ingest: deps
	bench/ingest.sh

bench-http: deps
	bench/http.sh

bench-history: deps
	bench/history.sh

bench-replay: deps
	bench/replay.sh

bench-gateway: deps
	bench/gateway.sh

clean:
	rm -rf .build
