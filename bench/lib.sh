# Shared by the bench/*.sh scripts (sourced): the release binary, a scratch directory cleaned on exit, a
# private broker, test data, medians, and the one result line every benchmark reports.
# shellcheck shell=bash
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[1]}")/.."
export PATH="$PATH:/opt/swift/usr/bin"
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC

# The release build as speedo ships (`make release`): the Swift runtime and Foundation linked in.
bench_build=(swift build -c release --static-swift-stdlib)

# Where the binaries come from: this tree's release build (built if needed), or, with BENCH_BIN_DIR set, the speedo and
# speedo-bench already built there (bench/compare.sh measures another revision's that way).
bench_bin_dir() {
    if [ -n "${BENCH_BIN_DIR:-}" ]; then echo "$BENCH_BIN_DIR"; return; fi
    "${bench_build[@]}" --product "$1" >/dev/null
    "${bench_build[@]}" --show-bin-path
}

# The release binary: sets $speedo.
bench_speedo() { speedo="$(bench_bin_dir speedo)/speedo"; }

# The benchmark helper (bench/Sources/speedo-bench): sets $speedo_bench.
bench_helper() { speedo_bench="$(bench_bin_dir speedo-bench)/speedo-bench"; }

# psql itself, for timed anchors: Debian's /usr/bin/psql is a Perl wrapper (pg_wrapper) that adds about 25 ms to
# every start.
bench_psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1 || true)
bench_psql=${bench_psql:-psql}

# A scratch directory in $work (also the state directory, so no dev stack of the user's is touched);
# background processes registered with bench_track are stopped and the directory removed on exit.
bench_pids=()
bench_workdir() {
    work=$(mktemp -d "/tmp/speedo-bench-$1.XXXXXX")
    export XDG_STATE_HOME="$work/state"
    trap bench_cleanup EXIT
}
bench_track() { bench_pids+=("$1"); }
# (Under `set -e` a failing last command of an && list ends the script, even in this trap, with its status: a
# stopped program's own exit status must not become the benchmark's.)
bench_cleanup() {
    local pid
    for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    if [ -n "${speedo:-}" ] && [ -d "$work/state/speedo" ]; then "$speedo" dev down >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}

# A mock cluster of its own (`speedo dev serve-broker`): sets $brokers. Args: partitions of speed-events.
bench_broker() {
    "$speedo" dev serve-broker --state-directory "$work" --partitions "${1:-6}" >"$work/broker.log" 2>&1 &
    bench_track $!
    for _ in $(seq 100); do [ -f "$work/broker.json" ] && break; sleep 0.1; done
    brokers=$(sed -n 's/.*"bootstrapServers" *: *"\([^"]*\)".*/\1/p' "$work/broker.json")
    [ -n "$brokers" ] || { cat "$work/broker.log" >&2; echo "the bench broker did not start" >&2; exit 1; }
}

# The host:port a server says it listens on (`listening on http://HOST:PORT…`) in LOG, waited for up to 30 s: sets
# $address, or shows LOG and exits.
bench_listen_address() {
    address=""
    for _ in $(seq 300); do
        address=$(sed -n 's/^listening on http:\/\/\([^ ,]*\)[ ,].*/\1/p' "$1")
        [ -n "$address" ] && break
        sleep 0.1
    done
    [ -n "$address" ] || { cat "$1" >&2; echo "no server listening (see above)" >&2; exit 1; }
}

# The live path on $brokers, logs in $work, every process tracked: `speedo consume latest` (with MAX_RATE states a
# second per sensor, or its default for -), `speedo simulate` with the options that follow, and `speedo gateway` on a
# free port: sets $address once the gateway listens.
# Usage: bench_live_gateway MAX_RATE|- SIMULATE-OPTION…
bench_live_gateway() {
    local max_rate=()
    [ "$1" = - ] || max_rate=(--max-rate "$1")
    shift
    "$speedo" consume latest -b "$brokers" "${max_rate[@]}" 2>"$work/latest.log" &
    bench_track $!
    "$speedo" simulate -b "$brokers" "$@" >/dev/null 2>"$work/simulate.log" &
    bench_track $!
    "$speedo" gateway -b "$brokers" --listen 127.0.0.1:0 2>"$work/gateway.log" &
    bench_track $!
    bench_listen_address "$work/gateway.log"
}

# N readings of 20 sensors as NDJSON into FILE, 10 a second from FIRST (epoch seconds), fractional speeds.
bench_readings() {
    awk -v n="$1" -v first="${3:-1700000000}" 'BEGIN {
        srand(7)
        for (i = 0; i < n; i++)
            printf("{\"sensor_id\":\"sensor-%02d\",\"speed\":%.1f,\"ts\":%d.%d}\n", i % 20, rand() * 180, first + int(i / 10), i % 10)
    }' >"$2"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf("%.2f", a / b) }'; }

# One row of `make bench`'s table (tab-separated into $BENCH_RESULTS when set, and always on stdout):
# benchmark, speedo's figure, the anchor and its figure, the ratio or value compared, the target, met or missed.
bench_result() {
    local row
    row=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$@")
    printf 'RESULT\t%s\n' "$row"
    [ -n "${BENCH_RESULTS:-}" ] && printf '%s\n' "$row" >>"$BENCH_RESULTS"
    return 0
}
# Whether A op B holds (op is >= or <=), as the last column of bench_result.
verdict() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? a >= b : a <= b; print ok ? "met" : "MISSED" }'; }
