package import SpeedoCore

/// What `speedo verify` reads of the history: the rows of a range, and the offsets a writer group stored.
extension PostgresConnection {
    /// The next offset `group` stored for each partition of `topic` that has one.
    package func consumerOffsets(group: String, topic: String) throws(PostgresError) -> [Int32: Int64] {
        let rows = try queryBinary(
            "SELECT partition::bigint AS partition, next_offset FROM speedo_consumer_offsets WHERE group_id = $1 AND topic = $2",
            [group, topic])
        let (partitionColumn, offsetColumn) = (rows.column("partition"), rows.column("next_offset"))
        var offsets: [Int32: Int64] = [:]
        for row in 0..<rows.count {
            guard let partition = try rows.int64(row, partitionColumn), let next = try rows.int64(row, offsetColumn)
            else { continue }
            offsets[Int32(partition)] = next
        }
        return offsets
    }

    /// Every row of [since, until) (of `sensors`; all when empty), handed to `body` a UTC day at a time (one query
    /// each, which partition pruning turns into a scan of that day's partition), so memory holds one day of rows.
    /// Blocks.
    package func forEachStoredReading(
        since: Timestamp, until: Timestamp, sensors: Set<String>, _ body: (String, Timestamp, Double) -> Void
    ) throws(PostgresError) {
        let sensorFilter = sensors.isEmpty ? nil : Self.textArray(sensors.sorted())
        var dayStart = since
        while dayStart < until {
            let dayEnd = min(dayStart.nextUTCMidnight, until)
            let rows = try queryBinary(
                """
                SELECT sensor_id, ts, speed FROM speed_readings
                WHERE ts >= $1::timestamptz AND ts < $2::timestamptz
                  AND ($3::text[] IS NULL OR sensor_id = ANY($3::text[]))
                """,
                [dayStart.rfc3339, dayEnd.rfc3339, sensorFilter])
            let (sensorColumn, timeColumn, speedColumn) = (rows.column("sensor_id"), rows.column("ts"), rows.column("speed"))
            for row in 0..<rows.count {
                guard let sensorID = rows.string(row, sensorColumn), let timestamp = try rows.timestamp(row, timeColumn),
                    let speed = try rows.double(row, speedColumn)
                else { continue }
                body(sensorID, timestamp, speed)
            }
            dayStart = dayEnd
        }
    }
}
