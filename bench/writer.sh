#!/usr/bin/env bash
# History writer throughput: `speedo consume postgres --exit-at-end` against `psql \copy` of the same rows into a
# fresh table with the same primary key, side by side on one private dev stack (mock broker + durable PostgreSQL),
# median of 3 runs each, release build.
# Usage: bench/writer.sh [--records N] [--partitions P] [--runs R] [speedo consume postgres options…]
#   e.g. bench/writer.sh --records 200000 --batch-size 20000
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

records=1000000
# librdkafka's mock broker keeps only about 5 MB per partition: 1,000,000 readings need about 32 partitions.
partitions=32
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --records) records=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
    esac
done

bench_speedo

work=$(mktemp -d /tmp/speedo-bench-writer.XXXXXX)
chmod 755 "$work"
export XDG_STATE_HOME="$work/state"
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC
cleanup() {
    "$speedo" dev down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The broker first, with enough partitions; `dev up` then finds it running and adds PostgreSQL.
mkdir -p "$XDG_STATE_HOME/speedo"
nohup "$speedo" dev serve-broker --state-directory "$XDG_STATE_HOME/speedo" --partitions "$partitions" \
    >"$work/broker.log" 2>&1 &
for _ in $(seq 100); do [ -f "$XDG_STATE_HOME/speedo/broker.json" ] && break; sleep 0.1; done
"$speedo" dev up >/dev/null
eval "$("$speedo" dev env)"

echo "generating $records readings…" >&2
python3 - "$records" "$work" <<'EOF'
import sys, datetime
count, work = int(sys.argv[1]), sys.argv[2]
start = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - 2 * 86400
with open(f"{work}/keyed.txt", "w") as keyed, open(f"{work}/rows.csv", "w") as csv:
    for i in range(count):
        sensor = f"sensor-{i % 1000}"
        micros = start * 1_000_000 + i * 100_000
        speed = (i * 7919) % 100_000 / 100
        seconds, fraction = divmod(micros, 1_000_000)
        keyed.write(f'{sensor}:{{"sensor_id":"{sensor}","speed":{speed:g},"ts":{seconds}.{fraction:06d}}}\n')
        stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        csv.write(f"{sensor},{stamp}.{fraction:06d}Z,{speed:g}\n")
EOF
echo "producing them to speed-events ($partitions partitions) with kcat…" >&2
kcat -P -K: -b "$SPEEDO_BROKERS" -t speed-events -X linger.ms=20 -X batch.num.messages=10000 <"$work/keyed.txt"

sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$SPEEDO_DATABASE_URL" -c "$1"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One rollup's upsert from new_rows, as HistoryRollups.upserts writes it. $1: table suffix, $2: width.
rollup_upsert() {
    echo "rollup_$1 AS (INSERT INTO bench_rollups_$1 AS stored
SELECT sensor_id, date_bin('$2', ts, timestamptz 'epoch'), count(*), sum(speed), min(speed), max(speed), tdigest(speed, 100)
FROM new_rows GROUP BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET readings = stored.readings + excluded.readings,
    speed_sum = stored.speed_sum + excluded.speed_sum, speed_min = least(stored.speed_min, excluded.speed_min),
    speed_max = greatest(stored.speed_max, excluded.speed_max), digest = tdigest_union(stored.digest, excluded.digest)
RETURNING 1)"
}
: >"$work/speedo.rates" >"$work/speedo.walls" >"$work/psql.rates" >"$work/psql-rollups.rates"
for run in $(seq "$runs"); do
    sql "TRUNCATE speed_readings, speed_rollups_1m, speed_rollups_1h; DELETE FROM speedo_consumer_offsets"
    # Each side starts with no dirty pages of the other's million rows to write out (the checkpointer would
    # otherwise bill the run after each one for it: speedo measured 273,021 rows/s first, 163,449-166,801 after
    # psql's runs).
    sql "CHECKPOINT"
    t0=$(now)
    # A new group each run: the mock broker would otherwise hold the next join until the last member's session
    # timed out.
    "$speedo" consume postgres --exit-at-end --log-interval 1h --group "bench-$$-$run" "$@" 2>"$work/consume.log"
    t1=$(now)
    stored=$(sql "SELECT count(*) FROM speed_readings")
    if [ "$stored" != "$records" ]; then
        cat "$work/consume.log" >&2
        echo "speedo stored $stored rows, expected $records (did the mock broker drop records? raise --partitions)" >&2
        exit 1
    fi
    # The summary's rate counts from the first partition assignment (the mock's group join takes about 3 s).
    rate=$(sed -n 's/.*from the first assignment (\([0-9,]*\) rows\/s).*/\1/p' "$work/consume.log" | tr -d ,)
    echo "$rate" >>"$work/speedo.rates"
    awk -v a="$t0" -v b="$t1" -v n="$records" 'BEGIN { printf "%d\n", n / (b - a) }' >>"$work/speedo.walls"

    sql "DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (sensor_id text NOT NULL, ts timestamptz NOT NULL,
         speed double precision NOT NULL, PRIMARY KEY (sensor_id, ts))"
    sql "CHECKPOINT"
    t0=$(now)
    "$bench_psql" -X -q -v ON_ERROR_STOP=1 "$SPEEDO_DATABASE_URL" -c "\\copy bench_copy FROM '$work/rows.csv' WITH (FORMAT csv)"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" -v n="$records" 'BEGIN { printf "%d\n", n / (b - a) }' >>"$work/psql.rates"

    # The same work as speedo's: the rows through a staging table into the table and, from what the INSERT returns,
    # into a minute and an hour rollup (the statement of HistoryWriter.insertStaged), in one transaction.
    sql "DROP TABLE IF EXISTS bench_copy, bench_rollups_1m, bench_rollups_1h;
         CREATE TABLE bench_copy (sensor_id text NOT NULL, ts timestamptz NOT NULL, speed double precision NOT NULL,
                                  PRIMARY KEY (sensor_id, ts));
         CREATE TABLE bench_rollups_1m (LIKE speed_rollups_1m INCLUDING ALL);
         CREATE TABLE bench_rollups_1h (LIKE speed_rollups_1h INCLUDING ALL)"
    sql "CHECKPOINT"
    t0=$(now)
    "$bench_psql" -X -q -v ON_ERROR_STOP=1 -1 "$SPEEDO_DATABASE_URL" <<SQL >/dev/null
