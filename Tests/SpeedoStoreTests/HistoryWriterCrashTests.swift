import Foundation
import SpeedoCore
import SpeedoStore
import SpeedoTestSupport
import Testing

/// A crash between the COPY and the COMMIT (`HistoryWriter.beforeCommit`): nothing of the batch is stored (rows,
/// offsets, gaps, conflicts), and writing the batch again, as the next run does from the stored offsets, stores it
/// exactly once.
extension HistoryWriterTests {
    enum Crash: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// The transaction fails: ROLLBACK.
        case statementFails
        /// The writer's connection goes away, as when its process is killed (kill -9): the server aborts.
        case writerDies
        /// The server ends the session (a backend crash, an administrator): the COMMIT meets a dead connection.
        case backendTerminated

        var testDescription: String { rawValue }
    }

    private struct Fault: Error {}

    /// `meetsStoredRows`: the batch repeats a stored row and conflicts with another, so that it goes the staging way
    /// (the first COPY fails on the primary key); otherwise the plain COPY stores it.
    @Test(arguments: Crash.allCases, [false, true])
    func aCrashBetweenCopyAndCommitStoresNothingAndTheBatchIsStoredOnceWhenWrittenAgain(
        crash: Crash, meetsStoredRows: Bool
    ) async throws {
        let url = try await makeDatabase(migrated: true)
        let outcome = try await withConnection(url) { check in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "t")
            defer { writer.close() }
            let start = Timestamp(microseconds: 1_714_521_600_000_000)  // 2024-05-01T00:00:00Z
            var first = HistoryBatch()
            for second in 0..<10 {
                first.append(Reading(sensorID: "a", speed: Double(second), timestamp: start + .seconds(Int64(second))))
            }
            first.advance(partition: 0, to: 10)
            _ = try writer.write(first)
            let beforeCrash = try StoredHistory(check)

            var batch = HistoryBatch()
            for second in 0..<20 {
                batch.append(
                    Reading(sensorID: "b", speed: Double(100 + second), timestamp: start + .seconds(Int64(second))),
                    from: (0, Int64(10 + second)))
            }
            if meetsStoredRows {
                batch.append(Reading(sensorID: "a", speed: 0, timestamp: start), from: (0, 30))
                batch.append(
                    Reading(sensorID: "a", speed: 99, timestamp: start + .seconds(1)),
                    from: (0, 31))
            }
            batch.recordGap(partition: 1, offsets: 0...4)
            batch.advance(partition: 0, to: 32)
            batch.advance(partition: 1, to: 9)

            var faults = 0
            writer.beforeCommit = { connection in
                faults += 1
                switch crash {
                case .statementFails:
                    throw Fault()
                case .writerDies:
                    connection.close()
                case .backendTerminated:
                    guard let pid = try connection.query("SELECT pg_backend_pid() AS pid").first?.int("pid") else {
                        throw Fault()
                    }
                    try check.query("SELECT pg_terminate_backend(\(pid))")
                    // Gone before the COMMIT is sent, so that it surely meets a dead session.
                    let deadline = ContinuousClock.now + .seconds(20)
                    while try check.query("SELECT 1 FROM pg_stat_activity WHERE pid = \(pid)").count > 0,
                        ContinuousClock.now < deadline
                    {
                        usleep(10_000)
                    }
                }
            }
            var handedConflicts: [[HistoryConflict]] = []
            let error = capturedError { _ = try writer.write(batch) { handedConflicts.append($0) } }
            let afterCrash = try StoredHistory(check)

            writer.beforeCommit = nil
            let again = try writer.write(batch) { handedConflicts.append($0) }
            let afterRetry = try StoredHistory(check)
            // And once more, as after a crash right after the COMMIT: nothing changes.
            let replay = try writer.write(batch) { handedConflicts.append($0) }
            let afterReplay = try StoredHistory(check)
            return CrashOutcome(
                faults: faults, error: error.map { "\($0)" }, errorIsTransient: (error as? PostgresError)?.isTransient,
                beforeCrash: beforeCrash, afterCrash: afterCrash, again: again, afterRetry: afterRetry, replay: replay,
                afterReplay: afterReplay, handedConflicts: handedConflicts.map { $0.map(\.reading.speed) })
        }

        #expect(outcome.faults == 1)
        #expect(outcome.error != nil, "the write reported success although it never committed")
        if crash == .backendTerminated {
            #expect(outcome.errorIsTransient == true, "\(outcome.error ?? "")")
        }
        // Nothing of the batch: rows, offsets, gaps and conflicts are as they were.
        #expect(outcome.afterCrash == outcome.beforeCrash)

        let newRows = 20
        #expect(outcome.again == HistoryWriteResult(
            rows: newRows + (meetsStoredRows ? 2 : 0), inserted: newRows, conflicts: meetsStoredRows ? 1 : 0,
            missingRecords: 5))
        #expect(outcome.afterRetry.rows == 10 + newRows)
        #expect(outcome.afterRetry.keys == 10 + newRows)
        #expect(outcome.afterRetry.speedSum == outcome.beforeCrash.speedSum + Double((100..<120).reduce(0, +)))
        #expect(outcome.afterRetry.offsets == ["0:32", "1:9"])
        #expect(outcome.afterRetry.gaps == ["1:0-4"])
        #expect(outcome.afterRetry.conflicts == (meetsStoredRows ? ["a:99 kept 1"] : []))
        // The conflict went to the dead-letter handler in the attempt that crashed and again in the one that stored
        // it (never recorded without one), and not a third time.
        #expect(outcome.handedConflicts == (meetsStoredRows ? [[99], [99]] : []))

        #expect(outcome.replay == HistoryWriteResult(rows: newRows + (meetsStoredRows ? 2 : 0), inserted: 0))
        #expect(outcome.afterReplay == outcome.afterRetry)
    }
}

private struct CrashOutcome: Sendable {
    var faults: Int
    var error: String?
    var errorIsTransient: Bool?
    var beforeCrash: StoredHistory
    var afterCrash: StoredHistory
    var again: HistoryWriteResult
    var afterRetry: StoredHistory
    var replay: HistoryWriteResult
    var afterReplay: StoredHistory
    var handedConflicts: [[Double]]
}

/// Everything a batch's transaction writes, as another session sees it.
private struct StoredHistory: Equatable, Sendable {
    var rows: Int
    var keys: Int
    var speedSum: Double
    var offsets: [String]
    var gaps: [String]
    var conflicts: [String]

    init(_ connection: PostgresConnection) throws {
        let summary = try connection.query("""
            SELECT count(*) AS rows, count(DISTINCT (sensor_id, ts)) AS keys, coalesce(sum(speed), 0) AS total
            FROM speed_readings
            """)[0]
        rows = try summary.int("rows") ?? -1
        keys = try summary.int("keys") ?? -1
        speedSum = try summary.double("total") ?? -1
        offsets = try connection.query(
            "SELECT partition || ':' || next_offset AS o FROM speedo_consumer_offsets ORDER BY partition"
        ).compactMap { $0["o"] }
        gaps = try connection.query(
            "SELECT partition || ':' || first_offset || '-' || last_offset AS g FROM speedo_history_gaps ORDER BY 1"
        ).compactMap { $0["g"] }
        conflicts = try connection.query(
            "SELECT sensor_id || ':' || speed::numeric::text || ' kept ' || stored_speed::numeric::text AS c "
                + "FROM speedo_history_conflicts ORDER BY 1"
        ).compactMap { $0["c"] }
    }
}
