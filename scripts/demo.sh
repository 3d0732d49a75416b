#!/usr/bin/env bash
# make demo: the whole pipeline on this machine. Installs what is missing, builds, starts the dev stack
# (broker + PostgreSQL), runs the history writer, the latest-state writer and a 20-sensor simulation in the
# background, and opens the dashboard. Quitting the dashboard (q, or Ctrl-C) stops the background parts and
# says where their logs are; the dev stack stays up (`speedo dev down` stops it).
#
# Overrides, for scripts and tests:
#   SPEEDO_BIN=path       use this speedo binary instead of building one
#   DEMO_WATCH="args"     what runs in the foreground instead of `watch` (e.g. "watch --once")
#   DEMO_LOGS=dir         where the logs and pid files go (default: a new directory under $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

if [ -n "${SPEEDO_BIN:-}" ]; then
    speedo=$SPEEDO_BIN
else
    scripts/install-deps.sh
    swift build --product speedo
    speedo="$(swift build --show-bin-path)/speedo"
fi

logs=${DEMO_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/speedo-demo.XXXXXX")}
mkdir -p "$logs"

"$speedo" dev up

names=()
pids=()

# Each background part gets a session of its own (setsid), so Ctrl-C in the dashboard reaches the dashboard
# only, and the parts are stopped here, in order, with SIGTERM (each writes out what it holds first).
start_background() { # $1 = name for the log, the rest = speedo arguments
    local name=$1
    shift
    setsid "$speedo" "$@" </dev/null >"$logs/$name.log" 2>&1 &
    echo $! >"$logs/$name.pid"
    names+=("$name")
    pids+=("$!")
    echo "started speedo $* (pid $!, log $logs/$name.log)"
}

stop_background() {
    trap - EXIT INT TERM
    local index pid name status
    for ((index = ${#pids[@]} - 1; index >= 0; index--)); do
        pid=${pids[index]}
        name=${names[index]}
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
                echo "killed $name (pid $pid): it did not stop within 10 s of SIGTERM"
            fi
        fi
        status=0
        wait "$pid" 2>/dev/null || status=$?
        echo "stopped $name (pid $pid, exit $status)"
    done
    echo "logs: $logs"
    echo "the dev stack is still running: \`speedo dev status\` shows it, \`speedo dev down\` stops it"
}
trap stop_background EXIT
trap 'exit 130' INT TERM

start_background consume-postgres consume postgres
start_background consume-latest consume latest
start_background simulate simulate --sensors 20

read -r -a watch_arguments <<<"${DEMO_WATCH:-watch}"
status=0
"$speedo" "${watch_arguments[@]}" || status=$?
# The dashboard ends with 130 when quit by Ctrl-C: a normal way out here.
[ "$status" -eq 130 ] && status=0
exit "$status"
