#!/usr/bin/env bash
# Reconciliation throughput: `speedo verify` over a range (topic and speed_readings, every record checked) against
# `speedo replay --to stdout` over the same range (the target: at least half its speed), alternately, on a mock
# cluster (`speedo dev serve-broker`, 32 partitions) and the dev stack's PostgreSQL holding 1,000,000 readings
# written by `speedo consume postgres`. Median records/s (process start to exit) of each; release build.
# Usage: bench/verify.sh [--lines N] [--partitions P] [--runs R]
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
bench_workdir verify
chmod 755 "$work"
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC

# The broker first, with enough partitions; `dev up` then finds it running and adds PostgreSQL.
mkdir -p "$XDG_STATE_HOME/speedo"
"$speedo" dev serve-broker --state-directory "$XDG_STATE_HOME/speedo" --partitions "$partitions" \
    >"$work/broker.log" 2>&1 &
bench_track $!
for _ in $(seq 100); do [ -f "$XDG_STATE_HOME/speedo/broker.json" ] && break; sleep 0.1; done
"$speedo" dev up >/dev/null
eval "$("$speedo" dev env)"

# 10 readings a second, ending well before now (a reading from the future would be refused).
first=$(($(date +%s) - lines / 10 - 86400))
after_last=$((first + (lines - 1) / 10 + 1))
bench_readings "$lines" "$work/readings.ndjson" "$first"
echo "producing $lines readings ($partitions partitions) with speedo ingest, writing them with consume postgres…" >&2
"$speedo" ingest "$work/readings.ndjson" 2>"$work/ingest.log" || { cat "$work/ingest.log" >&2; exit 1; }
"$speedo" consume postgres --exit-at-end --log-interval 1h 2>"$work/consume.log" || { cat "$work/consume.log" >&2; exit 1; }

range=(--since "@$first" --until "@$after_last")
"$speedo" verify "${range[@]}" >"$work/findings.txt" 2>"$work/verify.log" || {
    cat "$work/verify.log" >&2
    head "$work/findings.txt" >&2
    echo "speedo verify did not find the history consistent" >&2
    exit 1
}
echo "speedo verify: $(tail -1 "$work/verify.log")" >&2

# Prints records per second of one command (stdout to /dev/null).
throughput() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$lines $start $end" | awk '{ printf("%.0f\n", $1 / ($3 - $2)) }'
}

: >"$work/verify.txt"
: >"$work/replay.txt"
for run in $(seq "$runs"); do
    v=$(throughput "$speedo" verify "${range[@]}")
    r=$(throughput "$speedo" replay "${range[@]}")
    echo "run $run: speedo verify $v records/s, speedo replay $r records/s" >&2
    echo "$v" >>"$work/verify.txt"
    echo "$r" >>"$work/replay.txt"
done
v=$(median <"$work/verify.txt")
r=$(median <"$work/replay.txt")
printf '\n%s, %s records, %s partitions, median of %s, load average %s\n' \
    "$(date -u +%FT%TZ)" "$lines" "$partitions" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %12s %8s\n' "" "records/s" "ratio"
printf '%-44s %12s %8s\n' "speedo replay --to stdout (same range)" "$r" "1.00"
printf '%-44s %12s %8s   (target ≥ 0.50)\n' "speedo verify (topic + speed_readings)" "$v" "$(ratio "$v" "$r")"
q=$(ratio "$v" "$r")
bench_result "verify, $lines records against their rows" "$v records/s" "replay --to stdout $r records/s" "${q}×" "≥ 0.50×" "$(verdict "$q" ">=" 0.5)"
