# speedo: `make demo` brings up the local stack, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
SPEEDO = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)/speedo

.PHONY: build release install deb deps test demo generated check-generated bench clean

build: deps
	$(SWIFT) build

# The binary to install: optimised, with the Swift runtime and Foundation linked in (it runs where no Swift toolchain
# is installed, and starts faster); .build/release/speedo.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product speedo

# The release binary, the man page and the completions under $(DESTDIR)$(PREFIX); the unit files of the long-running
# commands are in dist/systemd/ (see the README's "Running in production").
PREFIX ?= /usr/local
install: release
	scripts/install.sh .build/release/speedo "$(PREFIX)" "$(DESTDIR)"

# The Debian package, .build/speedo_VERSION_ARCH.deb: the same files, the units, and Depends from what the binary links.
deb: release
	scripts/make-deb.sh .build/release/speedo .build

deps:
	@scripts/install-deps.sh

# The release binary too: a test packages it (make deb) and runs it where the package is unpacked. Chromium is for
# the tests only: they load the gateway's page in it (headless).
test: build release
	@scripts/install-deps.sh chromium
	$(SWIFT) test
	scripts/generate.sh --check

# The dev stack, the consumers and a 20-sensor simulation in the background, the dashboard in front;
# quitting it stops the background parts (the dev stack stays up: `speedo dev down`).
demo: build
	SPEEDO_BIN=$(SPEEDO) scripts/demo.sh

# man/speedo.1 and completions/ come from the command definitions; a test fails when they drift.
generated: build
	scripts/generate.sh

check-generated: build
	scripts/generate.sh --check

# Every benchmark beside its anchor, one table of ratios (also in bench/RESULTS.md); `make bench-ingest` etc. run one.
bench:
	@scripts/install-deps.sh wrk
	bench/all.sh

bench-%:
	@scripts/install-deps.sh wrk
	bench/all.sh $*

clean:
	rm -rf .build
