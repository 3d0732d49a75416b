#!/usr/bin/env bash
# Cost of `speedo watch` (the ncurses dashboard, in a 160x50 tmux session) on a mock cluster
# (`speedo dev serve-broker`), release build:
#   (a) 20 sensors at 10 Hz (`speedo simulate` into speed-events, `speedo consume latest` into speed-latest),
#       `watch --source latest`: CPU % of one core over the measurement and VmRSS (target ≤ 3 %, ≤ 50 MB);
#   (b) 2,000 sensors at 10 Hz, `watch --source events`: CPU % of one core, lag p50/p99 over the whole run from
#       watch's exit summary (stderr), and the status line at the start and at the end of the measurement, to see
#       whether lag grows (target ≤ 30 %, p99 ≤ 50 ms).
# CPU comes from utime+stime in /proc/PID/stat of the watch process alone.
# Usage: bench/watch.sh [--seconds S] [--partitions P]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

seconds=30
partitions=8
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    *) echo "usage: bench/watch.sh [--seconds S] [--partitions P]" >&2; exit 64 ;;
    esac
done

bench_speedo

work=$(mktemp -d /tmp/speedo-bench-watch.XXXXXX)
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC
export XDG_STATE_HOME="$work/none"
socket="speedo-bench-watch-$$"
background=()
cleanup() {
    # The background commands end with 130 on SIGTERM: keep the script's own status.
    local status=$?
    tmux -L "$socket" kill-server 2>/dev/null || true
    # Newest first: the broker goes last, so that the others can flush and commit on their way out.
    for ((index = ${#background[@]} - 1; index >= 0; index--)); do
        kill "${background[index]}" 2>/dev/null && wait "${background[index]}" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

"$speedo" dev serve-broker --state-directory "$work" --partitions "$partitions" >"$work/broker.log" 2>&1 &
background+=($!)
for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")

clock_ticks=$(getconf CLK_TCK)
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_mb() { awk -v field="$2" '$1 == field ":" { printf("%.1f", $2 / 1024) }' "/proc/$1/status"; }
status_line() { tmux -L "$socket" capture-pane -p -t watch | grep -m1 -iE 'lag|readings/s|/s' || echo "(no status line found)"; }

# Starts `speedo watch ARGS…` in a fresh tmux session; prints its pid (tmux runs the command through sh, which
# `exec` replaces).
start_watch() {
    tmux -L "$socket" -f /dev/null new-session -d -s watch -x 160 -y 50 \
        "exec env TERM=xterm-256color LANG=C.UTF-8 $speedo watch -b $brokers $* 2>$work/watch.err"
    sleep 0.5
    tmux -L "$socket" display-message -p -t watch '#{pane_pid}'
}

# Quits the dashboard with its key and waits for it to print its summary.
stop_watch() {
    local pid=$1
    tmux -L "$socket" send-keys -t watch q
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -INT "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    tmux -L "$socket" kill-server 2>/dev/null || true
}

# Prints "CPU% RSS_MB PEAK_RSS_MB" of `pid` over `seconds`.
measure() {
    local pid=$1 before after
    before=$(cpu_ticks "$pid")
    sleep "$seconds"
    after=$(cpu_ticks "$pid")
    echo "$before $after $clock_ticks $seconds $(rss_mb "$pid" VmRSS) $(rss_mb "$pid" VmHWM)" |
        awk '{ printf("%.2f %s %s\n", ($2 - $1) / $3 / $4 * 100, $5, $6) }'
}

# (a) 20 sensors through speed-latest.
"$speedo" simulate -b "$brokers" --sensors 20 --rate 10 >"$work/simulate-a.log" 2>&1 &
simulate_pid=$!
background+=($simulate_pid)
"$speedo" consume latest -b "$brokers" >"$work/latest.log" 2>&1 &
background+=($!)
sleep 3
pid=$(start_watch --source latest)
sleep 5
read -r cpu_a rss_a peak_a < <(measure "$pid")
frame_a=$(tmux -L "$socket" capture-pane -p -t watch | grep -c . || true)
status_a=$(status_line)
stop_watch "$pid"
summary_a=$(grep 'speedo watch:' "$work/watch.err" | tail -1 || true)
kill "$simulate_pid" && wait "$simulate_pid" 2>/dev/null || true

# (b) 2,000 sensors, every reading.
"$speedo" simulate -b "$brokers" --sensors 2000 --rate 10 >"$work/simulate-b.log" 2>&1 &
simulate_pid=$!
background+=($simulate_pid)
sleep 3
pid=$(start_watch --source events)
sleep 5
first_status_b=$(status_line)
read -r cpu_b rss_b peak_b < <(measure "$pid")
last_status_b=$(status_line)
stop_watch "$pid"
summary_b=$(grep 'speedo watch:' "$work/watch.err" | tail -1 || true)
kill "$simulate_pid" && wait "$simulate_pid" 2>/dev/null || true

printf '\n%s, %s s measured after 5 s of warm-up, %s partitions, load average %s\n' \
    "$(date -u +%FT%TZ)" "$seconds" "$partitions" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '(a) 20 sensors x 10 Hz, --source latest: CPU %s %% of one core (target ≤ 3), VmRSS %s MB, peak %s MB (target ≤ 50); %s non-blank lines on screen\n' \
    "$cpu_a" "$rss_a" "$peak_a" "$frame_a"
printf '    status: %s\n    summary: %s\n' "$status_a" "${summary_a:-(none on stderr)}"
printf '(b) 2,000 sensors x 10 Hz, --source events: CPU %s %% of one core (target ≤ 30), VmRSS %s MB, peak %s MB\n' \
    "$cpu_b" "$rss_b" "$peak_b"
printf '    status at start: %s\n    status at end:   %s\n    summary: %s\n' \
    "$first_status_b" "$last_status_b" "${summary_b:-(none on stderr)}"
echo "simulator (b): $(tail -1 "$work/simulate-b.log")"
p99_b=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$summary_b")
bench_result "watch, 20 sensors × 10 Hz (speed-latest)" "$cpu_a % CPU, $peak_a MB peak RSS" "one core" "$cpu_a % / $peak_a MB" "≤ 3 % / ≤ 50 MB" "$( [ "$(verdict "$cpu_a" "<=" 3)" = met ] && [ "$(verdict "$peak_a" "<=" 50)" = met ] && echo met || echo MISSED)"
bench_result "watch, 2,000 sensors × 10 Hz (--source events)" "$cpu_b % CPU" "one core" "$cpu_b %" "≤ 30 %" "$(verdict "$cpu_b" "<=" 30)"
bench_result "produce → dashboard model, 20,000 readings/s" "p99 ${p99_b:-?} ms" "record timestamp" "p99 ${p99_b:-?} ms" "≤ 50 ms" "$(verdict "${p99_b:-999999}" "<=" 50)"
