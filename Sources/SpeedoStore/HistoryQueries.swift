package import SpeedoCore

/// Time-bucketed statistics of one sensor's readings.
package struct SpeedBucket: Sendable, Equatable {
    package var sensorID: String
    /// The bucket covers [start, start + width); buckets are aligned to the start of the queried range.
    package var start: Timestamp
    package var count: Int
    package var minimum: Double
    package var average: Double
    package var maximum: Double
    /// The 95th percentile, interpolated between neighbouring readings (`percentile_cont`).
    package var percentile95: Double
}

extension SpeedBucket {
    /// The statistics of `speeds` (not empty, in time order), as PostgreSQL's aggregates would compute them: the
    /// total summed in that order, the percentile by `Percentile.continuous`, which reorders the array it is given
    /// (taken over, so not copied).
    init(sensorID: String, start: Timestamp, speeds: consuming [Double]) {
        var total = 0.0, minimum = speeds[0], maximum = speeds[0]
        speeds.withUnsafeBufferPointer { values in
            for speed in values {
                total += speed
                minimum = Swift.min(minimum, speed)
                maximum = Swift.max(maximum, speed)
            }
        }
        let count = speeds.count
        var ordered = consume speeds
        self.init(
            sensorID: sensorID, start: start, count: count, minimum: minimum, average: total / Double(count),
            maximum: maximum, percentile95: Percentile.continuous(0.95, of: &ordered))
    }
}

/// The read side of `speed_readings`, for `speedo history`.
///
/// Every query filters on one `sensor_id` (raw readings) or `sensor_id = ANY(…)` (buckets) and a half-open `ts`
/// range, which the primary key `(sensor_id, ts) INCLUDE (speed)` answers as an index-only range scan per sensor in
/// only the daily partitions the range touches (partition pruning on `ts`; the heap is not read once VACUUM, or
/// autovacuum after inserts, has marked the pages all-visible); nothing here needs an extension, so TimescaleDB
/// hypertables or Citus distribution by `sensor_id` serve the same SQL. Values travel as parameters, never in the SQL
/// text; results come back in binary form.
extension PostgresConnection {
    /// Session settings for the history reads, and the schema version (0: speedo never wrote here), in one round
    /// trip: JIT compilation costs 50–200 ms a query, more than it saves on these index range scans; a `work_mem`
    /// of 64 MB keeps the sort of `bucketsByGrouping` in memory; a `random_page_cost` of 1.1 (the default, 4, prices
    /// a spinning disk) lets the planner read a rollup's rows in primary key order instead of fetching them by bitmap
    /// and sorting them (a month of minutes: 32 ms instead of 51 ms in the server). Blocks.
    package func prepareForHistoryReads() throws(PostgresError) -> Int {
        do {
            return try queryLast(of: """
                SET jit = off; SET work_mem = '64MB'; SET random_page_cost = 1.1;
                SELECT coalesce(max(version), 0) AS version FROM speedo_schema_migrations
                """).first?.int("version") ?? 0
        } catch .queryFailed(let error, _) where error.sqlState == Self.undefinedTable {
            return 0
        }
    }

    private static let undefinedTable = "42P01"

    /// The readings of `sensors` in [since, until), sensor by sensor in the order given, each in time order; at most
    /// `limit` in all when given. One query per sensor, so that rows carry only `ts` and `speed` (a quarter less to
    /// send, receive and decode than with the sensor id in every row).
    package func readings(
        of sensors: [String], since: Timestamp, until: Timestamp, limit: Int?
    ) throws(PostgresError) -> [Reading] {
        var readings: [Reading] = []
        for sensorID in sensors {
            let remaining = limit.map { $0 - readings.count }
            if let remaining, remaining <= 0 { break }
            let rows = try queryBinary(
                """
                SELECT ts, speed
                FROM speed_readings
                WHERE sensor_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz
                ORDER BY ts
                LIMIT $4::bigint
                """,
                [sensorID, since.rfc3339, until.rfc3339, remaining.map(String.init)])
            let (timeColumn, speedColumn) = (rows.column("ts"), rows.column("speed"))
            readings.reserveCapacity(readings.count + rows.count)
            for row in 0..<rows.count {
                guard let timestamp = try rows.timestamp(row, timeColumn), let speed = try rows.double(row, speedColumn)
                else { continue }
                readings.append(Reading(sensorID: sensorID, speed: speed, timestamp: timestamp))
            }
        }
        return readings
    }

