#!/usr/bin/env bash
# Two revisions side by side on this machine: the benchmarks named (default: the rows without an anchor of their own,
# and replay, whose anchor varies most) run with REV's binaries and with this tree's, alternately, ROUNDS times, so
# that both meet the same machine. The scripts are this tree's; only the binaries differ.
# Usage: bench/compare.sh REV [--rounds N] [NAME…]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

[ $# -ge 1 ] || { echo "usage: bench/compare.sh REV [--rounds N] [NAME…]" >&2; exit 64; }
rev=$1; shift
rounds=3
if [ "${1:-}" = --rounds ]; then rounds=$2; shift 2; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(decoder http replay watch)

build=(swift build -c release --static-swift-stdlib)
# REV's checkout and build are kept for the next comparison (a release build takes minutes); remove the directory and
# run `git worktree prune` when done with it.
before="${TMPDIR:-/tmp}/speedo-compare-$(git rev-parse --short "$rev")"
[ -d "$before/tree" ] || git worktree add --detach "$before/tree" "$rev" >/dev/null
echo "building $rev and this tree (release)…" >&2
for product in speedo speedo-bench; do
    (cd "$before/tree" && "${build[@]}" --product "$product" >/dev/null)
    "${build[@]}" --product "$product" >/dev/null
done
declare -A bin=([before]="$(cd "$before/tree" && "${build[@]}" --show-bin-path)" [after]="$("${build[@]}" --show-bin-path)")

results=$(mktemp /tmp/speedo-compare-results.XXXXXX)
logs=$(mktemp -d /tmp/speedo-compare-logs.XXXXXX)
: >"$results"
for round in $(seq "$rounds"); do
    # The order alternates from round to round, so that neither side always runs on a machine just warmed up.
    sides=(before after)
    [ $((round % 2)) -eq 0 ] && sides=(after before)
    for side in "${sides[@]}"; do
        for name in "${names[@]}"; do
            echo "== round $round, $side ($([ "$side" = before ] && echo "$rev" || echo "this tree")): bench/$name.sh" >&2
            rows="$logs/rows.tsv"
            : >"$rows"
            if ! BENCH_BIN_DIR="${bin[$side]}" BENCH_RESULTS="$rows" "bench/$name.sh" >"$logs/$name-$side-$round.log" 2>&1; then
                echo "   failed; last lines:" >&2
                tail -5 "$logs/$name-$side-$round.log" | sed 's/^/   /' >&2
            fi
            awk -F'\t' -v side="$side" -v round="$round" '{ printf "%s\t%s\t%s\t%s\n", $1, side, round, $4 }' "$rows" >>"$results"
        done
    done
done

echo
echo "| benchmark | $rev (before) | this tree (after) |"
echo "|---|---|---|"
awk -F'\t' '
    { key = $1; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      cell[key, $2] = cell[key, $2] (cell[key, $2] == "" ? "" : "; ") $4 }
    END { for (i = 1; i <= n; i++) printf "| %s | %s | %s |\n", order[i], cell[order[i], "before"], cell[order[i], "after"] }
' "$results"
echo "logs in $logs" >&2
