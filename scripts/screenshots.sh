#!/usr/bin/env bash
# The README's two pictures, taken again from the real binaries: docs/images/gateway.png (the gateway's live page in
# headless Chromium) and docs/images/watch.png (`speedo watch` in a 110×32 tmux pane, drawn from the pane's capture
# with its colours), both showing a 12-sensor simulation folded by `consume latest`, on a mock cluster of their own.
# Usage: scripts/screenshots.sh     (release build; installs chromium and tmux when missing)
set -euo pipefail
. "$(dirname "$0")/../bench/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/install-deps.sh chromium tmux

bench_speedo
bench_helper
mkdir -p docs/images

bench_workdir screenshots
bench_broker 2
socket="speedo-screenshots-$$"

bench_live_gateway - --sensors 12 --rate 2 --duration 600s --seed 7
tmux -L "$socket" new-session -d -x 110 -y 32 "TERM=xterm-256color '$speedo' watch -b '$brokers'"
bench_track "$(tmux -L "$socket" display-message -p '#{pid}')"

# A minute of driving: sparklines with something to show.
sleep 60
"$speedo_bench" screenshot --url "http://$address/" --out docs/images/gateway.png --width 1280 --height 820 --wait 2
tmux -L "$socket" capture-pane -e -p >"$work/watch.ansi"
"$speedo_bench" screenshot --ansi "$work/watch.ansi" --out docs/images/watch.png --width 1040 --height 720 --wait 1
echo "wrote docs/images/gateway.png and docs/images/watch.png" >&2
