#!/usr/bin/env bash
# Measures how many readings one partition of the dev broker holds before it drops the oldest: publishes
# simulated readings one per record batch (as a sensor at 1 Hz sends them), faster, into a one-partition dev
# broker of its own, until the log start moves; then prints the readings held (high watermark - log start).
#   scripts/dev-broker-capacity.sh [path/to/speedo]
set -euo pipefail
speedo=${1:-$(swift build --show-bin-path)/speedo}
state=$(mktemp -d "${TMPDIR:-/tmp}/speedo-capacity.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$state"' EXIT

"$speedo" dev serve-broker --state-directory "$state" --partitions 1 2>"$state/broker.log" &
pids+=($!)
for _ in $(seq 100); do [ -f "$state/broker.json" ] && break; sleep 0.1; done
brokers=$(sed -n 's/.*"bootstrapServers" : "\(.*\)".*/\1/p' "$state/broker.json")

"$speedo" simulate --sensors 20 --rate 25 -X linger.ms=0 -X batch.num.messages=1 -b "$brokers" 2>"$state/simulate.log" &
pids+=($!)
offset() { kcat -C -b "$brokers" -t speed-events -p 0 -o "$1" -c 1 -e -q -f '%o\n'; }
while :; do
    sleep 5
    start=$(offset beginning) last=$(offset -1)
    echo "log start $start, last offset $last"
    if [ "$start" -gt 0 ]; then
        echo "one partition holds $((last - start + 1)) readings sent one per batch"
        break
    fi
done
