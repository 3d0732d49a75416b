import Foundation
import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import SpeedoStore

/// What `speedo consume postgres` was asked to do.
package struct HistoryPumpSettings {
    package var consumer: ConsumeSettings
    package var group: String
    package var databaseURL: String
    package var batchSize: Int
    package var batchInterval: Duration
    package var logInterval: Duration
    /// `--metrics-listen`: kept up to date while running.
    package var metrics: HistoryMetrics?
    /// `--on-gap`: what to do when records were removed from the topic before they were stored.
    package var onGap: GapPolicy = .record

    package init(
        consumer: ConsumeSettings, group: String, databaseURL: String, batchSize: Int, batchInterval: Duration,
        logInterval: Duration, metrics: HistoryMetrics?, onGap: GapPolicy = .record
    ) {
        (self.consumer, self.group, self.databaseURL) = (consumer, group, databaseURL)
        (self.batchSize, self.batchInterval, self.logInterval) = (batchSize, batchInterval, logInterval)
        (self.metrics, self.onGap) = (metrics, onGap)
    }
}

/// What `consume postgres` does when the brokers no longer hold records it has not stored yet (retention, or the dev
/// broker's size limit, removed them first).
package enum GapPolicy: String, CaseIterable {
    /// Record the gap (speedo_history_gaps, the metrics, an error line, `status`) and go on with what is left:
    /// waiting would only let retention remove more.
    case record
    /// Exit (65) without moving past the gap, for an operator to decide.
    case stop
}

/// How a run ended (failures are thrown).
package enum HistoryPumpOutcome {
    /// `--exit-at-end`: every assigned partition was read to its end and stored.
    case reachedEnd
    /// SIGINT/SIGTERM; `unstored` records were read but not stored (PostgreSQL was down): the next run reads them again.
    case stopped(unstored: Int)
}

