#!/usr/bin/env bash
# Runs every ```sh block of README.md, in order, in one bash session, as a newcomer pasting them would:
# `speedo` on PATH, a private dev stack (its own XDG_STATE_HOME), a scratch working directory.
# A block preceded by `<!-- not run: REASON -->` is skipped (the reason is printed). Each command must exit 0,
# or the status its comment announces (`… exit 65`). Background jobs left running are stopped at the end.
# Usage: scripts/readme-tour.sh [README] [SPEEDO_BINARY]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
readme="$(realpath "${1:-$root/README.md}")"
binary="$(realpath "${2:-$(cd "$root" && swift build --show-bin-path)/speedo}")"

work=$(mktemp -d /tmp/speedo-tour.XXXXXX)
script="$work/tour.sh"
cleanup() {
    XDG_STATE_HOME="$work/state" "$binary" dev down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# One command per line (backslash continuations joined); after each, its status is checked against the
# expected one. Lines ending in `&` start background jobs and are not checked.
awk -v quote="'" '
    function flush_command() {
        if (command == "") return
        expected = 0
        if (match(command, /# .*exit [0-9]+/)) {
            text = substr(command, RSTART, RLENGTH)
            sub(/.*exit /, "", text)
            expected = text + 0
        }
        bare = command
        sub(/[ \t]+#.*$/, "", bare)
        printf "%s\n", command
        if (bare !~ /&[ \t]*$/) {
            gsub(quote, quote "\\" quote quote, bare)
            printf "status=$?; if [ \"$status\" -ne %d ]; then echo \"README line %d: exit $status (expected %d): \"%s%s%s >&2; exit 1; fi\n",
                expected, start, expected, quote, bare, quote
        }
        command = ""
    }
    /^<!-- not run: / { skip = $0; next }
    /^```sh$/ { if (skip != "") { print "echo " quote "skipped README block at line " NR ": " substr(skip, 15, length(skip) - 18) quote " >&2"; skipping = 1 } else inside = 1; skip = ""; next }
    /^```/ { if (inside) flush_command(); inside = 0; skipping = 0; next }
    { if ($0 !~ /^[ \t]*$/) skip = "" }
    inside {
        if (command == "") start = NR
        line = $0
        if (sub(/\\$/, "", line)) { command = command line; next }
        command = command line
        flush_command()
    }
' "$readme" >"$script"

mkdir -p "$work/bin" "$work/home" "$work/state"
ln -s "$binary" "$work/bin/speedo"
cd "$work/home"
echo "running $(grep -c '^status=' "$script") README commands from $readme" >&2
# In a session of its own, so that the tour's background jobs go with it however it ends.
env -u SPEEDO_BROKERS -u SPEEDO_DATABASE_URL -u DATABASE_URL -u SPEEDO_TOPIC \
    PATH="$work/bin:$PATH" HOME="$work/home" XDG_STATE_HOME="$work/state" \
    setsid bash -c 'set -u; source "$1"' tour "$script" &
tour=$!
status=0
wait "$tour" || status=$?
kill -TERM -- "-$tour" 2>/dev/null || true
[ "$status" -eq 0 ] || { echo "README tour failed (exit $status)" >&2; exit 1; }
echo "README tour: every command ran as announced" >&2
