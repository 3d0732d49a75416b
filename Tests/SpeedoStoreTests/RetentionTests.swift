import Foundation
import SpeedoCore
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `HistoryRetention.prune` against a real PostgreSQL: ten daily partitions, 2026-03-02 through 2026-03-11, the day
/// 2026-03-(n+1) holding `n` readings of speed `n`, and a DEFAULT partition holding one stray reading.
extension PostgresStoreTests {
    /// 2026-03-11T12:00:00Z: a prune of 3 days cuts at 2026-03-08T12:00:00Z, so the days 03-02 … 03-07 (ending at or
    /// before 03-08T00:00) go and 03-08 (ending after the cutoff) stays.
    private static let now = Timestamp(microseconds: 1_773_230_400_000_000)
    private static let expectedDropped = (2...7).map { String(format: "speed_readings_202603%02d", $0) }

    private static func fillTenDays(_ connection: PostgresConnection) throws {
        try connection.ensurePartitions(
            from: Date(timeIntervalSince1970: 1_772_409_600), to: Date(timeIntervalSince1970: 1_773_187_200))
        try connection.execute("CREATE TABLE speed_readings_default PARTITION OF speed_readings DEFAULT")
        try connection.execute("""
            INSERT INTO speed_readings (sensor_id, ts, speed)
            SELECT 's-' || reading, timestamptz '2026-03-01T06:00:00Z' + day * interval '1 day'
                       + reading * interval '1 second', day
            FROM generate_series(1, 10) AS day, generate_series(1, day) AS reading;
            INSERT INTO speed_readings VALUES ('stray', '1999-01-01T00:00:00Z', 1000);
            """)
    }

    /// Partition name → (rows, sum of speeds), DEFAULT included.
    private static func contents(_ connection: PostgresConnection) throws -> [String: [Int]] {
        var contents: [String: [Int]] = [:]
        for row in try connection.query("""
            SELECT child.relname AS name, (SELECT count(*) FROM speed_readings r WHERE r.tableoid = child.oid) AS rows,
                   (SELECT coalesce(sum(speed), 0)::bigint FROM speed_readings r WHERE r.tableoid = child.oid) AS total
            FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid
            WHERE inhparent = 'speed_readings'::regclass
            """)
        {
            contents[row["name"]!] = [try row.int("rows")!, try row.int("total")!]
        }
        return contents
    }

    @Test("prune drops exactly the partitions that end at or before the cutoff, and a dry run changes nothing")
    func pruneDropsWholeOldPartitions() async throws {
        let url = try await makeDatabase(migrated: true)
        let (before, dryRun, afterDryRun, pruned, after, again) = try await withConnection(url) { connection in
            try Self.fillTenDays(connection)
            let before = try Self.contents(connection)
            let dryRun = try HistoryRetention.prune(on: connection, olderThan: .seconds(3 * 86_400), now: Self.now, dryRun: true).partitions
            let afterDryRun = try Self.contents(connection)
            let pruned = try HistoryRetention.prune(on: connection, olderThan: .seconds(3 * 86_400), now: Self.now, dryRun: false).partitions
            let after = try Self.contents(connection)
            let again = try HistoryRetention.prune(on: connection, olderThan: .seconds(3 * 86_400), now: Self.now, dryRun: false).partitions
            return (before, dryRun, afterDryRun, pruned, after, again)
        }
        #expect(before.count == 11)
        #expect(dryRun.map(\.name) == Self.expectedDropped)
        #expect(afterDryRun == before)

        #expect(pruned == dryRun)
        // 03-02 … 03-07 are the days 1…6, holding that many readings.
        #expect(pruned.map(\.rows) == Array(1...6))
        #expect(pruned.first?.lower == Timestamp(rfc3339: "2026-03-02T00:00:00Z"))
        #expect(pruned.last?.upper == Timestamp(rfc3339: "2026-03-08T00:00:00Z"))

        var kept = before
        for name in Self.expectedDropped { kept[name] = nil }
        #expect(after == kept)
        #expect(after["speed_readings_default"] == [1, 1000])
        #expect(after["speed_readings_20260311"] == [10, 100])
        #expect(again.isEmpty)
    }

    @Test("an age that reaches back before every partition drops nothing; a database without speedo's schema neither")
    func pruneKeepsEverythingNewer() async throws {
        let migrated = try await makeDatabase(migrated: true)
        let (dropped, partitions) = try await withConnection(migrated) { connection in
            try Self.fillTenDays(connection)
            let dropped = try HistoryRetention.prune(on: connection, olderThan: .seconds(10 * 86_400), now: Self.now, dryRun: false).partitions
            return (dropped, try Self.contents(connection).count)
        }
        #expect(dropped.isEmpty)
        #expect(partitions == 11)

        let empty = try await makeDatabase(migrated: false)
        let nothing = try await withConnection(empty) {
            try HistoryRetention.prune(on: $0, olderThan: .seconds(86_400), now: Self.now, dryRun: false)
        }
        #expect(nothing.partitions.isEmpty)
    }

    @Test("a writer whose day was pruned under it makes the partition again instead of failing")
    func writerSurvivesAPrunedPartition() async throws {
        let url = try await makeDatabase(migrated: true)
        let day = Timestamp(microseconds: 1_772_409_600_000_000) // 2026-03-02T00:00:00Z
        let (dropped, second, rows) = try await withConnection(url) { connection in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "t")
            defer { writer.close() }
            var batch = HistoryBatch()
            batch.append(Reading(sensorID: "s-1", speed: 10, timestamp: day + .seconds(60)))
            batch.advance(partition: 0, to: 1)
            _ = try writer.write(batch)
            let dropped = try HistoryRetention.prune(on: connection, olderThan: .seconds(86_400), now: Self.now, dryRun: false).partitions
            batch.removeAll()
            batch.append(Reading(sensorID: "s-1", speed: 20, timestamp: day + .seconds(120)))
            batch.advance(partition: 0, to: 2)
            let second = try writer.write(batch)
            let rows = try connection.query("SELECT speed FROM speed_readings").map { try $0.double("speed") }
            return (dropped, second, rows)
        }
        // The day after, made ahead by the writer, is past the cutoff too.
        #expect(dropped.map(\.name) == ["speed_readings_20260302", "speed_readings_20260303"])
        #expect(second == HistoryWriteResult(rows: 1, inserted: 1))
        #expect(rows == [20])
    }
}