/// The Kafka half of `speedo consume postgres`: reads the topic as a member of the consumer group, validates each
/// record, and hands batches (valid rows, dead letters, next offsets) to `HistoryStage`, which stores them on its
/// own thread while this one reads the next batch.
///
/// Positions come only from PostgreSQL: on every assignment the stored offsets are read and the consumer starts
/// exactly there (the earliest record the broker holds when there is none). A batch counts as done only when its
/// dead letters are acknowledged by the brokers AND its transaction has committed; until then it is retried as a
/// whole (PostgreSQL down) or abandoned (partitions revoked meanwhile), and in both cases nothing is skipped,
/// because whoever reads those partitions next starts from the stored offsets.
///
/// Threading: `run` blocks its thread for the whole run (Kafka poll and libpq are synchronous); the `ConsumerLoop`
/// calls the pump on that thread only.
package struct HistoryPump: ConsumerPump {
    private let settings: HistoryPumpSettings
    /// Reads stored offsets on assignment; the store stage has its own connection for writing.
    private let offsets: HistoryWriter
    private let stage: HistoryStage
    private var job = HistoryJob()
    private var batchDeadline: ContinuousClock.Instant?
    /// Set when the in-memory positions may be ahead of PostgreSQL (a batch was abandoned): seek back first.
    private var needsReseek = false
    /// Assigned while a stop was requested, before their stored offsets could be read: nothing of them is stored.
    private var withoutStoredOffsets: Set<Int32> = []
    /// Records read but not stored because a stop came while PostgreSQL was unreachable.
    private var interruptedRecords = 0
    private var nextLog: ContinuousClock.Instant
    private var nextMetrics = ContinuousClock.now

    /// How often the lag shown by `--metrics-listen` is brought up to date (the pump's thread owns the consumer).
    private static let metricsInterval = Duration.seconds(1)

    package init(settings: HistoryPumpSettings) throws(KafkaError) {
        self.settings = settings
        offsets = HistoryWriter(conninfo: settings.databaseURL, group: settings.group, topic: settings.consumer.topic)
        stage = try HistoryStage(settings: settings)
        nextLog = ContinuousClock.now + settings.logInterval
    }

    package mutating func run() throws -> HistoryPumpOutcome {
        defer { stage.close() }
        let report = try offsets.connect(retry: .startup) { [settings] notice in
            settings.consumer.heartbeat.beat()
            settings.consumer.notes.note("speedo: \(notice)")
        }
        if !report.applied.isEmpty {
            settings.consumer.notes.note("speedo: migrated the schema from version \(report.previousVersion) to \(report.currentVersion)")
        }
        let loop = try settings.consumer.loop(command: "consume postgres", membership: .group(settings.group))
        let stop = settings.consumer.stop
        // No last commit to Kafka at the end: it is for tools only, and a synchronous commit during a rebalance could
        // hold up the exit.
        let outcome = try loop.run(&self) { stop.isRequested }
        offsets.close()
        settings.consumer.notes.note("speedo: consume postgres: "
            + stage.statistics.summary(deadLetterTopic: ConnectionSettings.deadLetterTopic(for: settings.consumer.topic)))
        return outcome
    }

    // MARK: - The loop's calls

    package var pollTimeout: Duration {
        let now = ContinuousClock.now
        return batchDeadline.map { max(.zero, min(.milliseconds(100), $0 - now)) } ?? .milliseconds(100)
    }

    package var wantsMoreRecords: Bool { job.recordCount < settings.batchSize }

    /// Commits to Kafka come with the progress lines.
    package var commitInterval: Duration { settings.logInterval }

    package func connected(_ loop: ConsumerLoop) {
        settings.metrics?.recordAvailable()
        settings.consumer.notes.note(
            "speedo: consume postgres: reading \(settings.consumer.topic) as group \(settings.group) into PostgreSQL at "
                + "\(offsets.server ?? "?")")
    }

    package mutating func stopRequested(_ loop: ConsumerLoop) throws -> HistoryPumpOutcome {
        try store(waiting: true, abandonOnFailure: false, loop)
        return .stopped(unstored: interruptedRecords)
    }

    package mutating func caughtUp(_ loop: ConsumerLoop) throws -> HistoryPumpOutcome? {
        guard settings.consumer.exitAtEnd else { return nil }
        try store(waiting: true, abandonOnFailure: false, loop)
        // Records may have arrived while storing; only stop when still at the end.
        return !needsReseek && loop.isCaughtUp ? .reachedEnd : nil
    }

    package mutating func turnStarting(_ loop: ConsumerLoop) throws {
        if needsReseek { try reseek(loop) }
    }

    package mutating func handle(_ record: ConsumedRecord, _ loop: ConsumerLoop) throws {
        guard !withoutStoredOffsets.contains(record.partition) else { return }
        if let next = loop.positions[record.partition]?.next, record.offset > next {
            try checkForGap(partition: record.partition, expected: next, found: record.offset, loop)
        }
        switch record.verdict(now: Timestamp.current()) {
        case .valid(let reading):
            job.batch.append(reading, from: (record.partition, record.offset))
        case .invalid(let letter):
            job.deadLetters.append(letter)
        }
        job.batch.advance(partition: record.partition, to: record.offset + 1)
        if batchDeadline == nil { batchDeadline = ContinuousClock.now + settings.batchInterval }
    }

    package mutating func reachedEnd(of partition: Int32, at offset: Int64, next: Int64?, _ loop: ConsumerLoop) throws {
        guard !withoutStoredOffsets.contains(partition) else { return }
        if let next {
            if offset < next {
                throw HistoryPumpFailure.beyondEnd(
                    topic: settings.consumer.topic, partition: partition, stored: next, end: offset, group: settings.group)
            }
            if offset > next { try checkForGap(partition: partition, expected: next, found: offset, loop) }
        }
        // Everything before the end is stored or no longer exists; an empty partition with nothing stored stores
        // nothing either (offset 0 is where it starts anyway).
        if offset > next ?? 0 { job.batch.advance(partition: partition, to: offset) }
    }

    package mutating func turnEnded(_ loop: ConsumerLoop) throws -> HistoryPumpOutcome? {
        if job.recordCount >= settings.batchSize || batchDeadline.map({ ContinuousClock.now >= $0 }) == true {
            try store(waiting: false, abandonOnFailure: false, loop)
        }
        // A stored batch moves the committed offsets at once, not at the next batch: the lag shown on stderr and
        // in the metrics reaches 0 when the topic goes quiet.
        try absorb(stage.finishedOutcome(), loop)
        if ContinuousClock.now >= nextLog {
            logProgress(loop)
            nextLog = ContinuousClock.now + settings.logInterval
        }
        if let metrics = settings.metrics, ContinuousClock.now >= nextMetrics {
            let lags = loop.lags()
            metrics.recordPosition(lag: lags.reduce(0) { $0 + ($1.lag ?? 0) }, assignedPartitions: lags.count)
            nextMetrics = ContinuousClock.now + Self.metricsInterval
        }
        return nil
    }

    /// For tools that read lag from the group's Kafka offsets; PostgreSQL stays the only source of positions.
    package func commit(_ loop: ConsumerLoop) {
        var stored: [Int32: Int64] = [:]
        for id in loop.positions.ids { stored[id] = loop.positions[id]?.committed }
        try? loop.commit(stored, evenIfUnchanged: true)
    }

    /// The partition went on at `found` where `expected` was next. Offsets may skip without loss (transaction
    /// markers, compaction); a loss is when the brokers no longer hold the skipped offsets: their log now starts
    /// after `expected`. When the brokers cannot say, the skip counts as a loss: a false alarm is loud, a missed
    /// one is silent.
    private mutating func checkForGap(partition: Int32, expected: Int64, found: Int64, _ loop: ConsumerLoop) throws {
        let logStart = try? loop.watermarks(of: partition, timeout: .seconds(5)).low
        guard (logStart ?? found) > expected else { return }
        let lost = expected...(min(logStart ?? found, found) - 1)
        let range = "\(settings.consumer.topic)[\(partition)] offsets \(lost.lowerBound)–\(lost.upperBound)"
        let count = "\(grouped(lost.count)) records"
        switch settings.onGap {
        case .record:
            settings.consumer.notes.note(
                "speedo: error: \(range) (\(count)) were removed by the brokers before they were stored (retention or "
                    + "a size limit): those readings are missing from the history. Recorded in speedo_history_gaps "
                    + "(`speedo db gaps`); going on from offset \(found).")
            job.batch.recordGap(partition: partition, offsets: lost)
        case .stop:
            try store(waiting: true, abandonOnFailure: false, loop)
            throw HistoryPumpFailure.gap(range: range, count: count, group: settings.group)
        }
    }

    // MARK: - Storing

    private mutating func takeJob() -> HistoryJob {
        defer {
            job = HistoryJob()
            batchDeadline = nil
        }
        return job
    }

    /// Collects the outcome of the job in flight, then hands the batch in hand to the store stage (and, with
    /// `waiting`, waits until it is stored or given up).
    ///
    /// A batch is never stored after an earlier one was given up: its offsets would cover the earlier records. So
    /// after an abandoned job (until the re-seek) or an interrupted one, the batch in hand is dropped instead.
    private mutating func store(waiting: Bool, abandonOnFailure: Bool, _ loop: ConsumerLoop) throws {
        try absorb(stage.drain(abandonOnFailure: abandonOnFailure), loop)
        let current = takeJob()
        guard !current.isEmpty else { return }
        guard !needsReseek, interruptedRecords == 0 else {
            if interruptedRecords > 0 { interruptedRecords += current.recordCount }
            return
        }
        stage.start(current)
        if waiting { try absorb(stage.drain(abandonOnFailure: abandonOnFailure), loop) }
    }

    private mutating func absorb(_ outcome: HistoryJobOutcome?, _ loop: ConsumerLoop) throws {
        switch outcome {
        case nil:
            break
        case .stored(let next):
            for (partition, offset) in next { loop.stored(partition, upTo: offset) }
        case .abandoned:
            needsReseek = true
        case .interrupted(let records):
            interruptedRecords += records
        case .failed(let error):
            throw error
        }
    }

    // MARK: - Rebalancing

    package mutating func assigned(_ partitions: [Int32], _ loop: ConsumerLoop) throws -> [Int32: PartitionStart] {
        stage.statistics.markAssigned()
        guard let stored = try storedOffsetsRetrying(partitions) else {
            // Stopping: nothing will be stored from these partitions, so any start will do.
            withoutStoredOffsets.formUnion(partitions)
            return [:]
        }
        var starts: [Int32: PartitionStart] = [:]
        var beyondEnd: HistoryPumpFailure?
        for partition in partitions {
            let start = stored[partition]
            if let start, let end = try? loop.watermarks(of: partition, timeout: .seconds(5)).high, start > end {
                beyondEnd = beyondEnd ?? HistoryPumpFailure.beyondEnd(
                    topic: settings.consumer.topic, partition: partition, stored: start, end: end, group: settings.group)
            }
            starts[partition] = start.map(PartitionStart.stored) ?? .beginning
        }
        let shown = partitions.sorted().map { "\($0)@\(stored[$0].map(String.init) ?? "earliest")" }
        settings.consumer.notes.note(
            "speedo: assigned \(settings.consumer.topic) partitions \(shown.joined(separator: ", "))",
            fields: ["topic": settings.consumer.topic, "partitions": partitions.sorted().map(String.init).joined(separator: ",")])
        if let beyondEnd { throw beyondEnd }
        return starts
    }

    package mutating func revoked(_ partitions: [Int32], _ loop: ConsumerLoop) throws {
        withoutStoredOffsets.subtract(partitions)
        defer {
            // Nothing left to seek back: whoever owns the revoked partitions next starts from the stored offsets.
            if Set(loop.positions.ids).isSubset(of: partitions) { needsReseek = false }
        }
        // Store what was read while the partitions are still ours; if that fails, give it up: the next owner reads
        // the same records again from the stored offsets.
        try store(waiting: true, abandonOnFailure: true, loop)
    }

    /// nil when a stop was requested while PostgreSQL was unreachable.
    private func storedOffsetsRetrying(_ ids: [Int32]) throws -> [Int32: Int64]? {
        var retry = HistoryRetry()
        while true {
            let failure: PostgresError
            do {
                let stored = try offsets.storedOffsets(partitions: ids)
                if retry.hasFailed { settings.metrics?.recordAvailable() }
                return stored
            } catch {
                failure = error
            }
            guard failure.isTransient else { throw failure }
            guard !settings.consumer.stop.isRequested else { return nil }
            let problem = "PostgreSQL unreachable (\(failure.shortReason))"
            settings.metrics?.recordUnavailable(problem)
            retry.pause(after: problem, notes: settings.consumer.notes, heartbeat: settings.consumer.heartbeat)
        }
    }

    /// Moves every assigned partition back to its stored offset after an abandoned batch.
    private mutating func reseek(_ loop: ConsumerLoop) throws {
        let ids = loop.positions.ids
        guard let stored = try storedOffsetsRetrying(ids) else { return }
        for id in ids {
            try loop.seek(id, to: stored[id].map(PartitionStart.stored) ?? .beginning, timeout: .seconds(10))
        }
        needsReseek = false
    }

    // MARK: - Reporting

    private func logProgress(_ loop: ConsumerLoop) {
        let partitionLags = loop.lags()
        let lags = partitionLags.map { "[\($0.partition)] \($0.lag.map(grouped) ?? "?")" }
        let partitionsText = lags.isEmpty ? "no partitions assigned" : "lag \(lags.joined(separator: " "))"
        settings.consumer.notes.note(
            "speedo: consume postgres: \(stage.statistics.progressLine()); \(partitionsText)",
            fields: stage.statistics.fields.merging([
                "topic": settings.consumer.topic, "partitions": "\(partitionLags.count)",
                "lag": "\(partitionLags.reduce(0) { $0 + ($1.lag ?? 0) })",
            ]) { $1 })
    }
}