    /// Count, min, avg, max and p95 of `sensors` per `width` bucket in [since, until), by sensor then bucket;
    /// buckets without readings are left out. Buckets start at `since`; the last one ends at `until`.
    ///
    /// Up to `slotsPerQueryByRange` (sensor, bucket) pairs of at most `widestBucketByRange`, each bucket is its own
    /// index-only range scan (`bucketsByRange`) whose speeds come back as one array, in time order, and the
    /// statistics are computed here: a selection for the percentile instead of the server's sort (which was nearly
    /// half of the server's time for a day in 15-minute buckets: bench/README.md). Rows are read one at a time, so
    /// memory holds one bucket's speeds. Beyond that many buckets, probing every empty one would cost more than one
    /// pass over the rows, and much wider buckets would make arrays too large to hold; `bucketsByGrouping` groups
    /// the rows and computes the statistics in the server instead, with the same results.
    /// `rangeScanSlots` is there for tests, to run either strategy on the same rows.
    ///
    /// With `fromRollups`, when `width` is a whole number of a rollup's width and both ends of the range fall on that
    /// rollup's bucket boundaries, the buckets are summed from the rollup (`HistoryRollups`) instead of the rows:
    /// count, minimum, maximum and average as exact, the 95th percentile the t-digest's estimate.
    package func buckets(
        of sensors: [String], since: Timestamp, until: Timestamp, width: TimeSpan, limit: Int?,
        fromRollups: Bool = false, rangeScanSlots: Int64 = slotsPerQueryByRange
    ) throws(PostgresError) -> [SpeedBucket] {
        let perSensor = (until - since).microseconds / width.microseconds
            + ((until - since).microseconds % width.microseconds == 0 ? 0 : 1)
        let common = [Self.textArray(sensors), since.rfc3339, until.rfc3339]
        let tail = [String(width.microseconds), limit.map(String.init)]
        if fromRollups, let rollup = HistoryRollups.rollup(for: width, since: since, until: until) {
            let merging = width.microseconds != rollup.microseconds
            return try groupedBuckets(
                Self.bucketsFromRollup(rollup.table, merging: merging),
                common + [String(since.microseconds)] + tail, since: since,
                width: width, percentileFromDigest: !merging)
        }
        var buckets: [SpeedBucket] = []
        guard perSensor * Int64(sensors.count) > rangeScanSlots || width > Self.widestBucketByRange else {
            try forEachBinaryRow(Self.bucketsByRange, common + [String(perSensor)] + tail) { row throws(PostgresError) in
                guard let sensorID = row.string(0, row.column("sensor_id")),
                    let index = try row.int64(0, row.column("bucket")),
                    let speeds = try row.doubles(0, row.column("speeds")), !speeds.isEmpty
                else { return }
                buckets.append(SpeedBucket(
                    sensorID: sensorID, start: since + TimeSpan(microseconds: index * width.microseconds), speeds: speeds))
            }
            return buckets
        }
        return try groupedBuckets(Self.bucketsByGrouping, common + [String(since.microseconds)] + tail, since: since, width: width)
    }

