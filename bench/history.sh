#!/usr/bin/env bash
# History read latency: `speedo history` end to end (process start to exit, CSV to /dev/null) for one sensor's raw
# hour, for one sensor's day in 15-minute buckets from the rows (--exact), and for a year of hours and a month of
# minutes from the rollups (beside --exact on the rows), against the same SQL through `psql -c` (anchor), on a private
# PostgreSQL (`speedo dev up`, durable defaults) holding 10,000,000 rows. Median of 11 runs after one warm-up each;
# release build. Saves EXPLAIN (ANALYZE, BUFFERS) of both queries in bench/plans/.
# Usage: bench/history.sh [--sensors N] [--seconds S] [--runs R]
#   readings are generated at 10 Hz per sensor for S seconds: N × S × 10 rows (default 10 × 100,000 × 10 = 10M)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

sensors=10
seconds=100000
runs=11
while [ $# -gt 0 ]; do
    case "$1" in
    --sensors) sensors=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
    esac
done

bench_speedo

work=$(mktemp -d /tmp/speedo-bench-history.XXXXXX)
chmod 755 "$work"
export XDG_STATE_HOME="$work/state"
unset SPEEDO_BROKERS SPEEDO_DATABASE_URL DATABASE_URL SPEEDO_TOPIC
cleanup() {
    "$speedo" dev down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"$speedo" dev up >/dev/null
eval "$("$speedo" dev env)"
sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$SPEEDO_DATABASE_URL" -c "$1"; }

# Day D is three days ago (UTC midnight); the readings run from D − 2 h for $seconds seconds at 10 Hz per sensor,
# in time order (as they would arrive), so every sensor's rows are interleaved with the others' on the heap.
day=$(date -u -d '3 days ago' +%F)
rows=$((sensors * seconds * 10))
echo "filling speed_readings with $rows rows ($sensors sensors at 10 Hz from $day minus 2 h, for $seconds s)…" >&2
t0=$(date +%s.%N)
sql "SELECT speedo_ensure_daily_partition(d::date)
     FROM generate_series(timestamp '$day' - interval '2 hours',
                          timestamp '$day' - interval '2 hours' + interval '$seconds seconds', interval '1 day') d;
     SELECT speedo_ensure_daily_partition((timestamp '$day' - interval '2 hours' + interval '$seconds seconds')::date)" \
    >/dev/null
sql "INSERT INTO speed_readings (sensor_id, ts, speed)
     SELECT 'sensor-' || s, (timestamp '$day' AT TIME ZONE 'UTC') - interval '2 hours' + i * interval '100 ms',
            ((i::bigint * 7919 + s * 104729) % 20000) / 100.0
     FROM generate_series(0, $((seconds * 10 - 1))) AS i, generate_series(0, $((sensors - 1))) AS s
     ORDER BY i, s"
# VACUUM marks the pages all-visible, as autovacuum does by itself for insert-only tables (PostgreSQL 13+,
# autovacuum_vacuum_insert_threshold): index-only scans then never visit the heap. Rows not vacuumed yet cost a heap
# visit each, as before the covering primary key.
sql "VACUUM (ANALYZE) speed_readings"
# The fill left gigabytes of dirty pages and WAL: without a checkpoint now, the checkpointer writes them out while
# the queries are timed (measured here: 53 and 209 ms right after the fill, 46 and 153-190 ms on the same rows at
# rest). A day-old history is at rest.
sql "CHECKPOINT"
t1=$(date +%s.%N)
echo "filled in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s: $(sql "SELECT count(*) FROM speed_readings") rows" >&2

hour_since="${day}T12:00:00Z"
hour_until="${day}T13:00:00Z"
day_since="${day}T00:00:00Z"
day_until="$(date -u -d "$day + 1 day" +%F)T00:00:00Z"
day_since_micros=$(($(date -u -d "$day_since" +%s) * 1000000))
bucket_micros=$((15 * 60 * 1000000))

# The SQL of Sources/SpeedoStore/HistoryQueries.swift (readings(of:since:until:limit:) and the per-bucket range scan
# of buckets(of:since:until:width:limit:), which returns each bucket's speeds for speedo to compute the statistics),
# parameters substituted; no --limit, so LIMIT NULL.
raw_sql="SELECT ts, speed
FROM speed_readings
WHERE sensor_id = 'sensor-7' AND ts >= '$hour_since'::timestamptz AND ts < '$hour_until'::timestamptz
ORDER BY ts
LIMIT NULL::bigint"
bucket_lateral="FROM unnest('{\"sensor-7\"}'::text[]) AS asked(sensor_id)
CROSS JOIN generate_series(0::bigint, 96::bigint - 1) AS slot(index)
CROSS JOIN LATERAL (
    SELECT SELECTED
    FROM speed_readings r
    WHERE r.sensor_id = asked.sensor_id
      AND r.ts >= '$day_since'::timestamptz + slot.index * ($bucket_micros::bigint * interval '1 microsecond')
      AND r.ts < least('$day_since'::timestamptz + (slot.index + 1) * ($bucket_micros::bigint * interval '1 microsecond'),
                       '$day_until'::timestamptz)
) AS stats"
bucket_sql="SELECT asked.sensor_id, slot.index AS bucket, stats.speeds
${bucket_lateral/SELECTED/array_agg(speed) AS speeds}
WHERE stats.speeds IS NOT NULL
ORDER BY asked.sensor_id, slot.index
LIMIT NULL::bigint"
# The anchor for buckets: the same scans with the statistics computed by the server, as psql gets them (and as
# speedo did until 2026-12-03).
bucket_stats_sql="SELECT asked.sensor_id, slot.index AS bucket, stats.readings, stats.minimum, stats.total, stats.maximum,
       stats.p95
${bucket_lateral/SELECTED/count(*) AS readings, min(speed) AS minimum, sum(speed) AS total, max(speed) AS maximum,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY speed) AS p95}
WHERE stats.readings > 0
ORDER BY asked.sensor_id, slot.index
LIMIT NULL::bigint"
# The SQL before (text results with numeric epoch arithmetic; one GROUP BY over the day), run through psql with the
# server's defaults (JIT on, work_mem 4 MB) as speedo used to: the server's share of the old figures, in the same run.
old_raw_sql="SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS micros, speed
FROM speed_readings
WHERE sensor_id = ANY('{\"sensor-7\"}'::text[]) AND ts >= '$hour_since'::timestamptz AND ts < '$hour_until'::timestamptz
ORDER BY sensor_id, ts
LIMIT NULL::bigint"
old_bucket_sql="SELECT sensor_id,
       floor((extract(epoch FROM ts) * 1000000 - $day_since_micros::bigint) / $bucket_micros::bigint)::bigint AS bucket,
       count(*) AS readings, min(speed) AS minimum, avg(speed) AS average, max(speed) AS maximum,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY speed) AS p95
