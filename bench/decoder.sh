#!/usr/bin/env bash
# Decode + validate throughput of the ingest hot path (single thread, best of 5), release build.
# Usage: bench/decoder.sh [--lines N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_helper
"$speedo_bench" decode "$@" | tee /dev/stderr | while read -r _ format rate _; do
    bench_result "decode + validate, ${format%:} (one core)" "$rate readings/s" "—" "$rate readings/s" "—" "reported"
done