CREATE TEMP TABLE staging (sensor_id text NOT NULL, ts timestamptz NOT NULL, speed double precision NOT NULL) ON COMMIT DROP;
\\copy staging FROM '$work/rows.csv' WITH (FORMAT csv)
WITH new_rows AS (INSERT INTO bench_copy SELECT sensor_id, ts, speed FROM staging RETURNING sensor_id, ts, speed),
$(rollup_upsert 1m "1 minute"),
$(rollup_upsert 1h "1 hour")
SELECT count(*) FROM new_rows;
SQL
    t1=$(now)
    awk -v a="$t0" -v b="$t1" -v n="$records" 'BEGIN { printf "%d\n", n / (b - a) }' >>"$work/psql-rollups.rates"
    echo "run $run: speedo $(tail -1 "$work/speedo.rates") rows/s (wall $(tail -1 "$work/speedo.walls")), psql \\copy $(tail -1 "$work/psql.rates") rows/s, psql with rollups $(tail -1 "$work/psql-rollups.rates") rows/s" >&2
done

speedo_rate=$(median <"$work/speedo.rates")
speedo_wall=$(median <"$work/speedo.walls")
psql_rate=$(median <"$work/psql.rates")
psql_rollups_rate=$(median <"$work/psql-rollups.rates")
printf '\n%-52s %12s %8s\n' "median of $runs, $records rows" "rows/s" "ratio"
printf '%-52s %12s %8s\n' "psql \\copy (CSV, same primary key, fresh table)" "$psql_rate" "1.00"
printf '%-52s %12s %8.2f\n' "speedo consume postgres (from first assignment)" "$speedo_rate" \
    "$(awk -v a="$speedo_rate" -v b="$psql_rate" 'BEGIN { print a / b }')"
printf '%-52s %12s %8.2f\n' "speedo consume postgres (wall clock, with group join)" "$speedo_wall" \
    "$(awk -v a="$speedo_wall" -v b="$psql_rate" 'BEGIN { print a / b }')"
printf '%-52s %12s %8.2f\n' "psql: staging, INSERT and the same rollups" "$psql_rollups_rate" \
    "$(awk -v a="$psql_rollups_rate" -v b="$psql_rate" 'BEGIN { print a / b }')"
r=$(ratio "$speedo_rate" "$psql_rate")
same=$(ratio "$speedo_rate" "$psql_rollups_rate")
bench_result "consume postgres, $records rows, exactly-once, with rollups" "$speedo_rate rows/s (wall $speedo_wall)" "psql \\copy $psql_rate rows/s; psql doing the same work $psql_rollups_rate rows/s" "${r}× (${same}× the same work)" "≥ 0.80×" "$(verdict "$r" ">=" 0.8)"