FROM speed_readings
WHERE sensor_id = ANY('{\"sensor-7\"}'::text[]) AND ts >= '$day_since'::timestamptz AND ts < '$day_until'::timestamptz
GROUP BY sensor_id, bucket
ORDER BY sensor_id, bucket
LIMIT NULL::bigint"

# A year of one more sensor, a reading every 30 s (1,051,200 rows), for the rollups' rows: a year of hours and a month
# of minutes. The rollups are built from the rows with the migration's SQL (the rows above came in by SQL, not through
# the writer, which keeps them with every batch it stores), in time order as the writer and the migration lay them.
year_start=$(date -u -d "$day - 400 days" +%F)
year_since="${year_start}T00:00:00Z"
year_until="$(date -u -d "$year_start + 365 days" +%F)T00:00:00Z"
month_until="$(date -u -d "$year_start + 30 days" +%F)T00:00:00Z"
echo "adding a year of sensor-year (a reading every 30 s from $year_start) and building the rollups…" >&2
sql "SELECT speedo_ensure_daily_partition(d::date)
     FROM generate_series(timestamp '$year_start', timestamp '$year_start' + interval '365 days', interval '1 day') d" >/dev/null
sql "INSERT INTO speed_readings (sensor_id, ts, speed)
     SELECT 'sensor-year', (timestamp '$year_start' AT TIME ZONE 'UTC') + i * interval '30 s', ((i::bigint * 7919) % 20000) / 100.0
     FROM generate_series(0, 365 * 2880 - 1) AS i"
