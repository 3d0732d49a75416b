#!/usr/bin/env bash
# The live path's delay, reading → screen, at the demo's rate and at a high one, each hop measured side by side in
# one pipeline: `speedo simulate` → speed-events → `speedo consume latest` (its defaults) → speed-latest → a follower
# (`speedo-bench follow-latency`, as `watch` and the gateway follow), `speedo watch --source latest` (its model's lag,
# from its exit summary) and `speedo gateway` with one WebSocket client (`speedo-bench gateway-clients`). Every
# figure is the time from the reading's ts (event time) to its arrival, so it adds up every hop before it.
# Rates: 20 sensors × 1 Hz (`make demo`) and 2,000 sensors × 10 Hz (20,000 readings/s). Target: p99 ≤ 50 ms at both.
# Each rate runs RUNS fresh pipelines and reports the median of their p99s: at 20,000/s seven processes share the
# two cores and one pipeline's p99 moves by ±5 ms from run to run (bench/README.md).
# Usage: bench/latency.sh [--seconds 30] [--runs 3]   (release build)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
seconds=30
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--runs N]" >&2; exit 64 ;;
    esac
done
scripts/install-deps.sh tmux >/dev/null
bench_speedo
bench_helper
bench_workdir latency
socket="speedo-bench-latency-$$"
warmup=8

# One pipeline at SENSORS × RATE Hz (run number N); prints what each client measured, then a line
# "P99 SPEED_LATEST WATCH GATEWAY" (ms, ? where a client measured nothing).
pipeline() {
    local sensors=$1 rate=$2 run="$work/$1x$2-$3"
    mkdir -p "$run"
    "$speedo" dev serve-broker --state-directory "$run" --partitions 6 >"$run/broker.log" 2>&1 &
    local broker_pid=$!
    bench_track "$broker_pid"
    for _ in $(seq 100); do [ -f "$run/broker.json" ] && break; sleep 0.1; done
    local brokers
    brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$run/broker.json")
    local total=$((warmup + seconds + 10))
    # --max-rate above the sensors' rate: the limit never holds a reading back, so the delay is the pipeline's own.
    "$speedo" consume latest -b "$brokers" --max-rate $((rate * 2)) 2>"$run/latest.log" &
    local latest_pid=$!
    bench_track "$latest_pid"
    "$speedo" gateway -b "$brokers" --listen 127.0.0.1:0 2>"$run/gateway.log" &
    local gateway_pid=$!
    bench_track "$gateway_pid"
    bench_listen_address "$run/gateway.log"
    "$speedo" simulate -b "$brokers" --sensors "$sensors" --rate "$rate" --duration "${total}s" >/dev/null 2>"$run/simulate.log" &
    local simulate_pid=$!
    bench_track "$simulate_pid"
    "$speedo_bench" follow-latency --brokers "$brokers" --warmup "$warmup" --seconds "$seconds" >"$run/follow.txt" &
    local follow_pid=$!
    # watch and the gateway's client measure from their start (not what they back-fill): started after the warm-up,
    # in which consume latest joins its group and catches up, they measure what the follower measures.
    sleep "$warmup"
    "$speedo_bench" gateway-clients --url "ws://$address/ws/speed" --clients 1 --seconds "$seconds" >"$run/clients.txt" &
    local clients_pid=$!
    tmux -L "$socket" -f /dev/null new-session -d -s watch -x 160 -y 50 \
        "exec env TERM=xterm-256color LANG=C.UTF-8 $speedo watch -b $brokers --source latest 2>$run/watch.err"
    sleep 0.5
    local watch_pid
    watch_pid=$(tmux -L "$socket" display-message -p -t watch '#{pane_pid}')
    wait "$follow_pid" "$clients_pid"
    tmux -L "$socket" send-keys -t watch q
    for _ in $(seq 50); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.1; done
    tmux -L "$socket" kill-server 2>/dev/null || true
    for pid in "$simulate_pid" "$latest_pid" "$gateway_pid" "$broker_pid"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done

    cat "$run/follow.txt" "$run/clients.txt"
    local summary
    summary=$(grep 'speedo watch:' "$run/watch.err" | tail -1 || true)
    echo "watch: ${summary:-(no summary)}"
    local to_latest to_watch to_gateway
    to_latest=$(sed -n 's/^RESULT .* p99_ms=\([0-9.-]*\).*/\1/p' "$run/follow.txt")
    to_watch=$(sed -n 's/.*p99 \([0-9.,]*\) ms.*/\1/p' <<<"$summary" | tr -d ,)
    to_gateway=$(sed -n 's/^RESULT .* p99_ms=\([0-9.-]*\).*/\1/p' "$run/clients.txt")
    echo "P99 ${to_latest:-?} ${to_watch:-?} ${to_gateway:-?}"
}

# RUNS pipelines at SENSORS × RATE Hz; reports each hop's median p99 (a pipeline that measured nothing counts as
# missing the target).
measure() {
    local sensors=$1 rate=$2 label=$3 p99s=() i
    for i in $(seq "$runs"); do
        echo "== $label, pipeline $i of $runs"
        # Not through a pipe: the pipeline's processes must be tracked (and stopped on exit) by this shell.
        pipeline "$sensors" "$rate" "$i" >"$work/pipeline.txt"
        cat "$work/pipeline.txt"
        p99s+=("$(sed -n 's/^P99 //p' "$work/pipeline.txt")")
    done
    local hops=("reading → speed-latest" "reading → watch's model" "reading → gateway client") hop value
    for hop in 1 2 3; do
        value=$(printf '%s\n' "${p99s[@]}" | awk -v h="$hop" '{ print ($h == "?") ? 999999 : $h }' | median)
        bench_result "${hops[hop - 1]}, $label" "p99 $value ms (median of $runs)" "reading ts" "p99 $value ms" "≤ 50 ms" "$(verdict "$value" "<=" 50)"
    done
}

measure 20 1 "20 sensors × 1 Hz"
measure 2000 10 "2,000 sensors × 10 Hz (20,000 readings/s)"
