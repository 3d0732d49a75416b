import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoStore

/// What `speedo consume postgres` was asked to do.
struct HistoryPumpSettings {
    var kafka: KafkaConfiguration
    var topic: String
    var group: String
    var databaseURL: String
    var batchSize: Int
    var batchInterval: Duration
    var logInterval: Duration
    var exitAtEnd: Bool
    /// SIGINT/SIGTERM ask for a clean stop: store the batch in hand, leave the group.
    var interrupts: InterruptWatcher
    /// `--metrics-listen`: kept up to date while running.
    var metrics: HistoryMetrics?
}

/// How a run ended (failures are thrown).
enum HistoryPumpOutcome {
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
final class HistoryPump: @unchecked Sendable {
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

    private static let retryPolicy = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2,
        maximumAttempts: nil, deadline: nil)

    init(settings: HistoryPumpSettings) throws(KafkaError) {
        self.settings = settings
        offsets = HistoryWriter(conninfo: settings.databaseURL, group: settings.group, topic: settings.topic)
        stage = try HistoryStage(settings: settings)
    }

    func run() throws -> HistoryPumpOutcome {
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
        defer { consumer.close() }
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
            if settings.interrupts.isInterrupted {
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
            guard record.topic == settings.topic, let next = partitions[record.partition]?.next, record.offset >= next
            else { return }  // from a partition no longer ours, or before a re-seek
            switch record.verdict(now: Timestamp.current()) {
            case .valid(let reading): job.batch.append(reading)
            case .invalid(let letter): job.deadLetters.append(letter)
            }
            partitions.processed(record.partition, offset: record.offset)
            job.batch.advance(partition: record.partition, to: record.offset + 1)
            if batchDeadline == nil { batchDeadline = ContinuousClock.now + settings.batchInterval }
        case .endOfPartition(let topic, let partition, let offset):
            guard topic == settings.topic else { return }
            // The stored position may move past a gap the end revealed (see `reachedEnd`).
            if let moved = partitions.reachedEnd(partition, offset: offset) {
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
            partitions.track(partition.partition, next: start ?? 0, committed: start)
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
            } catch where error.isTransient && !settings.interrupts.isInterrupted {
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
            partitions.track(id, next: start ?? 0, committed: start)
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
