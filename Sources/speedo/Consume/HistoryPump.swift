import Foundation
import Synchronization
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
}

/// How a run ended (failures are thrown).
enum HistoryPumpOutcome {
    /// `--exit-at-end`: every assigned partition was read to its end and stored.
    case reachedEnd
    /// SIGINT/SIGTERM; `unstored` records were read but not stored (PostgreSQL was down): the next run reads them again.
    case stopped(unstored: Int)
}

/// The Kafka half of `speedo consume postgres`: reads the topic as a member of the consumer group, validates each
/// record, sends invalid ones to the dead-letter topic, and hands batches to `HistoryWriter`, which stores rows and
/// offsets in one PostgreSQL transaction.
///
/// Positions come only from PostgreSQL: on every assignment the stored offsets are read and the consumer starts
/// exactly there (the earliest record the broker holds when there is none). A batch counts as done only when its
/// dead letters are acknowledged by the brokers AND its transaction has committed; until then it is retried as a
/// whole (PostgreSQL down) or dropped (partitions revoked), and in both cases nothing is skipped, because whoever
/// reads next starts from the stored offsets.
///
/// Threading: `run` blocks its thread for the whole run (Kafka poll and libpq are synchronous); librdkafka calls the
/// rebalance handler from inside `poll` on that same thread.
// @unchecked Sendable: the rebalance closures must be @Sendable, but they run only inside `consumer.poll`/`close`,
// which `run` calls from its own thread; every mutable property is touched from that thread alone.
final class HistoryPump: @unchecked Sendable {
    private struct PartitionState {
        /// Next offset to process (everything before it is in the batch or stored).
        var consumed: Int64
        /// Next offset according to PostgreSQL; nil until known.
        var stored: Int64?
        var atEnd = false
        var highWatermark: Int64?
    }

    private struct DeadLetter {
        var record: ConsumedRecord
        var code: String
        var reason: String
    }

    private enum Verdict {
        case valid(Reading)
        case invalid(DeadLetter)
    }

    private let settings: HistoryPumpSettings
    private let writer: HistoryWriter
    private let deadLetterTopic: String
    private let deliveries: DeadLetterDeliveries
    private let producer: KafkaProducer
    private var partitions: [Int32: PartitionState] = [:]
    private var batch = HistoryBatch()
    private var deadLetters: [DeadLetter] = []
    private var batchDeadline: ContinuousClock.Instant?
    /// Set when the in-memory positions may be ahead of PostgreSQL (a batch was dropped): seek back before reading on.
    private var needsReseek = false
    /// A failure inside the rebalance handler, which cannot throw: raised by the loop right after `poll`.
    private var handlerFailure: (any Error)?
    private var lastKafkaError: String?
    private let statistics = Statistics()

