import Foundation
import SpeedoCore
package import SpeedoKafka
import SpeedoRuntime
package import SpeedoStore
import Synchronization

/// One batch handed to the store stage: rows and offsets for PostgreSQL, and the dead letters of the same records.
package struct HistoryJob: Sendable {
    package var batch = HistoryBatch()
    package var deadLetters: [DeadLetter] = []

    package var recordCount: Int { batch.rowCount + deadLetters.count }
    package var isEmpty: Bool { batch.isEmpty && deadLetters.isEmpty }
}

/// What became of a job.
package enum HistoryJobOutcome: Sendable {
    /// Stored; these are the partitions' next offsets now in PostgreSQL.
    case stored([Int32: Int64])
    /// Not stored, on purpose (partitions revoked while PostgreSQL or the brokers failed): to be read again.
    case abandoned
    /// Not stored because a stop was requested while PostgreSQL or the brokers were unreachable.
    case interrupted(records: Int)
    case failed(any Error)
}

/// The store half of the pipeline: one thread that sends a job's dead letters (confirmed by the brokers), then
/// stores its rows and offsets in one transaction, retrying while PostgreSQL or the brokers are unreachable, while
/// the Kafka loop reads and validates the next batch. At most one job is in flight (`HandOff` of one), which keeps
/// batches stored in order and memory bounded.
package final class HistoryStage: Sendable {
    private struct State {
        /// The outcome of the last job, until collected.
        var outcome: HistoryJobOutcome?
        /// Set by `drain(abandonOnFailure: true)`: give a failing job up instead of retrying it.
        var abandonOnFailure = false
    }

    private let settings: HistoryPumpSettings
    private let deadLetters: DeadLetterSender
    private let jobs = HandOff<HistoryJob>(capacity: 1)
    private let state = Mutex(State())
    package let statistics = Statistics()

    package init(settings: HistoryPumpSettings) throws(KafkaError) {
        self.settings = settings
        deadLetters = try DeadLetterSender(configuration: settings.consumer.kafka, sourceTopic: settings.consumer.topic)
        jobs.startWorker(named: "speedo.store") { [self] in storeJobs() }
    }

    /// Starts storing `job`; call only when nothing is in flight (after `drain`), so that jobs are stored in order
    /// and a job is never stored after an earlier one was given up.
    package func start(_ job: HistoryJob) {
        precondition(jobs.isIdle, "a job is still in flight")
        state.withLock { state in
            precondition(state.outcome == nil, "the outcome of the last job is uncollected")
            state.abandonOnFailure = false
        }
        guard jobs.hand(job, waitingAtMost: .zero) == .accepted else { preconditionFailure("the store thread ended") }
    }

    /// Waits until nothing is in flight; returns the outcome of the last job, nil when it was already collected.
    package func drain(abandonOnFailure: Bool) -> HistoryJobOutcome? {
        if abandonOnFailure { state.withLock { $0.abandonOnFailure = true } }
        jobs.waitUntilIdle()
        return takeOutcome()
    }

    /// The outcome of the last job if it is done, without waiting; nil while it is in flight or once collected.
    package func finishedOutcome() -> HistoryJobOutcome? {
        // The store thread records the outcome before it goes idle.
        jobs.isIdle ? takeOutcome() : nil
    }

    /// Ends the thread once the job in flight is done, and closes the producer.
    package func close() {
        _ = drain(abandonOnFailure: false)
        jobs.close()
        jobs.waitUntilEnded()
        deadLetters.close()
    }

    private func takeOutcome() -> HistoryJobOutcome? {
        state.withLock { state in
            defer { state.outcome = nil }
            return state.outcome
        }
    }

    // MARK: - The store thread

    private func storeJobs() {
        let writer = HistoryWriter(conninfo: settings.databaseURL, group: settings.group, topic: settings.consumer.topic)
        defer { writer.close() }
        while let job = jobs.next() {
            let outcome = store(job, with: writer)
            state.withLock { $0.outcome = outcome }
        }
    }

    private func store(_ job: HistoryJob, with writer: HistoryWriter) -> HistoryJobOutcome {
        var retry = HistoryRetry()
        while true {
            let problem: String
            do {
                try deadLetters.send(job.deadLetters)
                var conflicts: [HistoryConflict] = []
                let result = try writer.write(job.batch) { found in
                    // Sent before the transaction that records them commits: never recorded without a dead letter.
                    try deadLetters.send(found.map { DeadLetter(conflict: $0, topic: settings.consumer.topic) })
                    conflicts = found
                }
                report(conflicts)
                statistics.add(result, deadLetters: job.deadLetters.count + result.conflicts)
                settings.metrics?.recordStored(
                    result, gaps: job.batch.gaps.count, deadLetters: job.deadLetters.count + result.conflicts)
                return .stored(job.batch.nextOffsets)
            } catch let error as PostgresError where error.isTransient {
                problem = "PostgreSQL unreachable (\(error.shortReason))"
            } catch let error as KafkaError where error.isRetriable {
                problem = error.message
            } catch {
                return .failed(error)
            }
            if state.withLock({ $0.abandonOnFailure }) { return .abandoned }
            if settings.consumer.stop.isRequested { return .interrupted(records: job.recordCount) }
            settings.metrics?.recordRetry(problem)
            retry.pause(after: problem, notes: settings.consumer.notes, heartbeat: settings.consumer.heartbeat)
        }
    }
    /// One error line per conflict, up to a few per batch: a replay of another history can conflict on every row.
    private func report(_ conflicts: [HistoryConflict]) {
        for conflict in conflicts.prefix(Self.conflictsShownPerBatch) {
            let position = conflict.position.map { " (\(settings.consumer.topic)[\($0.partition)]@\($0.offset))" } ?? ""
            let fields = conflict.position.map {
                ["topic": settings.consumer.topic, "partition": "\($0.partition)", "offset": "\($0.offset)"]
            }
            settings.consumer.notes.note(
                "speedo: error: conflict\(position): \(conflict.explanation); sent to the dead-letter topic, "
                    + "recorded in speedo_history_conflicts", fields: fields ?? [:])
        }
        if conflicts.count > Self.conflictsShownPerBatch {
            settings.consumer.notes.note("speedo: error: \(grouped(conflicts.count - Self.conflictsShownPerBatch)) more conflicts in "
                + "this batch, each recorded in speedo_history_conflicts and sent to the dead-letter topic")
        }
    }

    private static let conflictsShownPerBatch = 5
}