    /// The buckets of a query that returns one row of statistics per sensor and bucket number, with the 95th
    /// percentile as `p95` or, `percentileFromDigest` (a rollup's rows taken one by one), as the `digest` to estimate
    /// it from.
    private func groupedBuckets(
        _ sql: String, _ parameters: [String?], since: Timestamp, width: TimeSpan, percentileFromDigest: Bool = false
    ) throws(PostgresError) -> [SpeedBucket] {
        let rows = try queryBinary(sql, parameters)
        let columns = ["sensor_id", "bucket", "readings", "minimum", "total", "maximum"].map(rows.column)
        let percentile95: (Int) throws(PostgresError) -> Double? = if percentileFromDigest {
            { [column = rows.column("digest")] row throws(PostgresError) in
                try rows.centroids(row, column).map { Percentile.continuous(0.95, ofCentroids: $0) }
            }
        } else {
            { [column = rows.column("p95")] row throws(PostgresError) in try rows.double(row, column) }
        }
        var buckets: [SpeedBucket] = []
        buckets.reserveCapacity(rows.count)
        var sensorID = ""
        for row in 0..<rows.count {
            // One `String` per sensor rather than per row: the rows come sensor by sensor.
            if !rows.hasText(row, columns[0], equalTo: sensorID) {
                guard let next = rows.string(row, columns[0]) else { continue }
                sensorID = next
            }
            guard let index = try rows.int64(row, columns[1]),
                let count = try rows.int64(row, columns[2]), let minimum = try rows.double(row, columns[3]),
                let total = try rows.double(row, columns[4]), let maximum = try rows.double(row, columns[5]),
                let p95 = try percentile95(row)
            else { continue }
            buckets.append(SpeedBucket(
                sensorID: sensorID, start: since + TimeSpan(microseconds: index * width.microseconds),
                count: Int(count), minimum: minimum, average: total / Double(count), maximum: maximum,
                percentile95: min(max(p95, minimum), maximum)))
        }
        return buckets
    }

    /// About a second of empty-bucket probes at worst (a few microseconds each).
    package static let slotsPerQueryByRange: Int64 = 100_000

    /// An hour of readings is 36,000 speeds at 10 Hz (430 KB as an array); the server cannot build an array past
    /// 1 GB (some 90 million speeds).
    package static let widestBucketByRange = TimeSpan.seconds(3_600)

    /// $4: buckets per sensor; $5: width in microseconds. Bucket bounds are `since + i × width` as exact
    /// microsecond intervals (no calendar days, so no time zone or DST can move them). `array_agg` keeps the order
    /// of the index scan: time order, the order in which `sum` would add them.
    static let bucketsByRange = """
        SELECT asked.sensor_id, slot.index AS bucket, stats.speeds
        FROM unnest($1::text[]) AS asked(sensor_id)
        CROSS JOIN generate_series(0::bigint, $4::bigint - 1) AS slot(index)
        CROSS JOIN LATERAL (
            SELECT array_agg(speed) AS speeds
            FROM speed_readings r
            WHERE r.sensor_id = asked.sensor_id
              AND r.ts >= $2::timestamptz + slot.index * ($5::bigint * interval '1 microsecond')
              AND r.ts < least($2::timestamptz + (slot.index + 1) * ($5::bigint * interval '1 microsecond'),
                               $3::timestamptz)
        ) AS stats
        WHERE stats.speeds IS NOT NULL
        ORDER BY asked.sensor_id, slot.index
        LIMIT $6::bigint
        """

    /// $4: `since` in Unix microseconds; $5: width in microseconds. Epoch arithmetic rather than `date_bin`, so
    /// that PostgreSQL 13 runs it too.
    static let bucketsByGrouping = """
        SELECT sensor_id,
               floor((extract(epoch FROM ts) * 1000000 - $4::bigint) / $5::bigint)::bigint AS bucket,
               count(*) AS readings, min(speed) AS minimum, sum(speed) AS total, max(speed) AS maximum,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY speed) AS p95
        FROM speed_readings
        WHERE sensor_id = ANY($1::text[]) AND ts >= $2::timestamptz AND ts < $3::timestamptz
        GROUP BY sensor_id, bucket
        ORDER BY sensor_id, bucket
        LIMIT $6::bigint
        """

