package import SpeedoCore
import SpeedoKafka
package import SpeedoRuntime
package import SpeedoStore

/// What the `speedo db` commands do to the history database, each on a connection of its own opened the way a short
/// command opens it (a server still starting is waited for briefly, with notes).
package enum DatabaseMaintenance {
    /// Where `db reset-offsets` moves a group's stored offsets.
    package enum OffsetTarget: Sendable {
        /// The log start (nothing stored: the writer starts at the earliest offset the topic still holds).
        case earliest
        /// The partitions' current ends: what was written before is never read.
        case latest
        case offset(Int64)
    }

    /// One partition's stored offset before and after a reset; nil is earliest.
    package struct OffsetMove: Sendable {
        package var partition: Int32
        package var before: Int64?
        package var after: Int64?
    }

    /// Drops (or with `dryRun` lists) the daily partitions whose whole day ended at least `age` before `now`, and
    /// with `withRollups` the rollup buckets of those days too.
    package static func prune(
        databaseURL: String, olderThan age: TimeSpan, now: Timestamp, dryRun: Bool, withRollups: Bool, notes: Notes
    ) async throws -> PruneOutcome {
        try await CommandDatabase.onConnection(databaseURL, thread: "speedo.db", notes: notes) { connection in
            if try SchemaMigrations.currentVersion(on: connection) > 0 { try SchemaMigrations.apply(on: connection) }
            return try HistoryRetention.prune(
                on: connection, olderThan: age, now: now, dryRun: dryRun, withRollups: withRollups)
        }
    }

    /// Recomputes the rollups from the rows from `since` on (making them first where the extension came later).
    package static func rebuildRollups(
        databaseURL: String, since: Timestamp, notes: Notes
    ) async throws -> [HistoryRollups.Rebuilt] {
        try await CommandDatabase.onConnection(databaseURL, thread: "speedo.db", notes: notes) { connection in
            try SchemaMigrations.apply(on: connection)
            return try HistoryRollups.rebuild(on: connection, since: since)
        }
    }

    /// What the rollups hold.
    package static func rollupExtents(databaseURL: String, notes: Notes) async throws -> [HistoryRollups.Extent] {
        try await CommandDatabase.onConnection(databaseURL, thread: "speedo.db", notes: notes) { connection in
            try HistoryRollups.extents(on: connection)
        }
    }

    /// The gaps recorded by the writers (unacknowledged ones only, unless `includeAcknowledged`); `acknowledge`
    /// marks those listed as seen.
    package static func gaps(
        databaseURL: String, includeAcknowledged: Bool, acknowledge: Bool, notes: Notes
    ) async throws -> [RecordedGap] {
        try await CommandDatabase.onConnection(databaseURL, thread: "speedo.db", notes: notes) { connection in
            try SchemaMigrations.apply(on: connection)
            let gaps = try HistoryLedger.gaps(on: connection, includeAcknowledged: includeAcknowledged)
            if acknowledge { try HistoryLedger.acknowledgeGaps(on: connection) }
            return gaps
        }
    }

    /// Moves where `group`'s writers resume in `partitions` (every partition of the topic when empty) to `target`,
    /// asking the brokers only what only they know (the partitions, and their ends for `.latest`).
    package static func resetOffsets(
        settings: ConnectionSettings, group: String, partitions chosen: [Int32], to target: OffsetTarget,
        connectTimeout: Duration, notes: Notes
    ) async throws -> [OffsetMove] {
        let topic = settings.topic.value
        let needsBrokers = switch target {
        case .earliest: chosen.isEmpty
        case .latest: true
        case .offset: false
        }
        var ends: [Int32: Int64] = [:]
        if needsBrokers {
            ends = try await runOnDedicatedThread(name: "speedo.db.offsets") {
                let admin = try KafkaAdmin(configuration: KafkaConfiguration(settings))
                _ = try admin.connect(within: connectTimeout) { notice in
                    notes.note("speedo db reset-offsets: \(notice)")
                    return true
                }
                return try admin.watermarks(topic: topic).mapValues(\.high)
            }
        }
        let partitions = chosen.isEmpty ? ends.keys.sorted() : chosen.sorted()
        var moves: [Int32: Int64?] = [:]
        for partition in partitions {
            switch target {
            case .earliest: moves[partition] = .some(nil)
            case .latest:
                guard let end = ends[partition] else {
                    throw CommandFailure(.usage, "\(topic) has no partition \(partition) (it has \(ends.count))")
                }
                moves[partition] = end
            case .offset(let offset): moves[partition] = offset
            }
        }
        let chosenMoves = moves
        let url = settings.databaseURL.value
        let before = try await CommandDatabase.onConnection(url, thread: "speedo.db", notes: notes) { connection in
            try SchemaMigrations.apply(on: connection)
            let before = try HistoryLedger.offsets(on: connection, group: group, topic: topic)
            try HistoryLedger.resetOffsets(on: connection, group: group, topic: topic, to: chosenMoves)
            return before
        }
        return partitions.map { OffsetMove(partition: $0, before: before[$0], after: moves[$0] ?? nil) }
    }

}