    private static let retryPolicy = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2,
        maximumAttempts: nil, deadline: nil)

    init(settings: HistoryPumpSettings) throws(KafkaError) {
        self.settings = settings
        writer = HistoryWriter(conninfo: settings.databaseURL, group: settings.group, topic: settings.topic)
        deadLetterTopic = ConnectionSettings.deadLetterTopic(for: settings.topic)
        let deliveries = DeadLetterDeliveries()
        self.deliveries = deliveries
        producer = try KafkaProducer(configuration: settings.kafka) { deliveries.record($0) }
    }

    deinit {
        producer.close()
    }

    func run() throws -> HistoryPumpOutcome {
        let report = try writer.connect(retry: .startup) { Terminal.note("speedo: \($0)") }
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
                + "\(writer.server ?? "?")")

        let outcome = try pump(consumer)
        commitToKafka(consumer)
        consumer.close()
        writer.close()
        Terminal.note("speedo: consume postgres: " + statistics.summary(deadLetterTopic: deadLetterTopic))
        return outcome
    }

    // MARK: - The loop

    private func pump(_ consumer: KafkaConsumer) throws -> HistoryPumpOutcome {
        var nextLog = ContinuousClock.now + settings.logInterval
        while true {
            if StopSignal.isRequested {
                let stored = try flushRetrying(giveUpOnStop: true)
                return .stopped(unstored: stored ? 0 : batch.rowCount + deadLetters.count)
            }
            if settings.exitAtEnd, !partitions.isEmpty, partitions.values.allSatisfy(\.atEnd) {
                _ = try flushRetrying(giveUpOnStop: false)
                // Records may have arrived while flushing; only stop when still at the end.
                if partitions.values.allSatisfy(\.atEnd) { return .reachedEnd }
            }
            if needsReseek { try reseek(consumer) }

            let now = ContinuousClock.now
            let wait = batchDeadline.map { max(.zero, min(.milliseconds(100), $0 - now)) } ?? .milliseconds(100)
            if let event = consumer.poll(timeout: wait) { try handle(event) }
            if let failure = handlerFailure { throw failure }
            while batch.rowCount + deadLetters.count < settings.batchSize,
                let event = consumer.poll(timeout: .zero)
            {
                try handle(event)
                if let failure = handlerFailure { throw failure }
            }

            let full = batch.rowCount + deadLetters.count >= settings.batchSize
            if full || batchDeadline.map({ ContinuousClock.now >= $0 }) == true {
                _ = try flushRetrying(giveUpOnStop: true)
            }
            if ContinuousClock.now >= nextLog {
                logProgress(consumer)
                commitToKafka(consumer)
                nextLog = ContinuousClock.now + settings.logInterval
            }
        }
    }

    private func handle(_ event: ConsumerEvent) throws {
        switch event {
        case .record(let record):
            guard record.topic == settings.topic, var state = partitions[record.partition],
                record.offset >= state.consumed
            else { return }  // from a partition no longer ours, or before a re-seek
            switch Self.validate(record, now: Timestamp.current) {
            case .valid(let reading): batch.append(reading)
            case .invalid(let letter): deadLetters.append(letter)
            }
            state.consumed = record.offset + 1
            state.atEnd = false
            partitions[record.partition] = state
            batch.advance(partition: record.partition, to: record.offset + 1)
            if batchDeadline == nil { batchDeadline = ContinuousClock.now + settings.batchInterval }
        case .endOfPartition(let topic, let partition, let offset):
            guard topic == settings.topic, partitions[partition] != nil else { return }
            partitions[partition]?.atEnd = true
            partitions[partition]?.highWatermark = offset
        case .error(let error):
            if error.isFatal { throw error }
            // librdkafka keeps retrying by itself; say so once per distinct problem.
            if error.message != lastKafkaError {
                Terminal.note("speedo: Kafka: \(error.message) (retrying)")
                lastKafkaError = error.message
            }
        }
    }

    private static func validate(_ record: ConsumedRecord, now: Timestamp) -> Verdict {
        switch ReadingDecoder.decode(value: record.value ?? [], now: now) {
        case .failure(let rejection):
            return .invalid(DeadLetter(record: record, code: rejection.code.rawValue, reason: rejection.description))
        case .success(let reading):
            // Records are keyed by sensor so that one sensor stays in one partition, in order; a record keyed
            // otherwise was not written by a producer that follows the contract. No key at all is tolerated.
            if let key = record.key, !key.elementsEqual(reading.sensorID.utf8) {
                return .invalid(DeadLetter(
                    record: record, code: "key-mismatch",
                    reason: "key: must equal sensor_id \(EscapedText.quoted(reading.sensorID)) "
                        + "(got \(EscapedText.quoted(bytes: key)))"))
            }
            return .valid(reading)
        }
    }

    // MARK: - Storing

    /// Stores the batch, retrying (with the same batch) while PostgreSQL or the brokers are unreachable. Returns false
    /// only when a stop was requested before it could be stored.
    private func flushRetrying(giveUpOnStop: Bool) throws -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        var failures = 0
        while true {
            do {
                try flush()
                return true
            } catch let error as PostgresError where error.isTransient {
                failures += 1
                guard let delay = Self.retryPolicy.delay(afterFailedAttempts: failures, elapsed: clock.now - started)
                else { throw error }
                Terminal.note("speedo: PostgreSQL unreachable (\(error.shortReason)); retrying in \(seconds(delay)) s")
                if giveUpOnStop, StopSignal.isRequested { return false }
                Thread.sleep(forTimeInterval: delay.inSeconds)
            } catch let error as KafkaError where error.isRetriable {
                failures += 1
                guard let delay = Self.retryPolicy.delay(afterFailedAttempts: failures, elapsed: clock.now - started)
                else { throw error }
                Terminal.note("speedo: \(error.message); retrying in \(seconds(delay)) s")
                if giveUpOnStop, StopSignal.isRequested { return false }
                Thread.sleep(forTimeInterval: delay.inSeconds)
            }
        }
    }

    /// Dead letters first, confirmed by the brokers; then rows and offsets in one transaction. A record is therefore
    /// never "done" in PostgreSQL while its dead letter could still be lost.
    private func flush() throws {
        guard !batch.isEmpty || !deadLetters.isEmpty else { return }
        if !deadLetters.isEmpty { try sendDeadLetters() }
        let result = try writer.write(batch)
        for (partition, next) in batch.nextOffsets { partitions[partition]?.stored = next }
        statistics.add(result, deadLetters: deadLetters.count)
        batch.removeAll()
        deadLetters.removeAll(keepingCapacity: true)
        batchDeadline = nil
    }

    private func sendDeadLetters() throws(KafkaError) {
        deliveries.reset()
        for (index, letter) in deadLetters.enumerated() {
            let record = letter.record
            let headers = [
                ("speedo-error", letter.reason), ("speedo-error-code", letter.code),
                ("speedo-source-topic", record.topic), ("speedo-source-partition", String(record.partition)),
                ("speedo-source-offset", String(record.offset)),
            ].map { KafkaHeader(name: $0.0, value: Array($0.1.utf8)) }
            try producer.send(
                topic: deadLetterTopic, key: record.key, value: record.value, timestampMs: record.timestampMs,
                headers: record.headers + headers, tag: UInt64(index), whenQueueFull: .wait(until: nil))
        }
        let outstanding = producer.flush(timeout: .seconds(30))
        if let failure = deliveries.firstFailure {
            throw KafkaError(
                code: failure.code, message: "sending a record to \(deadLetterTopic) failed: \(failure.message)",
                isRetriable: true)
        }
        if outstanding > 0 {
            throw KafkaError(
                code: .timedOut,
                message: "\(outstanding) records for \(deadLetterTopic) were not acknowledged within 30 s",
                isRetriable: true)
        }
    }

    // MARK: - Rebalancing

    private func assign(_ assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        let ours = assigned.filter { $0.topic == settings.topic }
        statistics.markAssigned()
        guard let stored = storedOffsetsRetrying(ours.map(\.partition)) else {
            // Stopping, or a fatal error: nothing will be stored from these partitions, so any start will do.
            return [:]
        }
        var starts: [TopicPartition: Int64] = [:]
        for partition in ours {
            let start = stored[partition.partition]
            partitions[partition.partition] = PartitionState(consumed: start ?? 0, stored: start)
            starts[partition] = start ?? TopicPartitionOffset.earliest
        }
        let shown = ours.sorted { $0.partition < $1.partition }.map { partition in
            "\(partition.partition)@\(stored[partition.partition].map(String.init) ?? "earliest")"
        }
        Terminal.note("speedo: assigned \(settings.topic) partitions \(shown.joined(separator: ", "))")
        return starts
    }

    private func revoke(_ revoked: [TopicPartition]) {
        // Finish the batch while the partitions are still ours; if that fails, drop it: the next owner reads the
        // same records again from the stored offsets.
        do {
            try flush()
        } catch {
            batch.removeAll()
            deadLetters.removeAll()
            batchDeadline = nil
            Terminal.note("speedo: could not store the batch before giving up partitions (\(error)); "
                + "the next owner reads those records again")
        }
        for partition in revoked where partition.topic == settings.topic { partitions[partition.partition] = nil }
        // Kept partitions (cooperative rebalancing) may have had records in the dropped batch.
        if batch.isEmpty, partitions.values.contains(where: { $0.consumed != $0.stored ?? $0.consumed }) {
            needsReseek = true
        }
    }

    private func storedOffsetsRetrying(_ ids: [Int32]) -> [Int32: Int64]? {
        let clock = ContinuousClock()
        let started = clock.now
        var failures = 0
        while true {
            do {
                return try writer.storedOffsets(partitions: ids)
            } catch where error.isTransient && !StopSignal.isRequested {
                failures += 1
                let delay = Self.retryPolicy.delay(afterFailedAttempts: failures, elapsed: clock.now - started)!
                Terminal.note("speedo: PostgreSQL unreachable (\(error.shortReason)); retrying in \(seconds(delay)) s")
                Thread.sleep(forTimeInterval: delay.inSeconds)
            } catch {
                if !error.isTransient { handlerFailure = error }
                return nil
            }
        }
    }

    /// Moves every assigned partition back to its stored offset after a dropped batch.
    private func reseek(_ consumer: KafkaConsumer) throws {
        guard let stored = storedOffsetsRetrying(Array(partitions.keys)) else {
            if let failure = handlerFailure { throw failure }
            return
        }
        for id in partitions.keys {
            let start = stored[id]
            try consumer.seek(
                TopicPartitionOffset(topic: settings.topic, partition: id, offset: start ?? TopicPartitionOffset.earliest),
                timeout: .seconds(10))
            partitions[id] = PartitionState(consumed: start ?? 0, stored: start)
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

    private func logProgress(_ consumer: KafkaConsumer) {
        var lags: [String] = []
        for id in partitions.keys.sorted() {
            guard let state = partitions[id] else { continue }
            let high = consumer.lastKnownHighWatermark(topic: settings.topic, partition: id) ?? state.highWatermark
            let lag = high.map { max(0, $0 - (state.stored ?? 0)) }
            lags.append("[\(id)] \(lag.map(grouped) ?? "?")")
        }
        let partitionsText = lags.isEmpty ? "no partitions assigned" : "lag \(lags.joined(separator: " "))"
        Terminal.note("speedo: consume postgres: \(statistics.progressLine()); \(partitionsText)")
    }

    /// For tools that read lag from the group's Kafka offsets; PostgreSQL stays the only source of positions.
    private func commitToKafka(_ consumer: KafkaConsumer) {
        let offsets = partitions.compactMap { id, state in
            state.stored.map { TopicPartitionOffset(topic: settings.topic, partition: id, offset: $0) }
        }
        guard !offsets.isEmpty else { return }
        try? consumer.commit(offsets: offsets)
    }

    private func seconds(_ duration: Duration) -> String { String(format: "%.1f", duration.inSeconds) }
}

/// Delivery reports of dead letters, written by the producer's poll thread and read by the pump.
private final class DeadLetterDeliveries: Sendable {
    private let failure = Mutex<KafkaError?>(nil)

    func reset() { failure.withLock { $0 = nil } }

    func record(_ report: DeliveryReport) {
        guard let error = report.error else { return }
        failure.withLock { if $0 == nil { $0 = error } }
    }

    var firstFailure: KafkaError? { failure.withLock { $0 } }
}

/// Rows stored, for the progress lines and the final summary.
private final class Statistics {
    /// The first assignment: joining the group is not writing, and would blur the rate of short runs.
    private var started: ContinuousClock.Instant?
    private var rows = 0
    private var inserted = 0
    private var deadLetters = 0
    private var lastReport = ContinuousClock.now
    private var rowsAtLastReport = 0

    func markAssigned() {
        if started == nil { started = ContinuousClock.now }
    }

    func add(_ result: HistoryWriteResult, deadLetters count: Int) {
        rows += result.rows
        inserted += result.inserted
        deadLetters += count
    }

    /// Rows per second since the previous line, and totals.
    func progressLine() -> String {
        let now = ContinuousClock.now
        let rate = Double(rows - rowsAtLastReport) / max((now - lastReport).inSeconds, 0.001)
        lastReport = now
        rowsAtLastReport = rows
        return "\(grouped(Int(rate))) rows/s, \(grouped(rows)) rows in total, \(grouped(deadLetters)) dead letters"
    }

    func summary(deadLetterTopic: String) -> String {
        let elapsed = started.map { (ContinuousClock.now - $0).inSeconds } ?? 0
        let rate = Double(rows) / max(elapsed, 0.001)
        return "stored \(grouped(rows)) rows (\(grouped(inserted)) new, \(grouped(rows - inserted)) already there), "
            + "sent \(grouped(deadLetters)) records to \(deadLetterTopic), in \(String(format: "%.2f", elapsed)) s "
            + "from the first assignment (\(grouped(Int(rate))) rows/s)"
    }
}

extension Timestamp {
    /// The wall clock, for validating records (SpeedoCore never reads clocks itself).
    static var current: Timestamp {
        Timestamp(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }
}

extension Duration {
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