    /// `bucketsByGrouping` over a rollup's rows (same parameters): sums of counts and speeds, the least minimum, the
    /// greatest maximum, and the 95th percentile of the merged digests (the extension's estimate). Buckets as wide as
    /// the rollup's are its rows, read in the primary key's order with their digests, whose percentile is estimated
    /// here (`Percentile.continuous(_:ofCentroids:)`): grouping them by a computed bucket number made the server sort
    /// them first, grouping by the key costs a group each, and the extension's percentile a fresh aggregate state
    /// each (a month of minutes, server time: 198 ms sorted, 105 ms grouped by the key, 48 ms with a percentile per
    /// row, 16 ms with the digests). The bucket number is `double` arithmetic, exact for whole seconds until 2255.
    static func bucketsFromRollup(_ table: String, merging: Bool) -> String {
        let bucketNumber = "floor((date_part('epoch', bucket) * 1000000 - $4::bigint) / $5::bigint)::bigint AS bucket"
        let range = "FROM \(table) WHERE sensor_id = ANY($1::text[]) AND bucket >= $2::timestamptz AND bucket < $3::timestamptz"
        guard merging else {
            return """
                SELECT sensor_id, \(bucketNumber), readings, speed_min AS minimum, speed_sum AS total,
                       speed_max AS maximum, digest
                \(range)
                ORDER BY sensor_id, \(table).bucket
                LIMIT $6::bigint
                """
        }
        return """
            SELECT sensor_id, \(bucketNumber),
                   sum(readings)::bigint AS readings, min(speed_min) AS minimum, sum(speed_sum) AS total,
                   max(speed_max) AS maximum, tdigest_percentile(digest, 0.95) AS p95
            \(range)
            GROUP BY sensor_id, 2
            ORDER BY sensor_id, 2
            LIMIT $6::bigint
            """
    }

    /// Which of `sensors` have at least one reading at any time (one index probe per sensor and partition), in the
    /// rows or, once they were pruned, in the hourly rollup.
    package func sensorsWithReadings(_ sensors: [String]) throws(PostgresError) -> Set<String> {
        let inRollups = try hasRollups()
            ? "OR EXISTS (SELECT 1 FROM \(HistoryRollups.widths.last!.table) h WHERE h.sensor_id = asked.sensor_id)" : ""
        let rows = try query(
            """
            SELECT sensor_id FROM unnest($1::text[]) AS asked(sensor_id)
            WHERE EXISTS (SELECT 1 FROM speed_readings r WHERE r.sensor_id = asked.sensor_id) \(inRollups)
            """,
            [Self.textArray(sensors)])
        return Set(rows.compactMap { $0.string("sensor_id") })
    }

    /// Up to `limit` distinct sensor ids in order, found by skipping through the primary key (a recursive
    /// "loose index scan": one index probe per distinct id) instead of reading every row.
    package func knownSensors(limit: Int) throws(PostgresError) -> [String] {
        let rows = try query(
            """
            WITH RECURSIVE ids(sensor_id) AS (
                (SELECT sensor_id FROM speed_readings ORDER BY sensor_id LIMIT 1)
                UNION ALL
                SELECT (SELECT r.sensor_id FROM speed_readings r WHERE r.sensor_id > ids.sensor_id
                        ORDER BY r.sensor_id LIMIT 1)
                FROM ids WHERE ids.sensor_id IS NOT NULL
            )
            SELECT sensor_id FROM ids WHERE sensor_id IS NOT NULL LIMIT $1::bigint
            """,
            [String(limit)])
        return rows.compactMap { $0.string("sensor_id") }
    }

    /// A `text[]` literal: every element double-quoted with `"` and `\` escaped, so any text is one element.
    static func textArray(_ values: [String]) -> String {
        let elements = values.map { value in
            var quoted = "\""
            for character in value {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }
}

/// How `history` divides a range between connections.
package enum HistorySlicing {
    /// [since, until) cut into at most `count` contiguous slices of about equal length, to be read over as many
    /// connections at once (PostgreSQL runs each query on one core). With `width`, the cuts fall on bucket
    /// boundaries (`since + k × width`), so that no bucket is split between two slices.
    package static func slices(
        since: Timestamp, until: Timestamp, width: TimeSpan?, count: Int
    ) -> [(since: Timestamp, until: Timestamp)] {
        let span = (until - since).microseconds
        guard span > 0, count > 1 else { return [(since, until)] }
        let unit = width?.microseconds ?? 1
        let units = span / unit + (span % unit == 0 ? 0 : 1)
        let perSlice = max(1, units / Int64(count) + (units % Int64(count) == 0 ? 0 : 1))
        return stride(from: Int64(0), to: units, by: Int(perSlice)).map { first in
            let start = since + TimeSpan(microseconds: first * unit)
            let end = first + perSlice >= units ? until : since + TimeSpan(microseconds: (first + perSlice) * unit)
            return (start, end)
        }
    }
}
