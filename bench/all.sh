#!/usr/bin/env bash
# `make bench`: every benchmark beside its anchor, in one run, then one table of results, also written to
# bench/RESULTS.md with the machine and the date. Each benchmark's own output goes to $log_dir/NAME.log.
# Usage: bench/all.sh [NAME…]     (default: all of them, in the order below; only a whole run writes RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

all=(decoder ingest http simulate writer scale-out history replay verify watch gateway page latency)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

log_dir=$(mktemp -d /tmp/speedo-bench-logs.XXXXXX)
export BENCH_RESULTS="$log_dir/results.tsv"
: >"$BENCH_RESULTS"
# The two products only: the test-support target needs the Testing module, which release builds do not have.
for product in speedo speedo-bench; do swift build -c release --static-swift-stdlib --product "$product" >/dev/null; done

failed=()
for name in "${names[@]}"; do
    echo "== bench/$name.sh (log: $log_dir/$name.log)" >&2
    start=$(date +%s)
    if ! "bench/$name.sh" >"$log_dir/$name.log" 2>&1; then
        failed+=("$name")
        echo "   failed after $(($(date +%s) - start)) s; last lines:" >&2
        tail -5 "$log_dir/$name.log" | sed 's/^/   /' >&2
        continue
    fi
    echo "   done in $(($(date +%s) - start)) s" >&2
done

machine="$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)"
software="$(swift --version 2>&1 | head -1 | sed 's/ (.*//'), librdkafka $(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null), PostgreSQL $(dpkg-query -W -f='${Version}' postgresql 2>/dev/null | cut -d+ -f1), kcat $(dpkg-query -W -f='${Version}' kcat 2>/dev/null)"
table() {
    printf '| benchmark | speedo | anchor | ratio / value | target | |\n|---|---|---|---|---|---|\n'
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$BENCH_RESULTS"
}
# bench/RESULTS.md holds one whole run: a subset (`make bench-NAME`) prints its rows and leaves the file alone.
if [ $# -gt 0 ]; then
    table
    echo "a subset: bench/RESULTS.md left as it was; logs in $log_dir" >&2
    [ ${#failed[@]} -eq 0 ]
    exit
fi
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (bench/all.sh) on $(date -u +%F) at $(date -u +%TZ). Machine: $machine; $software."
    echo "Every row was measured in this one run, speedo beside its anchor on the same machine; the method and the"
    echo "history of each figure are in bench/README.md."
    echo
    table
    if [ ${#failed[@]} -gt 0 ]; then echo; echo "Failed to run: ${failed[*]} (see their logs)."; fi
} >bench/RESULTS.md
table
echo "written to bench/RESULTS.md; logs in $log_dir" >&2
[ ${#failed[@]} -eq 0 ]