for width in "1 minute:speed_rollups_1m" "1 hour:speed_rollups_1h"; do
    sql "TRUNCATE ${width#*:};
         INSERT INTO ${width#*:} SELECT sensor_id, date_bin('${width%%:*}', ts, timestamptz 'epoch'), count(*), sum(speed),
                min(speed), max(speed), tdigest(speed, 100)
         FROM speed_readings GROUP BY 1, 2 ORDER BY 2, 1"
done
sql "VACUUM (ANALYZE)"
sql "CHECKPOINT"
year_micros=$(($(date -u -d "$year_since" +%s) * 1000000))
# HistoryQueries.bucketsFromRollup for buckets as wide as the rollup (the rollup's rows with their digests, whose
# percentile speedo computes), parameters substituted: the anchor runs speedo's own SQL.
rollup_sql() { # $1 table, $2 until, $3 bucket width in microseconds
    echo "SELECT sensor_id, floor((date_part('epoch', bucket) * 1000000 - $year_micros::bigint) / $3::bigint)::bigint AS bucket,
       readings, speed_min AS minimum, speed_sum AS total, speed_max AS maximum, digest
FROM $1
WHERE sensor_id = ANY('{\"sensor-year\"}'::text[]) AND bucket >= '$year_since'::timestamptz AND bucket < '$2'::timestamptz
ORDER BY sensor_id, $1.bucket LIMIT NULL::bigint"
}
year_sql=$(rollup_sql speed_rollups_1h "$year_until" 3600000000)
month_sql=$(rollup_sql speed_rollups_1m "$month_until" 60000000)

raw_rows=$("$speedo" history sensor-7 --since "$hour_since" --until "$hour_until" --format csv | wc -l)
bucket_rows=$("$speedo" history sensor-7 --since "$day_since" --until "$day_until" --bucket 15m --exact --format csv | wc -l)
year_rows=$("$speedo" history sensor-year --since "$year_since" --until "$year_until" --bucket 1h --format csv | wc -l)
year_exact_rows=$("$speedo" history sensor-year --since "$year_since" --until "$year_until" --bucket 1h --exact --format csv | wc -l)
month_rows=$("$speedo" history sensor-year --since "$year_since" --until "$month_until" --bucket 1m --format csv | wc -l)
if [ "$year_rows" != "$year_exact_rows" ] || [ "$year_rows" != 8761 ] || [ "$month_rows" != 43201 ]; then
    echo "expected 8,760 hours (rollups $year_rows, raw $year_exact_rows lines with the header) and 43,200 minutes ($month_rows)" >&2
    exit 1
fi
echo "speedo history: $raw_rows lines for the raw hour, $bucket_rows lines for the bucketed day (CSV, with header if any)" >&2

for name in raw bucket bucket_stats; do
    query_var="${name}_sql"
    {
        echo "-- $(date -u +%FT%TZ), $rows rows in speed_readings, load average $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "${!query_var};"
        echo
        psql -X -q -v ON_ERROR_STOP=1 -At "$SPEEDO_DATABASE_URL" -c "SET jit = off" -c "SET work_mem = '64MB'" -c "SET random_page_cost = 1.1" \
            -c "EXPLAIN (ANALYZE, BUFFERS) ${!query_var}"
    } >"bench/plans/history-${name//_/-}.txt"
done

# Median wall time in milliseconds of $runs runs of a command after one warm-up run.
median_ms() {
    "$@" >/dev/null
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
    done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[int((NR + 1) / 2)] / 1000 }'
}
# speedo's session settings (prepareForHistoryReads) for the anchor too.
psql_new() { "$bench_psql" -X -q -At "$SPEEDO_DATABASE_URL" -c "SET jit = off" -c "SET work_mem = '64MB'" -c "SET random_page_cost = 1.1" -c "$1"; }
psql_old() { "$bench_psql" -X -q -At "$SPEEDO_DATABASE_URL" -c "$1"; }
raw_speedo=$(median_ms "$speedo" history sensor-7 --since "$hour_since" --until "$hour_until" --format csv)
raw_psql=$(median_ms psql_new "$raw_sql")
raw_old=$(median_ms psql_old "$old_raw_sql")
bucket_speedo=$(median_ms "$speedo" history sensor-7 --since "$day_since" --until "$day_until" --bucket 15m --exact --format csv)
year_speedo=$(median_ms "$speedo" history sensor-year --since "$year_since" --until "$year_until" --bucket 1h --format csv)
year_exact=$(median_ms "$speedo" history sensor-year --since "$year_since" --until "$year_until" --bucket 1h --exact --format csv)
year_psql=$(median_ms psql_new "$year_sql")
month_speedo=$(median_ms "$speedo" history sensor-year --since "$year_since" --until "$month_until" --bucket 1m --format csv)
month_exact=$(median_ms "$speedo" history sensor-year --since "$year_since" --until "$month_until" --bucket 1m --exact --format csv)
month_psql=$(median_ms psql_new "$month_sql")
bucket_psql=$(median_ms psql_new "$bucket_stats_sql")
bucket_old=$(median_ms psql_old "$old_bucket_sql")

