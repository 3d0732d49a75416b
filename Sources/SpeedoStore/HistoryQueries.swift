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

/// The read side of `speed_readings`, for `speedo history`.
///
/// Every query filters on `sensor_id = ANY(…)` and a half-open `ts` range, which the primary key
/// `(sensor_id, ts)` answers as an index range scan per sensor in only the daily partitions the range touches
/// (partition pruning on `ts`); nothing here needs an extension, so TimescaleDB hypertables or Citus
/// distribution by `sensor_id` serve the same SQL. Values travel as parameters, never in the SQL text.
extension PostgresConnection {
    /// The readings of `sensors` in [since, until), by sensor then time; at most `limit` when given.
    package func readings(
        of sensors: [String], since: Timestamp, until: Timestamp, limit: Int?
    ) throws(PostgresError) -> [Reading] {
        let rows = try query(
            """
            SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS micros, speed
            FROM speed_readings
            WHERE sensor_id = ANY($1::text[]) AND ts >= $2::timestamptz AND ts < $3::timestamptz
            ORDER BY sensor_id, ts
            LIMIT $4::bigint
            """,
            [Self.textArray(sensors), since.rfc3339, until.rfc3339, limit.map(String.init)])
        var readings: [Reading] = []
        readings.reserveCapacity(rows.count)
        for row in rows {
            guard let sensorID = row.string("sensor_id"), let micros = try row.int("micros"),
                let speed = try row.double("speed")
            else { continue }
            readings.append(Reading(sensorID: sensorID, speed: speed, timestamp: Timestamp(microseconds: Int64(micros))))
        }
        return readings
    }

    /// Count, min, avg, max and p95 of `sensors` per `width` bucket in [since, until), by sensor then bucket;
    /// buckets without readings are left out. Bucket boundaries are computed from epoch arithmetic rather than
    /// `date_bin` so that PostgreSQL 13 (and engines without it) run it too.
    package func buckets(
        of sensors: [String], since: Timestamp, until: Timestamp, width: TimeSpan, limit: Int?
    ) throws(PostgresError) -> [SpeedBucket] {
        let rows = try query(
            """
            SELECT sensor_id,
                   floor((extract(epoch FROM ts) * 1000000 - $4::bigint) / $5::bigint)::bigint AS bucket,
                   count(*) AS readings, min(speed) AS minimum, avg(speed) AS average, max(speed) AS maximum,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY speed) AS p95
            FROM speed_readings
            WHERE sensor_id = ANY($1::text[]) AND ts >= $2::timestamptz AND ts < $3::timestamptz
            GROUP BY sensor_id, bucket
            ORDER BY sensor_id, bucket
            LIMIT $6::bigint
            """,
            [
                Self.textArray(sensors), since.rfc3339, until.rfc3339, String(since.microseconds),
                String(width.microseconds), limit.map(String.init),
            ])
        var buckets: [SpeedBucket] = []
        for row in rows {
            guard let sensorID = row.string("sensor_id"), let index = try row.int("bucket"),
                let count = try row.int("readings"), let minimum = try row.double("minimum"),
                let average = try row.double("average"), let maximum = try row.double("maximum"),
                let p95 = try row.double("p95")
            else { continue }
            buckets.append(SpeedBucket(
                sensorID: sensorID, start: since + TimeSpan(microseconds: Int64(index) * width.microseconds),
                count: count, minimum: minimum, average: average, maximum: maximum, percentile95: p95))
        }
        return buckets
    }

    /// Which of `sensors` have at least one reading at any time (one index probe per sensor and partition).
    package func sensorsWithReadings(_ sensors: [String]) throws(PostgresError) -> Set<String> {
        let rows = try query(
            """
            SELECT sensor_id FROM unnest($1::text[]) AS asked(sensor_id)
            WHERE EXISTS (SELECT 1 FROM speed_readings r WHERE r.sensor_id = asked.sensor_id)
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