/// Why `consume postgres` cannot go on without an operator.
package enum HistoryPumpFailure: SpeedoFailure {
    /// A stored offset lies past the partition's end: the topic was deleted and created again, or truncated.
    case beyondEnd(topic: String, partition: Int32, stored: Int64, end: Int64, group: String)
    /// Records were removed before they were stored, and `--on-gap stop` asked to stop there.
    case gap(range: String, count: String, group: String)

    package var exitCode: SpeedoExitCode { .inputRejected }

    package var description: String {
        switch self {
        case .beyondEnd(let topic, let partition, let stored, let end, let group):
            "group \(group) resumes \(topic)[\(partition)] at offset \(stored) (stored in PostgreSQL), but the "
                + "partition ends at \(end): the topic was deleted and created again (or truncated) since, so its "
                + "offsets no longer mean what the history stored. Nothing was read from it. To read the new topic "
                + "from its start: `speedo db reset-offsets --group \(group) -t \(topic) --to earliest` (rows already "
                + "stored stay; readings stored before are absorbed as already there)"
        case .gap(let range, let count, let group):
            "\(range) (\(count)) were removed by the brokers before group \(group) stored them; stopped there as "
                + "--on-gap stop asks (everything before the gap is stored). To record the gap and go on: run again "
                + "with --on-gap record"
        }
    }
}
