#!/usr/bin/env bash
# The gateway's page under load, in headless Chromium (`speedo-bench page`): 200 sensors at 10 Hz (`speedo simulate`
# -> speed-events -> `speedo consume latest` -> speed-latest -> `speedo gateway`, on a mock cluster), 2,000 updates a
# second reaching the page. Over 30 s: frames drawn per second (the target: at least 30) and the share of time the
# main thread spent in long tasks; then, over 5 minutes, the JavaScript heap after a garbage collection and the DOM's
# size every 30 s (the target: flat, the last sample within 10 % or 2 MiB of the first).
# Usage: bench/page.sh [--sensors N] [--rate HZ] [--seconds S] [--memory-seconds S]   (release build)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

sensors=200
rate=10
seconds=30
memory_seconds=300
while [ $# -gt 0 ]; do
    case "$1" in
    --sensors) sensors=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --memory-seconds) memory_seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--sensors N] [--rate HZ] [--seconds S] [--memory-seconds S]" >&2; exit 64 ;;
    esac
done
scripts/install-deps.sh chromium

bench_speedo
bench_helper

bench_workdir page
bench_broker 2

# --max-rate above the sensors' rate: every reading reaches the page.
bench_live_gateway "$((rate * 2))" --sensors "$sensors" --rate "$rate" --duration "$((seconds + memory_seconds + 120))s"

"$speedo_bench" page --url "http://$address/" --sensors "$sensors" --seconds "$seconds" \
    --memory-seconds "$memory_seconds" | tee "$work/page.txt"
value() { sed -n "s/^RESULT $1 //p" "$work/page.txt"; }
fps=$(value fps)
share=$(value long_task_share)
first=$(value heap_first_mib)
last=$(value heap_last_mib)
nodes_first=$(value nodes_first)
nodes_last=$(value nodes_last)
problems=$(value problems)
long_tasks_percent=$(awk -v s="$share" 'BEGIN { printf "%.1f", 100 * s }')
bench_result "gateway page, $sensors sensors × $rate Hz, ${seconds} s in headless Chromium" \
    "$fps frames/s, long tasks $long_tasks_percent % of the time" "—" "$fps fps" "≥ 30 fps" "$(verdict "$fps" ">=" 30)"
flat=$(awk -v a="$first" -v b="$last" 'BEGIN { print (b <= a * 1.10 || b - a <= 2) ? "met" : "MISSED" }')
bench_result "gateway page memory over $((memory_seconds / 60)) min" \
    "JS heap $first → $last MiB after GC, DOM nodes $nodes_first → $nodes_last, $problems console problems" "—" \
    "$first → $last MiB" "flat (≤ +10 % or 2 MiB)" "$flat"
