package import SpeedoStore

/// One rollup held against the rows of `speed_readings`.
package struct RollupComparison: Equatable, Sendable, CustomStringConvertible {
    package var table: String
    /// Buckets whose count, sum, minimum, maximum or digest count differ from the rows', or that only one side has.
    package var differing: Int
    package var buckets: Int
    package var readings: Int

    package init(table: String, differing: Int, buckets: Int, readings: Int) {
        (self.table, self.differing, self.buckets, self.readings) = (table, differing, buckets, readings)
    }

    package var description: String { "\(table): \(differing) differing, \(buckets) buckets, \(readings) readings" }

    /// Every rollup against the rows, computed again from them by SQL; sums to within a billionth (they are added up
    /// in another order). Blocks.
    package static func all(on connection: PostgresConnection) throws -> [RollupComparison] {
        try HistoryRollups.widths.map { rollup in
            let row = try connection.query("""
                WITH raw AS (
                    SELECT sensor_id, date_bin('\(rollup.width)', ts, timestamptz 'epoch') AS bucket, count(*) AS n,
                           sum(speed) AS total, min(speed) AS low, max(speed) AS high
                    FROM speed_readings GROUP BY 1, 2)
                SELECT count(*) FILTER (WHERE r.sensor_id IS NULL OR raw.sensor_id IS NULL OR r.readings <> raw.n
                           OR abs(r.speed_sum - raw.total) > 1e-9 * greatest(1, abs(raw.total)) OR r.speed_min <> raw.low OR r.speed_max <> raw.high
                           OR tdigest_count(r.digest) <> raw.n) AS differing,
                       count(r.sensor_id) AS buckets, coalesce(sum(r.readings), 0) AS readings
                FROM raw FULL JOIN \(rollup.table) r USING (sensor_id, bucket)
                """).first
            return RollupComparison(
                table: rollup.table, differing: try row?.int("differing") ?? -1, buckets: try row?.int("buckets") ?? -1,
                readings: try row?.int("readings") ?? -1)
        }
    }
}