/// Rows stored, for the progress lines and the final summary; written by the store thread, read by the loop.
package final class Statistics: Sendable {
    private struct Counts {
        /// The first assignment: joining the group is not writing, and would blur the rate of short runs.
        var started: ContinuousClock.Instant?
        var rows = 0
        var inserted = 0
        var conflicts = 0
        var missingRecords: Int64 = 0
        var deadLetters = 0
        var lastReport = ContinuousClock.now
        var rowsAtLastReport = 0
    }

    private let counts = Mutex(Counts())

    package func markAssigned() {
        counts.withLock { if $0.started == nil { $0.started = ContinuousClock.now } }
    }

    package func add(_ result: HistoryWriteResult, deadLetters: Int) {
        counts.withLock { counts in
            counts.rows += result.rows
            counts.inserted += result.inserted
            counts.conflicts += result.conflicts
            counts.missingRecords += result.missingRecords
            counts.deadLetters += deadLetters
        }
    }

    /// The totals, for a JSON log line.
    package var fields: [String: String] {
        counts.withLock { counts in
            ["rows": "\(counts.rows)", "inserted": "\(counts.inserted)", "dead_letters": "\(counts.deadLetters)"]
        }
    }

    /// Rows per second since the previous line, and totals.
    package func progressLine() -> String {
        counts.withLock { counts in
            let now = ContinuousClock.now
            let rate = Double(counts.rows - counts.rowsAtLastReport) / max((now - counts.lastReport).inSeconds, 0.001)
            counts.lastReport = now
            counts.rowsAtLastReport = counts.rows
            return "\(grouped(Int(rate))) rows/s, \(grouped(counts.rows)) rows in total, "
                + "\(grouped(counts.deadLetters)) dead letters" + Self.losses(counts)
        }
    }

    package func summary(deadLetterTopic: String) -> String {
        counts.withLock { counts in
            let elapsed = counts.started.map { (ContinuousClock.now - $0).inSeconds } ?? 0
            let rate = Double(counts.rows) / max(elapsed, 0.001)
            return "stored \(grouped(counts.rows)) rows (\(grouped(counts.inserted)) new, "
                + "\(grouped(counts.rows - counts.inserted - counts.conflicts)) already there), sent "
                + "\(grouped(counts.deadLetters)) records to \(deadLetterTopic), in \(String(format: "%.2f", elapsed)) s "
                + "from the first assignment (\(grouped(Int(rate))) rows/s)" + Self.losses(counts)
        }
    }

    /// What could not be stored, when anything: never left out of a line about what was.
    private static func losses(_ counts: Counts) -> String {
        guard counts.conflicts > 0 || counts.missingRecords > 0 else { return "" }
        return "; NOT STORED: \(grouped(counts.conflicts)) conflicting readings (in speedo_history_conflicts and the "
            + "dead-letter topic), \(grouped(Int(counts.missingRecords))) records removed by the brokers before they "
            + "were read (in speedo_history_gaps)"
    }
}

extension DeadLetter {
    /// A reading the history could not store because another speed is stored for its sensor and time. Its record
    /// is written again from the reading (key, canonical value, timestamp): the writer keeps rows, not records; the
    /// source headers say where the original is.
    package init(conflict: HistoryConflict, topic: String) {
        let reading = conflict.reading
        self.init(
            record: ConsumedRecord(
                topic: topic, partition: conflict.position?.partition ?? -1, offset: conflict.position?.offset ?? -1,
                key: Array(reading.sensorID.utf8), value: CanonicalJSON.encode(reading),
                timestampMs: reading.timestamp.milliseconds, headers: []),
            code: "conflict", reason: conflict.explanation)
    }
}
