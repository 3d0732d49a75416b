#!/usr/bin/env bash
# Gateway fan-out latency: speed-latest -> `speedo gateway` -> 1,000 WebSocket clients (`speedo-bench gateway-clients`),
# all on loopback in front of a mock cluster (`speedo dev serve-broker`). Each client measures, per message, the time
# from the state's ts to its receipt; the gateway's CPU is read from /proc over the measured window.
#   --source states (the default): `speedo-bench latest-states` produces the speed-latest records itself, each with
#     ts = the moment it is sent, so the latency is from the speed-latest record to the client (the target).
#   --source pipeline: `speedo simulate` -> speed-events -> `speedo consume latest` -> speed-latest, so ts is the
#     reading's time and the latency includes the simulator's and consume latest's delays too.
# Usage: bench/gateway.sh [--source states|pipeline] [--clients 1000] [--sensors 20] [--rate 10] [--seconds 20]
#        [--max-rate 20]   (release build)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

source=states
clients=1000
sensors=20
rate=10
seconds=20
max_rate=20
while [ $# -gt 0 ]; do
    case "$1" in
    --source) source=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --sensors) sensors=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --max-rate) max_rate=$2; shift 2 ;;
    *) echo "usage: $0 [--source states|pipeline] [--clients N] [--sensors N] [--rate HZ] [--seconds S] [--max-rate N]" >&2; exit 64 ;;
    esac
done
case "$source" in states | pipeline) ;; *) echo "--source is states or pipeline (got $source)" >&2; exit 64 ;; esac
scripts/install-deps.sh curl

bench_speedo
bench_helper

work=$(mktemp -d)
pids=()
cleanup() {
    local status=$?
    [ "$status" -eq 0 ] || tail -5 "$work"/gateway.log "$work"/clients.txt >&2 2>/dev/null || true
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
export XDG_STATE_HOME="$work/none"

"$speedo" dev serve-broker --state-directory "$work" >"$work/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")

"$speedo" gateway -b "$brokers" --listen 127.0.0.1:0 2>"$work/gateway.log" &
gateway_pid=$!
pids+=($gateway_pid)
bench_listen_address "$work/gateway.log"

# The source runs through connecting, warm-up and measurement, and a little beyond.
if [ "$source" = states ]; then
    "$speedo_bench" latest-states --brokers "$brokers" --sensors "$sensors" --rate "$rate" \
        --seconds "$((seconds + 90))" 2>"$work/states.log" &
    pids+=($!)
else
    # --max-rate above the sensors' rate keeps the pipeline's own delay down (at 10 the limiter holds a reading due
    # just under 100 ms after the previous one); consume latest's fetch wait is short by itself.
    "$speedo" consume latest -b "$brokers" --max-rate "$max_rate" 2>"$work/latest.log" &
    pids+=($!)
    "$speedo" simulate -b "$brokers" --sensors "$sensors" --rate "$rate" --duration "$((seconds + 90))s" \
        >/dev/null 2>"$work/simulate.log" &
    pids+=($!)
fi

"$speedo_bench" gateway-clients --url "ws://$address/ws/speed" --clients "$clients" --seconds "$seconds" \
    >"$work/clients.txt" &
clients_pid=$!
pids+=($clients_pid)

metric() { curl -sS "http://$address/metrics" | sed -n "s/^$1 \([0-9.]*\)$/\1/p"; }
for _ in $(seq 600); do
    connected=$(metric speedo_gateway_connections)
    [ "${connected%.*}" = "$clients" ] && break
    sleep 0.1
done
# CPU ticks (user + system) so far; -1 once the process has ended.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo -1; }
hertz=$(getconf CLK_TCK)
# The clients measure after a 3 s warm-up; the CPU window lies inside theirs (it starts and ends a little later).
window=$((seconds - 1))
sleep 3
cpu_before=$(ticks "$gateway_pid")
clients_cpu_before=$(ticks "$clients_pid")
sent_before=$(metric speedo_gateway_messages_sent_total)
sleep "$window"
cpu_after=$(ticks "$gateway_pid")
clients_cpu_after=$(ticks "$clients_pid")
sent_after=$(metric speedo_gateway_messages_sent_total)
coalesced=$(metric speedo_gateway_updates_coalesced_total)
dropped=$(curl -sS "http://$address/metrics" | sed -n 's/^speedo_gateway_clients_dropped_total{reason="slow"} //p')
wait "$clients_pid"

cat "$work/clients.txt"
awk -v before="$cpu_before" -v after="$cpu_after" -v cb="$clients_cpu_before" -v ca="$clients_cpu_after" \
    -v hz="$hertz" -v s="$window" -v sb="$sent_before" -v sa="$sent_after" -v co="$coalesced" -v dr="$dropped" \
    'BEGIN {
        clients = (ca < 0 || cb < 0) ? "n/a" : sprintf("%.0f%%", 100 * (ca - cb) / hz / s)
        printf "gateway: %.0f messages/s sent, CPU %.0f%% of one core; clients process CPU %s; coalesced %d, slow clients dropped %d\n",
            (sa - sb) / s, 100 * (after - before) / hz / s, clients, co, dr
    }'
p99=$(sed -n 's/^RESULT .* p99_ms=\([0-9.]*\).*/\1/p' "$work/clients.txt")
gateway_cpu=$(awk -v before="$cpu_before" -v after="$cpu_after" -v hz="$hertz" -v s="$window" 'BEGIN { printf "%.0f", 100 * (after - before) / hz / s }')
if [ "$source" = pipeline ]; then
    # Not the target's measure: it includes the simulator's 20 ms emission grid and consume latest's delays.
    bench_result "gateway via simulate + consume latest, $clients clients, $sensors sensors × $rate Hz" "p99 ${p99:-?} ms, CPU $gateway_cpu % of a core" "reading ts (whole pipeline)" "p99 ${p99:-?} ms" "—" "info"
    exit 0
fi
bench_result "gateway, $clients WebSocket clients, $sensors sensors × $rate Hz" "p99 ${p99:-?} ms, CPU $gateway_cpu % of a core" "speed-latest record timestamp" "p99 ${p99:-?} ms" "≤ 50 ms" "$(verdict "${p99:-999999}" "<=" 50)"
awk -v p="$p99" 'BEGIN { exit !(p != "" && p != "-" && p <= 50) }' && echo "p99 ${p99} ms <= 50 ms: ok" || {
    echo "p99 ${p99:-?} ms is above the 50 ms target" >&2
    exit 1
}
