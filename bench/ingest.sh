#!/usr/bin/env bash
# Ingest throughput, speedo vs kcat: both publish the same readings through an idempotent producer with acks=all, each
# run to a fresh topic on a mock cluster (`speedo dev serve-broker`); speedo also validates every line and keys each
# record by its sensor. The fair anchor does the same keying: `kcat -P -K` on the same lines prefixed with their
# sensor_id (a user who wants records keyed per sensor would run that); unkeyed `kcat -P` is reported beside it.
# Usage: bench/ingest.sh [--lines N] [--runs N]      (release build; prints the medians and their ratio)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

lines=1000000
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) lines=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--runs N]" >&2; exit 64 ;;
    esac
done

bench_speedo

work=$(mktemp -d)
broker_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# ~20 sensors, fractional speeds, times 10 per second going forward from 2023-11-14.
input="$work/readings.ndjson"
awk -v n="$lines" 'BEGIN {
    srand(7)
    for (i = 0; i < n; i++)
        printf("{\"sensor_id\":\"sensor-%02d\",\"speed\":%.1f,\"ts\":%d.%d}\n", i % 20, rand() * 180, 1700000000 + int(i / 10), i % 10)
}' >"$input"
# The same lines, each after its key and a tab, for kcat -K.
keyed="$work/readings.keyed"
sed 's/^{"sensor_id":"\([^"]*\)"/\1\t&/' "$input" >"$keyed"

"$speedo" dev serve-broker --state-directory "$work" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")

# Prints lines per second of one command, and the CPU seconds (user + system) it used, all threads: on a machine
# shared with other work the CPU time is the steadier figure.
throughput() {
    local start end cpu
    start=$(date +%s.%N)
    cpu=$( { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>"$work/last.err"; } 2>&1) || { cat "$work/last.err" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$lines $start $end $cpu" | awk '{ printf("%.0f %.2f\n", $1 / ($3 - $2), $4 + $5) }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/speedo.txt"
: >"$work/kcat.txt"
for run in $(seq "$runs"); do
    s=$(throughput env XDG_STATE_HOME="$work/none" "$speedo" ingest -b "$brokers" -t "bench-speedo-$run" "$input")
    grep -q " 0 undelivered" "$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
    k=$(throughput kcat -P -b "$brokers" -t "bench-kcat-$run" -X enable.idempotence=true -X acks=all -l "$input")
    kk=$(throughput kcat -P -K $'\t' -b "$brokers" -t "bench-kcat-keyed-$run" -X enable.idempotence=true -X acks=all -l "$keyed")
    echo "run $run: speedo ${s% *} lines/s (${s#* } s CPU), kcat -K ${kk% *} lines/s (${kk#* } s CPU), kcat ${k% *} lines/s (${k#* } s CPU)"
    echo "${s% *}" >>"$work/speedo.txt"
    echo "${k% *}" >>"$work/kcat.txt"
    echo "${kk% *}" >>"$work/kcat-keyed.txt"
    echo "${s#* }" >>"$work/speedo-cpu.txt"
    echo "${k#* }" >>"$work/kcat-cpu.txt"
    echo "${kk#* }" >>"$work/kcat-keyed-cpu.txt"
done
s=$(median <"$work/speedo.txt")
k=$(median <"$work/kcat.txt")
kk=$(median <"$work/kcat-keyed.txt")
sc=$(median <"$work/speedo-cpu.txt")
kc=$(median <"$work/kcat-cpu.txt")
kkc=$(median <"$work/kcat-keyed-cpu.txt")
echo "median of $runs runs, $lines lines: speedo $s lines/s, kcat -K $kk lines/s, kcat $k lines/s; speedo/kcat -K $(ratio "$s" "$kk"), speedo/kcat $(ratio "$s" "$k")"
echo "CPU seconds (user + system, median): speedo $sc, kcat -K $kkc, kcat $kc"
r=$(ratio "$s" "$kk")
bench_result "ingest, $lines NDJSON lines keyed by sensor, acks=all + idempotent" "$s lines/s ($sc s CPU)" "kcat -P -K $kk lines/s ($kkc s CPU)" "${r}×" "≥ 1.00×" "$(verdict "$r" ">=" 1.0)"
r=$(ratio "$s" "$k")
bench_result "ingest, the same lines, against unkeyed kcat" "$s lines/s ($sc s CPU)" "kcat -P $k lines/s ($kc s CPU)" "${r}×" "—" "reported"
