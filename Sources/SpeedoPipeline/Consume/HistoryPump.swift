import Foundation
import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import SpeedoStore

/// What `speedo consume postgres` was asked to do.
package struct HistoryPumpSettings {
    package var kafka: KafkaConfiguration
    package var topic: String
    package var group: String
    package var databaseURL: String
    package var batchSize: Int
    package var batchInterval: Duration
    package var logInterval: Duration
    package var exitAtEnd: Bool
    /// SIGINT/SIGTERM ask for a clean stop: store the batch in hand, leave the group.
    package var stop: StopRequest
    /// `--metrics-listen`: kept up to date while running.
    package var metrics: HistoryMetrics?
    /// `--on-gap`: what to do when records were removed from the topic before they were stored.
    package var onGap: GapPolicy = .record

    package init(
        kafka: KafkaConfiguration,
        topic: String,
        group: String,
        databaseURL: String,
        batchSize: Int,
        batchInterval: Duration,
        logInterval: Duration,
        exitAtEnd: Bool,
        stop: StopRequest,
        metrics: HistoryMetrics?,
        onGap: GapPolicy = .record
    ) {
        self.kafka = kafka
        self.topic = topic
        self.group = group
        self.databaseURL = databaseURL
        self.batchSize = batchSize
        self.batchInterval = batchInterval
        self.logInterval = logInterval
        self.exitAtEnd = exitAtEnd
        self.stop = stop
        self.metrics = metrics
        self.onGap = onGap
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
/// Threading: `run` blocks its thread for the whole run (Kafka poll and libpq are synchronous); librdkafka calls the
/// rebalance handler from inside `poll` on that same thread.
// @unchecked Sendable: the rebalance closures must be @Sendable, but they run only inside `consumer.poll`/`close`,
// which `run` calls from its own thread; every mutable property is touched from that thread alone.
package final class HistoryPump: @unchecked Sendable {
    private let settings: HistoryPumpSettings
    /// Reads stored offsets on assignment; the store stage has its own connection for writing.
    private let offsets: HistoryWriter
    private let stage: HistoryStage
    /// `next`: everything before it is in a batch or stored; `committed`: the next offset according to PostgreSQL.
    private var partitions = PartitionPositions()
    private var job = HistoryJob()
    private var batchDeadline: ContinuousClock.Instant?
    /// Set when the in-memory positions may be ahead of PostgreSQL (a batch was abandoned): seek back first.
    private var needsReseek = false
    /// Records read but not stored because a stop came while PostgreSQL was unreachable.
    private var interruptedRecords = 0
    /// A failure inside the rebalance handler, which cannot throw: raised by the loop right after `poll`.
    private var handlerFailure: (any Error)?
    private var lastKafkaError: String?
    /// The consumer `run` created: the rebalance handler asks it for watermarks.
    private var consumer: KafkaConsumer?

    private static let retryPolicy = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2,
        maximumAttempts: nil, deadline: nil)

    package init(settings: HistoryPumpSettings) throws(KafkaError) {
        self.settings = settings
        offsets = HistoryWriter(conninfo: settings.databaseURL, group: settings.group, topic: settings.topic)
        stage = try HistoryStage(settings: settings)
    }

    package func run() throws -> HistoryPumpOutcome {
        defer { stage.close() }
        let report = try offsets.connect(retry: .startup) { Terminal.note("speedo: \($0)") }
        if !report.applied.isEmpty {
            Terminal.note("speedo: migrated the schema from version \(report.previousVersion) to \(report.currentVersion)")
        }
        let consumer = try KafkaConsumer(
            configuration: settings.kafka, groupID: settings.group, autoCommit: false, reportEndOfPartition: true,
            rebalance: RebalanceHandler(
                onAssign: { [unowned self] in assign($0) },
                onRevoke: { [unowned self] in revoke($0) }))
        self.consumer = consumer
        defer {
            self.consumer = nil
            consumer.close()
        }
        try waitForBrokers(consumer)
        try consumer.subscribe(topics: [settings.topic])
        Terminal.note(
            "speedo: consume postgres: reading \(settings.topic) as group \(settings.group) into PostgreSQL at "
                + "\(offsets.server ?? "?")")

        let outcome = try pump(consumer)
        // No last commit to Kafka here: it is for tools only, and a synchronous commit during a rebalance could hold
        // up the exit.
        consumer.close()
        offsets.close()
        if let failure = handlerFailure { throw failure }
        Terminal.note("speedo: consume postgres: "
            + stage.statistics.summary(deadLetterTopic: ConnectionSettings.deadLetterTopic(for: settings.topic)))
        return outcome
    }

    // MARK: - The loop

    private func pump(_ consumer: KafkaConsumer) throws -> HistoryPumpOutcome {
        var nextLog = ContinuousClock.now + settings.logInterval
        var nextMetrics = ContinuousClock.now
        while true {
            if settings.stop.isRequested {
                try store(waiting: true, abandonOnFailure: false)
                return .stopped(unstored: interruptedRecords)
            }
            if settings.exitAtEnd, isCaughtUp(consumer) {
                try store(waiting: true, abandonOnFailure: false)
                // Records may have arrived while storing; only stop when still at the end.
                if !needsReseek, isCaughtUp(consumer) { return .reachedEnd }
            }
            if needsReseek { try reseek(consumer) }

            let now = ContinuousClock.now
            let wait = batchDeadline.map { max(.zero, min(.milliseconds(100), $0 - now)) } ?? .milliseconds(100)
            if let event = consumer.poll(timeout: wait) { try handle(event) }
            if let failure = handlerFailure { throw failure }
            while job.recordCount < settings.batchSize, let event = consumer.poll(timeout: .zero) {
                try handle(event)
                if let failure = handlerFailure { throw failure }
            }

            if job.recordCount >= settings.batchSize || batchDeadline.map({ ContinuousClock.now >= $0 }) == true {
                try store(waiting: false, abandonOnFailure: false)
            }
            // A stored batch moves the committed offsets at once, not at the next batch: the lag shown on stderr and
            // in the metrics reaches 0 when the topic goes quiet.
            try absorb(stage.finishedOutcome())
            if ContinuousClock.now >= nextLog {
                logProgress(consumer)
                commitToKafka(consumer)
                nextLog = ContinuousClock.now + settings.logInterval
            }
            if let metrics = settings.metrics, ContinuousClock.now >= nextMetrics {
                let lags = lags(consumer)
                metrics.recordPosition(lag: lags.reduce(0) { $0 + ($1.lag ?? 0) }, assignedPartitions: lags.count)
                nextMetrics = ContinuousClock.now + Self.metricsInterval
            }
        }
    }

    /// How often the lag shown by `--metrics-listen` is brought up to date (the pump's thread owns the consumer).
    private static let metricsInterval = Duration.seconds(1)

    private func isCaughtUp(_ consumer: KafkaConsumer) -> Bool {
        partitions.isCaughtUp(consumer, topic: settings.topic)
    }

    private func handle(_ event: ConsumerEvent) throws {
        switch event {
        case .record(let record):
            // Skipped: from a partition no longer ours, or before a re-seek.
            guard record.topic == settings.topic, let position = partitions[record.partition],
                record.offset >= position.next ?? 0
            else { return }
            if let next = position.next, record.offset > next {
                try checkForGap(partition: record.partition, expected: next, found: record.offset)
            }
            switch record.verdict(now: Timestamp.current()) {
            case .valid(let reading):
                job.batch.append(reading, from: RecordPosition(partition: record.partition, offset: record.offset))
            case .invalid(let letter):
                job.deadLetters.append(letter)
            }
            partitions.processed(record.partition, offset: record.offset)
            job.batch.advance(partition: record.partition, to: record.offset + 1)
            if batchDeadline == nil { batchDeadline = ContinuousClock.now + settings.batchInterval }
        case .endOfPartition(let topic, let partition, let offset):
            guard topic == settings.topic, let position = partitions[partition] else { return }
            if let next = position.next {
                if offset < next {
                    throw HistoryPumpFailure.beyondEnd(
                        topic: topic, partition: partition, stored: next, end: offset, group: settings.group)
                }
                if offset > next { try checkForGap(partition: partition, expected: next, found: offset) }
            }
            // An empty partition with nothing stored stores nothing either (offset 0 is where it starts anyway).
            if let moved = partitions.reachedEnd(partition, offset: offset), moved > position.next ?? 0 {
                job.batch.advance(partition: partition, to: moved)
            }
        case .error(let error):
            if error.isFatal { throw error }
            // librdkafka keeps retrying by itself; say so once per distinct problem.
            if error.message != lastKafkaError {
                Terminal.note("speedo: Kafka: \(error.message) (retrying)")
                lastKafkaError = error.message
            }
        }
    }

    /// The partition went on at `found` where `expected` was next. Offsets may skip without loss (transaction
    /// markers, compaction); a loss is when the brokers no longer hold the skipped offsets: their log now starts
    /// after `expected`. When the brokers cannot say, the skip counts as a loss: a false alarm is loud, a missed
    /// one is silent.
    private func checkForGap(partition: Int32, expected: Int64, found: Int64) throws {
        let logStart = try? consumer?.watermarks(topic: settings.topic, partition: partition, timeout: .seconds(5)).low
        guard (logStart ?? found) > expected else { return }
        let gap = HistoryGap(partition: partition, firstOffset: expected, lastOffset: min(logStart ?? found, found) - 1)
        let range = "\(settings.topic)[\(partition)] offsets \(gap.firstOffset)–\(gap.lastOffset)"
        let count = "\(grouped(Int(gap.recordCount))) records"
        switch settings.onGap {
        case .record:
            Terminal.note(
                "speedo: error: \(range) (\(count)) were removed by the brokers before they were stored (retention or "
                    + "a size limit): those readings are missing from the history. Recorded in speedo_history_gaps "
                    + "(`speedo db gaps`); going on from offset \(found).")
            job.batch.recordGap(gap)
        case .stop:
            try store(waiting: true, abandonOnFailure: false)
            throw HistoryPumpFailure.gap(range: range, count: count, group: settings.group)
        }
    }

    // MARK: - Storing

    private func takeJob() -> HistoryJob {
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
    private func store(waiting: Bool, abandonOnFailure: Bool) throws {
        try absorb(stage.drain(abandonOnFailure: abandonOnFailure))
        let current = takeJob()
        guard !current.isEmpty else { return }
        guard !needsReseek, interruptedRecords == 0 else {
            if interruptedRecords > 0 { interruptedRecords += current.recordCount }
            return
        }
        stage.start(current)
        if waiting { try absorb(stage.drain(abandonOnFailure: abandonOnFailure)) }
    }

    private func absorb(_ outcome: HistoryJobOutcome?) throws {
        switch outcome {
        case nil:
            break
        case .stored(let next):
            for (partition, offset) in next { partitions.committed(partition, offset: offset) }
        case .abandoned:
            needsReseek = true
        case .interrupted(let records):
            interruptedRecords += records
        case .failed(let error):
            throw error
        }
    }

    // MARK: - Rebalancing

    private func assign(_ assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        let ours = assigned.filter { $0.topic == settings.topic }
        stage.statistics.markAssigned()
        guard let stored = storedOffsetsRetrying(ours.map(\.partition)) else {
            // Stopping, or a fatal error: nothing will be stored from these partitions, so any start will do.
            return [:]
        }
        var starts: [TopicPartition: Int64] = [:]
        for partition in ours {
            let start = stored[partition.partition]
            if let start, let end = try? consumer?.watermarks(
                topic: settings.topic, partition: partition.partition, timeout: .seconds(5)).high, start > end
            {
                handlerFailure = handlerFailure ?? HistoryPumpFailure.beyondEnd(
                    topic: settings.topic, partition: partition.partition, stored: start, end: end, group: settings.group)
            }
            partitions.track(partition.partition, next: start, committed: start)
            starts[partition] = start ?? TopicPartitionOffset.earliest
        }
        let shown = ours.sorted { $0.partition < $1.partition }.map { partition in
            "\(partition.partition)@\(stored[partition.partition].map(String.init) ?? "earliest")"
        }
        Terminal.note("speedo: assigned \(settings.topic) partitions \(shown.joined(separator: ", "))")
        return starts
    }

    private func revoke(_ revoked: [TopicPartition]) {
        // Store what was read while the partitions are still ours; if that fails, give it up: the next owner reads
        // the same records again from the stored offsets.
        do {
            try store(waiting: true, abandonOnFailure: true)
        } catch {
            handlerFailure = handlerFailure ?? error
        }
        for partition in revoked where partition.topic == settings.topic { partitions.forget(partition.partition) }
        // Nothing left to seek back: whoever owns the revoked partitions next starts from the stored offsets.
        if partitions.isEmpty { needsReseek = false }
    }

    private func storedOffsetsRetrying(_ ids: [Int32]) -> [Int32: Int64]? {
        let clock = ContinuousClock()
        let started = clock.now
        var failures = 0
        while true {
            do {
                return try offsets.storedOffsets(partitions: ids)
            } catch where error.isTransient && !settings.stop.isRequested {
                failures += 1
                let delay = Self.retryPolicy.delay(afterFailedAttempts: failures, elapsed: clock.now - started)
                    ?? Self.retryPolicy.maximumDelay
                Terminal.note(
                    "speedo: PostgreSQL unreachable (\(error.shortReason)); retrying in \(String(format: "%.1f", delay.inSeconds)) s")
                Thread.sleep(forTimeInterval: delay.inSeconds)
            } catch {
                if !error.isTransient { handlerFailure = handlerFailure ?? error }
                return nil
            }
        }
    }

    /// Moves every assigned partition back to its stored offset after an abandoned batch.
    private func reseek(_ consumer: KafkaConsumer) throws {
        guard let stored = storedOffsetsRetrying(partitions.ids) else {
            if let failure = handlerFailure { throw failure }
            return
        }
        for id in partitions.ids {
            let start = stored[id]
            try consumer.seek(
                TopicPartitionOffset(topic: settings.topic, partition: id, offset: start ?? TopicPartitionOffset.earliest),
                timeout: .seconds(10))
            partitions.track(id, next: start, committed: start)
        }
        needsReseek = false
    }

    // MARK: - Reporting

    private func waitForBrokers(_ consumer: KafkaConsumer) throws(KafkaError) {
        do {
            try consumer.waitForBrokers(timeout: .seconds(2))
        } catch {
            Terminal.note("speedo: no Kafka broker answers at \(settings.kafka.bootstrapServers) yet; waiting up to 30 s")
            try consumer.waitForBrokers(timeout: .seconds(28))
        }
    }

    /// Per assigned partition, the records not stored yet (nil before its high watermark is known).
    private func lags(_ consumer: KafkaConsumer) -> [(partition: Int32, lag: Int64?)] {
        partitions.ids.sorted().compactMap { id in
            guard let state = partitions[id] else { return nil }
            let high = consumer.lastKnownHighWatermark(topic: settings.topic, partition: id) ?? state.end
            return (id, high.map { max(0, $0 - (state.committed ?? 0)) })
        }
    }

    private func logProgress(_ consumer: KafkaConsumer) {
        let lags = lags(consumer).map { "[\($0.partition)] \($0.lag.map(grouped) ?? "?")" }
        let partitionsText = lags.isEmpty ? "no partitions assigned" : "lag \(lags.joined(separator: " "))"
        Terminal.note("speedo: consume postgres: \(stage.statistics.progressLine()); \(partitionsText)")
    }

    /// For tools that read lag from the group's Kafka offsets; PostgreSQL stays the only source of positions.
    private func commitToKafka(_ consumer: KafkaConsumer) {
        let positions = partitions.ids.compactMap { id in
            partitions[id]?.committed.map { TopicPartitionOffset(topic: settings.topic, partition: id, offset: $0) }
        }
        guard !positions.isEmpty else { return }
        try? consumer.commit(offsets: positions)
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
