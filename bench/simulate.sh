#!/usr/bin/env bash
# Pacing and cost of `speedo simulate --stdout` at 20,000 readings/s (2000 sensors × 10 Hz), release build.
# Reports readings/s achieved against the target, the rate error (must stay under 1 %) and the CPU time used.
# Usage: bench/simulate.sh [--sensors N] [--rate HZ] [--duration D]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

sensors=2000 rate=10 duration=30s
while [ $# -gt 0 ]; do
    case "$1" in
    --sensors) sensors=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: bench/simulate.sh [--sensors N] [--rate HZ] [--duration D]" >&2; exit 64 ;;
    esac
done

bench_speedo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `wc -l` counts what really came out of the pipe; /usr/bin/time measures the simulator alone.
/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$speedo" simulate --sensors "$sensors" --rate "$rate" --duration "$duration" --seed 1 --stdout \
    2>"$work/summary" | wc -l >"$work/lines"

read -r wall user system rss <"$work/time"
lines=$(cat "$work/lines")
target=$(awk -v s="$sensors" -v r="$rate" 'BEGIN { print s * r }')
awk -v lines="$lines" -v wall="$wall" -v user="$user" -v sys_time="$system" -v rss="$rss" -v target="$target" 'BEGIN {
    achieved = lines / wall
    printf "readings          %d\n", lines
    printf "wall time         %.2f s (process, startup included)\n", wall
    printf "achieved          %.0f readings/s (target %d)\n", achieved, target
    printf "CPU               %.2f s user + %.2f s system = %.1f %% of one core\n", user, sys_time, (user + sys_time) / wall * 100
    printf "max RSS           %.1f MB\n", rss / 1024
}'
echo "simulator summary: $(cat "$work/summary")"
# The simulator measures its own rate from its first reading to the end of its last period.
error=$(sed -n 's/.*rate error \([-+0-9.]*\) %.*/\1/p' "$work/summary")
achieved=$(awk -v l="$lines" -v w="$wall" 'BEGIN { printf "%.0f", l / w }')
bench_result "simulate --sensors $sensors --rate $rate" "$achieved readings/s" "target $target/s" "rate error $error %" "|error| < 1 %" "$(verdict "${error#-}" "<=" 0.999)"
awk -v e="$error" 'BEGIN { if (e < 0) e = -e; if (e >= 1) { print "FAIL: rate error " e " % is not under 1 %"; exit 1 } print "OK: rate error " e " % is under 1 %" }'
