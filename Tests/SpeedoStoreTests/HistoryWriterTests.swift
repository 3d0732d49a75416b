import SpeedoCore
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `HistoryWriter` against a real PostgreSQL: rows and offsets together or not at all, replays, escaping.
@Suite(.privateCluster) struct HistoryWriterTests {
    private static let day: Int64 = 86_400_000_000
    /// 2024-05-01T00:00:00Z
    private static let mayFirst = Timestamp(microseconds: 1_714_521_600_000_000)

    @Test func storesRowsAndOffsetsExactlyAsGiven() async throws {
        let url = try await makeDatabase(migrated: true)
        // Not valid sensor ids (the contract forbids these bytes), but the COPY text must survive them anyway.
        let readings = [
            Reading(sensorID: "tab\there", speed: 0.1, timestamp: Self.mayFirst),
            Reading(sensorID: #"back\slash\N"#, speed: 999.999, timestamp: Self.mayFirst + .seconds(1)),
            Reading(sensorID: "new\nline\rcr", speed: 42, timestamp: Timestamp(microseconds: Self.mayFirst.microseconds + Self.day + 123_457)),
        ]
        let (result, rows, offsets) = try await withConnection(url) { _ in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "speed-events")
            defer { writer.close() }
            var batch = HistoryBatch()
            for reading in readings { batch.append(reading) }
            batch.advance(partition: 0, to: 10)
            batch.advance(partition: 3, to: 5)
            let result = try writer.write(batch)
            let stored = try writer.storedOffsets(partitions: [0, 1, 3])
            let check = try PostgresConnection.connect(url)
            defer { check.close() }
            let rows = try check.query("""
                SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS us, speed::text AS speed
                FROM speed_readings ORDER BY ts
                """).map { "\($0["sensor_id"]!)|\($0["us"]!)|\(Double($0["speed"]!)!)" }
            return (result, rows, stored)
        }
        #expect(result == HistoryWriteResult(rows: 3, inserted: 3))
        #expect(rows == readings.map { "\($0.sensorID)|\($0.timestamp.microseconds)|\($0.speed)" })
        #expect(offsets == [0: 10, 3: 5])
    }

    /// A reading older than any partition gets its day's partition; each day written gets the next day's too,
    /// made before any reading of it arrives.
    @Test func partitionsAreMadeForEachDayWrittenAndTheDayAfter() async throws {
        let url = try await makeDatabase(migrated: true)
        let partitions = try await withConnection(url) { connection in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "speed-events")
            defer { writer.close() }
            var batch = HistoryBatch()
            batch.append(Reading(sensorID: "old", speed: 1, timestamp: Timestamp(microseconds: 946_684_800_000_000)))
            batch.append(Reading(sensorID: "may", speed: 2, timestamp: Self.mayFirst + .seconds(3_600)))
            batch.advance(partition: 0, to: 2)
            _ = try writer.write(batch)
            return try connection.query("""
                SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'speed_readings'::regclass ORDER BY 1
                """).compactMap { $0["name"] }
        }
        #expect(partitions == [
            "speed_readings_20000101", "speed_readings_20000102", "speed_readings_20240501", "speed_readings_20240502",
        ])
    }

    @Test func aReplayStoresNothingTwiceAndMovesTheOffsets() async throws {
        let url = try await makeDatabase(migrated: true)
        let (first, second, count, offsets) = try await withConnection(url) { check in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "t")
            defer { writer.close() }
            var batch = HistoryBatch()
            for second in 0..<100 {
                batch.append(Reading(sensorID: "s-\(second % 7)", speed: Double(second), timestamp: Self.mayFirst + .seconds(Int64(second))))
            }
            batch.advance(partition: 2, to: 100)
            let first = try writer.write(batch)
            batch.advance(partition: 2, to: 150)
            let second = try writer.write(batch)
            let count = try check.query("SELECT count(*) AS n FROM speed_readings").first?.int("n")
            return (first, second, count, try writer.storedOffsets(partitions: [2]))
        }
        #expect(first == HistoryWriteResult(rows: 100, inserted: 100))
        #expect(second == HistoryWriteResult(rows: 100, inserted: 0))
        #expect(count == 100)
        #expect(offsets == [2: 150])
    }

    /// The rollups hold exactly what the rows hold, per sensor and minute or hour: after a batch, after a batch read
    /// again with new rows among the old (nothing counted twice), and after a batch rolled back (nothing counted).
    @Test func rollupsCountEachStoredRowOnce() async throws {
        let url = try await makeDatabase(migrated: true)
        let readings = (0..<3_000).map { index in
            Reading(
                sensorID: "s-\(index % 7)", speed: Double((index * 37) % 1000) / 4,
                timestamp: Self.mayFirst + .milliseconds(Int64(index) * 2_500))
        }
        let (afterFirst, afterReplay, afterFailure) = try await withConnection(url) { connection in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "speed-events")
            defer { writer.close() }
            func write(_ slice: ArraySlice<Reading>, failing: Bool = false) throws {
                var batch = HistoryBatch()
                for reading in slice { batch.append(reading) }
                batch.advance(partition: 0, to: Int64(slice.endIndex))
                writer.beforeCommit = failing ? { _ in throw PostgresError.closed } : nil
                _ = try? writer.write(batch)
            }
            func disagreements() throws -> [String] { try RollupComparison.all(on: connection).map(\.description) }
            try write(readings[0..<2_000])
            let afterFirst = try disagreements()
            try write(readings[1_000..<3_000])
            let afterReplay = try disagreements()
            try write(readings[0..<3_000].map { Reading(sensorID: "late", speed: $0.speed, timestamp: $0.timestamp) }[...],
                      failing: true)
            return (afterFirst, afterReplay, try disagreements())
        }
        // 2,000 readings 2.5 s apart: 84 minutes and 2 hours for each of 7 sensors.
        #expect(afterFirst == ["speed_rollups_1m: 0 differing, 588 buckets, 2000 readings",
                               "speed_rollups_1h: 0 differing, 14 buckets, 2000 readings"])
        #expect(afterReplay == ["speed_rollups_1m: 0 differing, 875 buckets, 3000 readings",
                                "speed_rollups_1h: 0 differing, 21 buckets, 3000 readings"])
        #expect(afterFailure == afterReplay)
    }

    @Test func aFailedBatchStoresNeitherRowsNorOffsets() async throws {
        let url = try await makeDatabase(migrated: true)
        let (error, count, offsets) = try await withConnection(url) { check in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "t")
            defer { writer.close() }
            var batch = HistoryBatch()
            batch.append(Reading(sensorID: "fine", speed: 1, timestamp: Self.mayFirst))
            // PostgreSQL text cannot hold NUL: the COPY fails after the first row went in.
            batch.append(Reading(sensorID: "nul\u{0}", speed: 2, timestamp: Self.mayFirst))
            batch.advance(partition: 0, to: 2)
            let error = capturedError { _ = try writer.write(batch) }
            let count = try check.query("SELECT count(*) AS n FROM speed_readings").first?.int("n")
            return ("\(error.map { "\($0)" } ?? "none")", count, try writer.storedOffsets(partitions: [0]))
        }
        #expect(error.contains("SQLSTATE"), "\(error)")
        #expect(count == 0)
        #expect(offsets.isEmpty)
    }
}
