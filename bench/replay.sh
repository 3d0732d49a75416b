#!/usr/bin/env bash
# Replay throughput: `speedo replay --since @FIRST --until @AFTER_LAST` to stdout (NDJSON, to /dev/null) against
# `kcat -C -e -o beginning` reading the whole topic (anchor), alternately, on a mock cluster
# (`speedo dev serve-broker`, 32 partitions) holding 1,000,000 readings produced by `speedo ingest`.
# Median records/s (process start to exit) of each; release build.
# Usage: bench/replay.sh [--lines N] [--partitions P] [--runs R]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

lines=1000000
# librdkafka's mock broker keeps only about 5 MB per partition: 1,000,000 readings need about 32 partitions.
partitions=32
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) lines=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
    esac
done

bench_speedo

work=$(mktemp -d /tmp/speedo-bench-replay.XXXXXX)
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC
export XDG_STATE_HOME="$work/none"
broker_pid=
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# 20 sensors, 10 readings a second in all, starting at a whole second.
first=1700000000
input="$work/readings.ndjson"
awk -v n="$lines" -v first="$first" 'BEGIN {
    srand(7)
    for (i = 0; i < n; i++)
        printf("{\"sensor_id\":\"sensor-%02d\",\"speed\":%.1f,\"ts\":%d.%d}\n", i % 20, rand() * 180, first + int(i / 10), i % 10)
}' >"$input"
after_last=$((first + (lines - 1) / 10 + 1))

"$speedo" dev serve-broker --state-directory "$work" --partitions "$partitions" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")

echo "producing $lines readings to speed-events ($partitions partitions) with speedo ingest…" >&2
"$speedo" ingest -b "$brokers" "$input" 2>"$work/ingest.log" || { cat "$work/ingest.log" >&2; exit 1; }
on_topic=$(kcat -C -b "$brokers" -t speed-events -e -q -o beginning | wc -l)
if [ "$on_topic" != "$lines" ]; then
    echo "the topic holds $on_topic records, expected $lines (raise --partitions?)" >&2
    exit 1
fi

replay() { "$speedo" replay --since "@$first" --until "@$after_last" -b "$brokers"; }
replayed=$(replay 2>"$work/replay.log" | wc -l)
if [ "$replayed" != "$lines" ]; then
    cat "$work/replay.log" >&2
    echo "speedo replay printed $replayed lines, expected $lines" >&2
    exit 1
fi
echo "speedo replay printed $replayed lines; its summary: $(tail -1 "$work/replay.log")" >&2

# Prints records per second of one command (stdout to /dev/null).
throughput() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$lines $start $end" | awk '{ printf("%.0f\n", $1 / ($3 - $2)) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/speedo.txt"
: >"$work/kcat.txt"
for run in $(seq "$runs"); do
    s=$(throughput replay)
    k=$(throughput kcat -C -b "$brokers" -t speed-events -e -q -o beginning)
    echo "run $run: speedo replay $s records/s, kcat -C $k records/s" >&2
    echo "$s" >>"$work/speedo.txt"
    echo "$k" >>"$work/kcat.txt"
done
s=$(median <"$work/speedo.txt")
k=$(median <"$work/kcat.txt")
printf '\n%s, %s records, %s partitions, median of %s, load average %s\n' \
    "$(date -u +%FT%TZ)" "$lines" "$partitions" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %12s %8s\n' "" "records/s" "ratio"
printf '%-40s %12s %8s\n' "kcat -C -e -o beginning (whole topic)" "$k" "1.00"
printf '%-40s %12s %8s   (target ≥ 0.80)\n' "speedo replay (stdout, NDJSON)" "$s" \
    "$(awk -v s="$s" -v k="$k" 'BEGIN { printf("%.2f", s / k) }')"
r=$(ratio "$s" "$k")
bench_result "replay --to stdout, $lines records" "$s records/s" "kcat -C -e $k records/s" "${r}×" "≥ 0.80×" "$(verdict "$r" ">=" 0.8)"