printf '\n%s, %s rows, median of %s (ms, process start to exit), load average %s\n' \
    "$(date -u +%FT%TZ)" "$rows" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %10s %10s %14s %8s\n' "query" "speedo" "psql -c" "old SQL, psql" "target"
printf '%-46s %10s %10s %14s %8s\n' "sensor-7, 1 h raw ($raw_rows lines)" "$raw_speedo" "$raw_psql" "$raw_old" "≤ 50"
printf '%-46s %10s %10s %14s %8s\n' "sensor-7, 1 d in 15 min buckets ($bucket_rows lines)" "$bucket_speedo" "$bucket_psql" \
    "$bucket_old" "≤ 200"
bench_result "history, 1 h raw of one sensor ($raw_rows lines, $rows rows)" "$raw_speedo ms" "psql -c $raw_psql ms" "$raw_speedo ms" "≤ 50 ms" "$(verdict "$raw_speedo" "<=" 50)"
printf '%-46s %10s %10s %14s %8s\n' "sensor-year, 1 year in 1 h buckets (rollups)" "$year_speedo" "$year_psql" \
    "raw $year_exact" "≤ 100"
printf '%-46s %10s %10s %14s %8s\n' "sensor-year, 30 days in 1 min buckets (rollups)" "$month_speedo" "$month_psql" \
    "raw $month_exact" "≤ 100"
bench_result "history, 1 year in 1 h buckets from the rollups (8760 buckets)" "$year_speedo ms (--exact, raw rows: $year_exact ms)" "psql -c $year_psql ms" "$year_speedo ms" "≤ 100 ms" "$(verdict "$year_speedo" "<=" 100)"
bench_result "history, 30 days in 1 min buckets from the rollups (43200 buckets)" "$month_speedo ms (--exact, raw rows: $month_exact ms)" "psql -c $month_psql ms" "$month_speedo ms" "≤ 100 ms" "$(verdict "$month_speedo" "<=" 100)"
bench_result "history, 1 day in 15 min buckets" "$bucket_speedo ms" "psql -c $bucket_psql ms" "$bucket_speedo ms" "≤ 200 ms" "$(verdict "$bucket_speedo" "<=" 200)"
