#!/bin/sh
# Decode + validate throughput of the ingest hot path (single thread, best of 5), release build.
# Usage: bench/decoder.sh [--lines N]
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product speedo-bench
exec "$(swift build -c release --show-bin-path)/speedo-bench" decode "$@"
