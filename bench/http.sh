#!/usr/bin/env bash
# HTTP ingestion throughput: wrk POSTs one reading per request to `speedo ingest --listen` in front of a mock
# cluster (`speedo dev serve-broker`), all on loopback on this machine; then the topic's record count is checked
# against the requests that were answered 2xx (each 2xx is a broker-acknowledged reading).
# The topic's partition count matters: each produce request carries a batch per partition, so the same requests spread
# over more partitions cost the producer and the broker more. The row that counts is the dev stack's topic (64
# partitions, `speedo dev serve-broker`'s default); a second row measures a 6-partition topic, the size the ≥ 30,000
# target was met on (bench/README.md, "HTTP POST and the topic's partitions").
# Usage: bench/http.sh [--duration 15s] [--connections 50] [--threads 2] [--partitions "64 6"] [-X key=value]…
#        (release build)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

duration=15s
connections=50
threads=2
partition_counts="64 6"
properties=()
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --partitions) partition_counts=$2; shift 2 ;;
    -X) properties+=(-X "$2"); shift 2 ;;
    *) echo "usage: $0 [--duration D] [--connections N] [--threads N] [--partitions \"N…\"] [-X key=value]…" >&2; exit 64 ;;
    esac
done
scripts/install-deps.sh wrk curl

bench_speedo

work=$(mktemp -d)
broker_pid=""
server_pid=""
cleanup() {
    local status=$?
    for pid in $server_pid $broker_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# One measurement against a fresh mock cluster whose topics have `partitions` partitions.
measure() {
    local partitions=$1
    rm -f "$work/broker.json"
    "$speedo" dev serve-broker --state-directory "$work" --partitions "$partitions" >"$work/broker.log" 2>&1 &
    broker_pid=$!
    for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
    brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")
    topic=speed-events

    XDG_STATE_HOME="$work/none" "$speedo" ingest --listen 127.0.0.1:0 -b "$brokers" -t "$topic" "${properties[@]}" \
        2>"$work/server.log" &
    server_pid=$!
    bench_listen_address "$work/server.log"
    # Warm-up: the first request also waits for the producer id and the topic's metadata.
    curl -sS -o /dev/null -H 'Content-Type: application/json' --data '{"sensor_id":"warm-up","speed":1}' "http://$address/speed"

    wrk --latency -t "$threads" -c "$connections" -d "$duration" -s bench/http-post.lua "http://$address" | tee "$work/wrk.txt"
    result=$(grep '^RESULT ' "$work/wrk.txt")
    field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$result"; }

    # CPU the server used (user + system, in clock ticks), for the CPU time per request: steadier than the rate on a
    # shared machine.
    server_ticks=$(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
    kill -TERM "$server_pid"
    set +e
    wait "$server_pid"
    server_status=$?
    set -e
    server_pid=""
    # SIGTERM is a clean stop (exit 0, as service managers expect) once every accepted reading is delivered.
    [ "$server_status" -eq 0 ] || { echo "server exited $server_status, not 0:" >&2; cat "$work/server.log" >&2; exit 1; }

    requests=$(field requests)
    non2xx=$(field non2xx)
    confirmed=$((requests - non2xx))
    # The warm-up reading is on the topic too; so may be readings whose requests were still open when wrk stopped.
    # Counted from each partition's last offset, not by reading the records back: the mock broker keeps only about 5 MB
    # per partition, so at 20,000 requests/s the oldest records of a 15 s run are gone by then.
    on_topic=$(kcat -C -b "$brokers" -t "$topic" -e -q -f '%p %o\n' |
        awk '{ if ($2 + 1 > next_offset[$1]) next_offset[$1] = $2 + 1 } END { for (p in next_offset) s += next_offset[p]; print s - 1 }')

    awk -v c="$confirmed" -v d="$(field duration_us)" -v p50="$(field p50_us)" -v p99="$(field p99_us)" \
        -v n="$non2xx" -v t="$on_topic" -v conns="$connections" -v thr="$threads" -v parts="$partitions" \
        -v ticks="$server_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        printf("\n%d-partition topic, %d connections, %d wrk threads: %.0f confirmed requests/s (%d non-2xx), latency p50 %.2f ms, p99 %.2f ms\n",
            parts, conns, thr, c / (d / 1e6), n, p50 / 1000, p99 / 1000)
        printf("server CPU: %.2f s in all, %.1f µs per request\n", ticks / hz, ticks / hz * 1e6 / (c + n))
        printf("records on the topic: %d for %d confirmed requests (%+d: requests still open when wrk stopped)\n", t, c, t - c)
    }'
    rps=$(awk -v c="$confirmed" -v d="$(field duration_us)" 'BEGIN { printf "%.0f", c / (d / 1e6) }')
    p99=$(awk -v p="$(field p99_us)" 'BEGIN { printf "%.2f", p / 1000 }')
    bench_result "HTTP POST /speed, $connections connections, confirmed, $partitions-partition topic" "$rps req/s, p99 $p99 ms" "wrk on the same 2 cores" "$rps req/s" "≥ 30,000 req/s" "$(verdict "$rps" ">=" 30000)"
    if [ "$on_topic" -lt "$confirmed" ]; then
        echo "FAIL: fewer records on the topic than confirmed requests" >&2
        exit 1
    fi
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
}

for partitions in $partition_counts; do
    measure "$partitions"
done
