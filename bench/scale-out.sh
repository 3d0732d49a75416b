#!/usr/bin/env bash
# Scale-out of the history writer: 1, 2 and 3 `speedo consume postgres` processes in one group, sharing a topic
# of 6 partitions on a 3-broker mock cluster, writing to one durable private PostgreSQL; release build.
# For each member count: the time from the first stored batch to the last (the group join, about 3 s on the
# mock, left out) and the wall time from start, median of the runs; every run must store exactly N rows.
# Usage: [SPEEDO_BINARY=path] bench/scale-out.sh [--records N] [--runs R] [speedo consume postgres options…]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

# librdkafka's mock broker keeps only about 5 MB per partition: 6 partitions hold about 300,000 readings.
records=300000
partitions=6
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --records) records=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
    esac
done

# SPEEDO_BINARY: measure that build instead (as the tests honour it).
if [ -n "${SPEEDO_BINARY:-}" ]; then
    speedo=$SPEEDO_BINARY
else
    bench_speedo
fi

work=$(mktemp -d /tmp/speedo-bench-scale.XXXXXX)
chmod 755 "$work"
export XDG_STATE_HOME="$work/state"
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC
members=()
stop_members() {
    for pid in "${members[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${members[@]}"; do wait "$pid" 2>/dev/null || true; done
    members=()
}
cleanup() {
    stop_members
    "$speedo" dev down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$XDG_STATE_HOME/speedo"
nohup "$speedo" dev serve-broker --state-directory "$XDG_STATE_HOME/speedo" --brokers 3 \
    --partitions "$partitions" >"$work/broker.log" 2>&1 &
for _ in $(seq 100); do [ -f "$XDG_STATE_HOME/speedo/broker.json" ] && break; sleep 0.1; done
"$speedo" dev up >/dev/null
eval "$("$speedo" dev env)"

echo "generating and producing $records readings to speed-events ($partitions partitions, 3 brokers)…" >&2
python3 - "$records" >"$work/keyed.txt" <<'PY'
import sys, time
count = int(sys.argv[1])
start = int(time.time()) - 2 * 86400
for i in range(count):
    sensor = f"sensor-{i % 1000}"
    micros = start * 1_000_000 + i * 100_000
    seconds, fraction = divmod(micros, 1_000_000)
    print(f'{sensor}:{{"sensor_id":"{sensor}","speed":{(i * 7919) % 100_000 / 100:g},"ts":{seconds}.{fraction:06d}}}')
PY
kcat -P -K: -b "$SPEEDO_BROKERS" -t speed-events -X linger.ms=20 -X batch.num.messages=10000 <"$work/keyed.txt"

sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$SPEEDO_DATABASE_URL" -c "$1"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for count in 1 2 3; do
    : >"$work/rates.$count" >"$work/walls.$count"
    for run in $(seq "$runs"); do
        sql "TRUNCATE speed_readings; DELETE FROM speedo_consumer_offsets"
        group="bench-$$-$count-$run"
        t0=$(now)
        for member in $(seq "$count"); do
            # Short sessions, as the tests use: members started together on the mock sometimes leave the group
            # waiting for a member that is not there (a stalled rebalance) until its session times out, 45 s by
            # default, which the timing would then mostly measure.
            "$speedo" consume postgres --group "$group" --log-interval 1h \
                -X session.timeout.ms=3000 -X heartbeat.interval.ms=300 "$@" 2>"$work/member.$member.log" &
            members+=($!)
        done
        first=""
        # Progress is the sum of the stored next offsets (every record is valid here): cheap to poll.
        while :; do
            done_records=$(sql "SELECT coalesce(sum(next_offset), 0) FROM speedo_consumer_offsets WHERE group_id = '$group'")
            [ -z "$first" ] && [ "$done_records" -gt 0 ] && first=$(now)
            [ "$done_records" -ge "$records" ] && break
            sleep 0.05
        done
        t1=$(now)
        stop_members
        stored=$(sql "SELECT count(*) FROM speed_readings")
        if [ "$stored" != "$records" ]; then
            cat "$work"/member.*.log >&2
            echo "stored $stored rows, expected $records" >&2
            exit 1
        fi
        awk -v a="$first" -v b="$t1" -v n="$records" 'BEGIN { printf "%d\n", n / (b - a) }' >>"$work/rates.$count"
        awk -v a="$t0" -v b="$t1" -v n="$records" 'BEGIN { printf "%d\n", n / (b - a) }' >>"$work/walls.$count"
        echo "$count member(s), run $run: $(tail -1 "$work/rates.$count") rows/s after the first batch," \
            "$(tail -1 "$work/walls.$count") rows/s wall" >&2
    done
done

one=$(median <"$work/rates.1")
printf '\n%-10s %22s %8s %18s\n' "members" "rows/s (first batch on)" "vs 1" "rows/s (wall)"
for count in 1 2 3; do
    rate=$(median <"$work/rates.$count")
    printf '%-10s %22s %8.2f %18s\n' "$count" "$rate" "$(awk -v a="$rate" -v b="$one" 'BEGIN { print a / b }')" \
        "$(median <"$work/walls.$count")"
done
bench_result "consume postgres, 1 / 2 / 3 members, 3 brokers" "$(median <"$work/rates.1") / $(median <"$work/rates.2") / $(median <"$work/rates.3") rows/s" "1 member" "$(ratio "$(median <"$work/rates.3")" "$one")× with 3" "report (exactness: ScaleOutTests)" "reported"
