package import SpeedoCore

/// A gap as recorded in speedo_history_gaps.
package struct RecordedGap: Sendable, Equatable {
    package var group: String
    package var topic: String
    package var partition: Int32
    package var firstOffset: Int64
    package var lastOffset: Int64
    package var detectedAt: Timestamp
    package var acknowledgedAt: Timestamp?

    package var recordCount: Int64 { lastOffset - firstOffset + 1 }
}

/// What the history says about itself beyond its rows: where each group resumes, and what it could not store
/// (gaps, conflicts). Read by `status`, changed only by explicit operator commands (`db gaps --acknowledge`,
/// `db reset-offsets`). Every method blocks (libpq).
package enum HistoryLedger {
    /// Gaps, oldest first; only those not acknowledged unless `includeAcknowledged`.
    package static func gaps(
        on connection: PostgresConnection, includeAcknowledged: Bool
    ) throws(PostgresError) -> [RecordedGap] {
        let rows = try connection.query("""
            SELECT group_id, topic, partition, first_offset, last_offset,
                   (extract(epoch FROM detected_at) * 1000000)::bigint AS detected_us,
                   (extract(epoch FROM acknowledged_at) * 1000000)::bigint AS acknowledged_us
            FROM speedo_history_gaps
            WHERE $1 OR acknowledged_at IS NULL
            ORDER BY detected_at, group_id, topic, partition, first_offset
            """, [includeAcknowledged ? "true" : "false"])
        return try rows.map { row throws(PostgresError) in
            RecordedGap(
                group: row["group_id"] ?? "", topic: row["topic"] ?? "",
                partition: Int32(try row.int("partition") ?? 0),
                firstOffset: Int64(try row.int("first_offset") ?? 0), lastOffset: Int64(try row.int("last_offset") ?? 0),
                detectedAt: Timestamp(microseconds: Int64(try row.int("detected_us") ?? 0)),
                acknowledgedAt: try row.int("acknowledged_us").map { Timestamp(microseconds: Int64($0)) })
        }
    }

    /// Marks every gap not yet acknowledged as acknowledged now; returns how many.
    @discardableResult
    package static func acknowledgeGaps(on connection: PostgresConnection) throws(PostgresError) -> Int {
        try connection.execute("UPDATE speedo_history_gaps SET acknowledged_at = now() WHERE acknowledged_at IS NULL")
    }

    /// How many conflicting readings were recorded, and when the last one was.
    package static func conflicts(on connection: PostgresConnection) throws(PostgresError) -> (count: Int, last: Timestamp?) {
        let row = try connection.query("""
            SELECT count(*) AS conflicts, (extract(epoch FROM max(detected_at)) * 1000000)::bigint AS last_us
            FROM speedo_history_conflicts
            """).first
        return (try row?.int("conflicts") ?? 0, try row?.int("last_us").map { Timestamp(microseconds: Int64($0)) })
    }

    /// The next offsets `group` has stored for `topic`, by partition.
    package static func offsets(
        on connection: PostgresConnection, group: String, topic: String
    ) throws(PostgresError) -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for row in try connection.query(
            "SELECT partition, next_offset FROM speedo_consumer_offsets WHERE group_id = $1 AND topic = $2",
            [group, topic])
        {
            offsets[Int32(try row.int("partition") ?? 0)] = Int64(try row.int("next_offset") ?? 0)
        }
        return offsets
    }

    /// Sets where `group` resumes in `topic`: a partition given an offset resumes there, a partition given nil
    /// forgets its offset (the writer then starts from the earliest record the brokers hold). One transaction.
    package static func resetOffsets(
        on connection: PostgresConnection, group: String, topic: String, to offsets: [Int32: Int64?]
    ) throws {
        try connection.transaction {
            for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                if let offset {
                    try connection.query(
                        """
                        INSERT INTO speedo_consumer_offsets (group_id, topic, partition, next_offset, updated_at)
                        VALUES ($1, $2, $3, $4, now())
                        ON CONFLICT (group_id, topic, partition)
                        DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
                        """, [group, topic, String(partition), String(offset)])
                } else {
                    try connection.query(
                        "DELETE FROM speedo_consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3",
                        [group, topic, String(partition)])
                }
            }
        }
    }
}
